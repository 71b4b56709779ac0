"""The Train tab's Results page: the accuracy in numbers and words, the confusion matrix, the
images behind a chosen cell (with where the model looked, on request), each class's scores,
and Save / Export. How many images were misclassified is counted on the matrix, so a cell whose
images the model file does not all list says "showing 50 of 431".

A model trained on a train/valid/test folder also has scores on its test images; a choice at
the top switches the page between the validation and the test images.

Laid out so ten classes fit a 1024x640 window: the words on top, the matrix and the images of
the chosen cell side by side, the buttons below. It shows the model it is given and reads the
dataset's pictures from the latest session state (:meth:`ResultsPage.follow`). GUI thread only.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.learn.calibration import calibration_in_words
from core.names import readable, short_name
from core.nets.precision import RESOLVED
from core.nets.precision import describe as describe_precision
from core.plain import TERMS, accuracy_in_words, unseen_in_words
from core.state import ModelView, SessionState
from gui import style
from gui.engine_adapter import Engine
from gui.tabs.data_actions import ImageActions
from gui.widgets.class_metrics import ClassMetricsTable
from gui.widgets.confusion import ConfusionMatrix, ConfusionPanel
from gui.widgets.heatmap_view import (
    TOGGLE_TEXT,
    TOGGLE_TIP,
    HeatMaps,
    open_on_enter,
    overlay_pixmap,
)
from gui.widgets.images import array_icon
from gui.widgets.reliability import ReliabilityDiagram

PICK_A_CELL = "Click a cell of the matrix to see its images."
#: Said of a listed image whose file was moved or excluded since (it is no longer loaded).
GONE = "moved or excluded since: no longer in the dataset"
#: Key of the list's "Show where it looked" toggle (the Classify tab's is Ctrl+G).
WHERE_KEY = "Ctrl+Shift+G"
#: Who asks the engine for this page's explanations (see Engine.explain).
REQUESTER = "results"
#: Icon size of the chosen cell's images.
ICON = 48


class ResultsPage(QWidget):
    """Results of one model. ``save_requested``/``export_requested`` go up to the window."""

    save_requested = Signal()
    export_requested = Signal()

    def __init__(self, engine: Engine | None = None) -> None:
        super().__init__()
        self._state: SessionState | None = None
        self._model: ModelView | None = None
        # Heat maps of the listed images (engine.explain), for the model of this generation.
        self.engine = engine
        self.maps = HeatMaps(self)  # and the enlarged view
        self._listed_as: dict[str, str] = {}  # file asked for -> its path in the evaluation
        self._explained_generation = 0
        self.cases: list[dict] = []  # the listed images (the chosen cell's mistakes)
        self._truth = ""
        self._cell: tuple[str, str] | None = None  # (true, predicted) of the listed cell
        self.mistakes_total = QLabel()
        self.mistakes_total.setWordWrap(True)
        self.where_button = QPushButton(TOGGLE_TEXT)
        self.where_button.setCheckable(True)
        self.where_button.setShortcut(WHERE_KEY)
        self.where_button.setToolTip(f"{TOGGLE_TIP} ({WHERE_KEY})")
        self.where_button.setVisible(engine is not None)
        self.where_button.toggled.connect(self._on_where_toggled)
        if engine is not None:
            engine.explained.connect(self._on_explained)
            engine.explanation_failed.connect(self._on_explanation_failed)
        self.set_choice = QComboBox()
        self.set_choice.setAccessibleName("Scores on")
        self.set_choice.setToolTip(
            "Which images the scores below come from: the validation images (checked after "
            "every epoch) or the test folder's (scored once, after training)"
        )
        self.set_choice.setVisible(False)  # only for models with test results
        self.set_choice.currentIndexChanged.connect(self._show_set)
        self.scores = ClassMetricsTable()
        self.metrics_label = QLabel()
        self.metrics_label.setWordWrap(True)
        self.confusion = ConfusionMatrix()
        self.confusion.cell_chosen.connect(self.show_cell)
        self.mistakes_title = QLabel(PICK_A_CELL)
        self.mistakes_title.setWordWrap(True)
        self.mistakes = QListWidget()
        self.mistakes.setIconSize(QSize(ICON, ICON))
        self.mistakes.itemDoubleClicked.connect(
            lambda item: self.open_view(self.mistakes.row(item))
        )
        open_on_enter(self.mistakes, self.open_view)
        self.mistakes.setWordWrap(True)
        self.mistakes.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.mistakes.setAccessibleName("Misclassified images")
        self.mistakes.setToolTip(
            "The images of the chosen matrix cell, with what the model answered; "
            "look for wrong labels and unusual pictures. Right-click one (or press M, Delete) "
            "to show it larger, move it to another class or exclude it; Ctrl+Z undoes."
        )
        # Fixing a label from here: the context menu, and the Data tab's keys (M, Delete;
        # Ctrl+Z anywhere on this page). They are the same actions, and only the tab shown
        # takes its keys, so the two lists never compete for one.
        self.image_actions = (
            ImageActions(
                self.mistakes,
                engine,
                lambda: self._state.dataset if self._state is not None else None,
                lambda item: (self._case_of(item) or {}).get("path"),
                keys=True,
                undo_scope=self,
                enlarge=lambda: self.open_view(self.mistakes.currentRow()),
            )
            if engine is not None
            else None
        )
        self.save_button = QPushButton(style.icon("save"), "Save model…")
        self.save_button.setToolTip("Save the model to a .cnnmodel file (Ctrl+S)")
        self.save_button.clicked.connect(self.save_requested)
        self.export_button = QPushButton(style.icon("export"), "Export…")
        self.export_button.setToolTip(
            "Write the model for use outside CNN Studio (Keras or TensorFlow Lite) (Ctrl+E)"
        )
        self.export_button.clicked.connect(self.export_requested)

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.metrics_label, 1)
        top.addWidget(self.set_choice, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        middle = QHBoxLayout()
        middle.addWidget(
            ConfusionPanel(self.confusion),
            0,
            Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft,
        )
        images = QWidget()
        list_side = QVBoxLayout(images)
        list_side.setContentsMargins(0, 0, 0, 0)
        list_side.addWidget(self.mistakes_total)
        list_side.addWidget(self.mistakes_title)
        list_side.addWidget(self.mistakes, 1)
        list_side.addWidget(self.where_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.details = QTabWidget()
        # Its own minimum (the tab bar's, over 200 px) would push a ten-class page past 1024 px.
        self.details.setMinimumWidth(140)
        self.details.addTab(images, "Images")
        self.details.addTab(self.scores, "Per class")
        self.details.addTab(self._confidence_page(), "Confidence")
        middle.addWidget(self.details, 1)
        layout.addLayout(middle, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

    def follow(self, state: SessionState) -> None:
        """Take the session's latest state: what Save and Export may do, and the dataset whose
        pictures the list of mistakes shows."""
        self._state = state
        if state.model is not None:
            self._keep_maps_of(state.model)
        self.save_button.setEnabled(state.can_save)
        self.export_button.setEnabled(state.can_export)

    def show_model(self, model: ModelView) -> None:
        """Show ``model``'s scores and matrix (on its validation images when it has them, else
        its test images); the list waits for a cell to be chosen."""
        self._model = model
        self._keep_maps_of(model)
        has_test = bool(model.evaluation.get("test"))
        blocked = self.set_choice.blockSignals(True)
        self.set_choice.clear()
        self.set_choice.addItem("Validation images", "validation")
        if has_test:
            self.set_choice.addItem("Test images", "test")
            if "per_class" not in model.evaluation:
                self.set_choice.setCurrentIndex(1)
        self.set_choice.blockSignals(blocked)
        self.set_choice.setVisible(has_test)
        self._show_confidence(model)
        self._show_set()

    def _confidence_page(self) -> QWidget:
        """The Confidence tab: how far to trust the probabilities, in words and a diagram."""
        self.reliability = ReliabilityDiagram()
        self.confidence_label = QLabel()
        self.confidence_label.setWordWrap(True)
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        page = QWidget()
        layout = QHBoxLayout(page)
        layout.addWidget(self.reliability, 1)
        layout.addWidget(self.confidence_label, 1)
        return page

    def _show_confidence(self, model: ModelView) -> None:
        """The calibration of ``model`` on its validation images: words and diagram."""
        calibration = model.calibration
        self.reliability.show_bins(calibration.bins)
        error = calibration.ece_after
        if error is None:
            error = model.evaluation.get("calibration_error")
        if error is None:
            words = html.escape(calibration.note or "No validation images, so nothing to show.")
        else:
            count = f"{calibration.images} " if calibration.images else ""
            words = (
                f"<b>When the model says it is 80% sure, how often is it right?</b> On the "
                f"{count}validation images "
                f"{html.escape(calibration_in_words(error))} (expected calibration error "
                f"{error:.3f})."
            )
            if calibration.ece_before is not None and calibration.ece_after is not None:
                words += (
                    f" Before calibration it was off by {calibration.ece_before * 100:.1f} "
                    f"points: its probabilities were adjusted (temperature "
                    f"{calibration.temperature:.2f}) so that they mean what they say."
                )
            elif calibration.note:
                words += " " + html.escape(calibration.note[:1].upper() + calibration.note[1:])
            words += (
                "<br><br>The Classify tab can answer 'unsure' below a confidence you choose, "
                "and says what that costs."
            )
        self.confidence_label.setText(words)

    def shown_set(self) -> str:
        """Which images the page shows scores for: ``"validation"`` or ``"test"``."""
        return self.set_choice.currentData() or "validation"

    def shown_evaluation(self, model: ModelView) -> Mapping[str, Any]:
        """The evaluation on show: the model's validation results, or its test results."""
        if self.shown_set() == "test":
            return model.evaluation.get("test") or {}
        return model.evaluation

    def _show_set(self) -> None:
        """Render the scores, matrix and table of the chosen images for the model on show."""
        model = self._model
        if model is None:
            return
        evaluation = self.shown_evaluation(model)
        self.mistakes.clear()
        self.cases = []
        self._cell = None
        self.mistakes_title.setText(PICK_A_CELL)
        self.mistakes_total.setText(misclassified_in_words(evaluation, self.shown_set()))
        if not evaluation or "per_class" not in evaluation:
            self.metrics_label.setText("No validation images were held out, so no scores.")
            self.confusion.show_matrix([], [])
            self.scores.show_scores({})
            return
        self.show_metrics(model)
        self.confusion.show_matrix(list(model.class_names), evaluation["confusion_matrix"])
        self.scores.show_scores(evaluation["per_class"])

    def show_metrics(self, model: ModelView) -> None:
        """The accuracy in numbers and words, the hardest class, and any warning (also after a
        theme change: the warning carries its colour)."""
        evaluation = self.shown_evaluation(model)
        if not evaluation or "per_class" not in evaluation:
            return
        worst = min(evaluation["per_class"].items(), key=lambda kv: kv[1]["f1"])
        precision = (model.config or {}).get("precision")
        # Files from before precision was recorded say "auto": nothing is known, so say nothing.
        known = precision in RESOLVED
        trained_in = f" Trained in {describe_precision(precision)}." if known else ""
        warning = model.chance_warning
        warnings = "<br>" + style.rich("error", "Warning", warning) if warning else ""
        accuracy = evaluation["accuracy"]
        words = accuracy_in_words(accuracy, len(model.class_names))
        checked = sum(map(sum, evaluation["confusion_matrix"]))
        hardest = html.escape(short_name(worst[0]))
        test = self.shown_set() == "test"
        if test:
            title, images = "Test accuracy", "test images, never used in training"
        else:
            title, images = "Validation accuracy", "images held back for checking"
        name = html.escape(short_name(model.display_name, 60))
        unseen = evaluation.get("unseen")
        fair = unseen_in_words(unseen)
        if fair is None:
            figures = f"<b>{title} {accuracy:.1%}</b>: {html.escape(words)} ({checked} {images}; "
        else:
            # A given folder held copies of training images (a random split keeps copies on
            # one side): the fair figure beside the whole one, in words.
            if unseen["accuracy"] is not None:
                words = accuracy_in_words(unseen["accuracy"], len(model.class_names))
            else:
                words = accuracy_in_words(accuracy, len(model.class_names), held_out=False)
            part = "test" if test else "validation"
            figures = (
                f"<b>{title} {accuracy:.1%}</b> on {checked} {part} images; "
                f"{html.escape(fair)}: {html.escape(words)} ("
            )
        self.metrics_label.setText(
            f"{figures}{name}). "
            f"Hardest class: '{hardest}' (F1 score {worst[1]['f1']:.2f} of 1).{trained_in}"
            f"{warnings}"
        )
        self.metrics_label.setToolTip(f"{TERMS['validation']}\nF1 score: {TERMS['f1']}")

    def show_cell(self, true: str, predicted: str) -> None:
        """List the validation images of one confusion-matrix cell (mistakes only)."""
        self.mistakes.clear()
        self.cases = []
        state = self._state
        model = state.model if state is not None else None
        if model is None:
            return
        self.details.setCurrentIndex(0)  # the images of the chosen cell
        evaluation = self.shown_evaluation(model)
        cases = [
            m
            for m in evaluation.get("misclassified", [])
            if m["true"] == true and m["predicted"] == predicted
        ]
        shown_true, shown_predicted = short_name(true), short_name(predicted)
        if true == predicted:
            self.mistakes_title.setText(f"'{shown_true}' predicted correctly: nothing to review.")
            return
        self.cases, self._truth = cases, true
        self._cell = (true, predicted)
        count = cell_count(evaluation, list(model.class_names), true, predicted)
        if count is None or count == len(cases):
            how_many = f"{len(cases):,} image(s)"
        else:  # the model keeps only its surest mistakes (see core.use.evaluate.pick_mistakes)
            how_many = (
                f"showing {len(cases):,} of {count:,} image(s), those the model was surest of"
            )
        self.mistakes_title.setText(f"'{shown_true}' predicted as '{shown_predicted}': {how_many}")
        dataset = state.dataset if state is not None else None
        for index, case in enumerate(cases):
            item = QListWidgetItem(
                f"{readable(Path(case['path']).name)}\n{shown_predicted} "
                f"{case['probability']:.0%}, {shown_true} "
                f"{case['probabilities'].get(true, 0):.0%}"
            )
            item.setToolTip(readable(case["path"]))
            if dataset is not None and dataset.row_of(case["path"]) is None:
                item.setText(item.text() + f"\n{GONE}")
                item.setToolTip(f"{readable(case['path'])}: {GONE}")
                item.setForeground(self.palette().placeholderText())
            item.setData(Qt.ItemDataRole.UserRole, index)  # its place in self.cases
            self.mistakes.addItem(item)
            self._show_icon(item)
        if self.where_button.isChecked():
            self._ask_for_explanations()

    def refresh_after_edit(self) -> None:
        """The dataset's folder was edited (GUI thread): list the chosen cell again, marking
        the images no longer in the dataset, and stay on the image that was chosen, or go on
        to the next one still there (the one just fixed is then behind the user)."""
        if self._cell is None:
            return
        row = max(self.mistakes.currentRow(), 0)
        page = self.details.currentIndex()  # the tab the user is on stays
        self.show_cell(*self._cell)
        self.details.setCurrentIndex(page)
        state = self._state
        dataset = state.dataset if state is not None else None
        present = [
            k
            for k, case in enumerate(self.cases)
            if dataset is None or dataset.row_of(case["path"]) is not None
        ]
        if present:
            self.mistakes.setCurrentRow(next((k for k in present if k >= row), present[-1]))

    # --- where the model looked (GUI thread) ------------------------------------------------

    def _case_of(self, item: QListWidgetItem | None) -> dict | None:
        index = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return self.cases[index] if isinstance(index, int) and index < len(self.cases) else None

    def _show_icon(self, item: QListWidgetItem) -> None:
        """The icon of a listed image: with its heat map while the toggle is on and the map is
        here, else the image as the model saw it (when the dataset is loaded)."""
        case = self._case_of(item)
        if case is None:
            return
        explanation = self.maps.explanations.get(case["path"])
        if self.where_button.isChecked() and explanation is not None:
            item.setIcon(QIcon(overlay_pixmap(explanation, ICON)))
            return
        state = self._state
        dataset = state.dataset if state is not None else None
        row = dataset.row_of(case["path"]) if dataset is not None else None
        item.setIcon(array_icon(dataset.images[row], ICON) if row is not None else QIcon())

    def _show_icons(self) -> None:
        for i in range(self.mistakes.count()):
            self._show_icon(self.mistakes.item(i))

    def _keep_maps_of(self, model: ModelView) -> None:
        """Heat maps belong to one model: forget them when another one comes."""
        if model.generation != self._explained_generation:
            self._explained_generation = model.generation
            self._forget_explanations()

    def _forget_explanations(self) -> None:
        """Drop the maps (another model is on show) and any request still running."""
        if self.engine is not None:
            self.engine.cancel_explaining(REQUESTER)
        self.maps.forget()

    def _on_where_toggled(self, checked: bool) -> None:
        if checked:
            self._ask_for_explanations()
        self._show_icons()

    def _ask_for_explanations(self, also: str | None = None) -> None:
        """Ask for the listed images' missing maps (while the toggle is on) and ``also``'s;
        a request replaces the one before, so it lists all that are missing."""
        if self.engine is None:
            return
        wanted = [c["path"] for c in self.cases] if self.where_button.isChecked() else []
        if also is not None:
            wanted.append(also)
        missing = self.maps.to_ask(wanted)
        if missing:
            self._listed_as = {self._file_of(p): p for p in missing}
            self.engine.explain(list(self._listed_as), REQUESTER)

    def _file_of(self, path: str) -> str:
        """The file of a listed image: evaluations name them relative to the dataset's root
        (the model's, else the loaded dataset's)."""
        state = self._state
        model = state.model if state is not None else None
        root = model.source_root if model is not None else None
        if root is None and state is not None and state.dataset is not None:
            root = state.dataset.root
        if root is None or Path(path).is_absolute():
            return path
        return str(Path(root) / path)

    def open_view(self, row: int) -> None:
        """Open listed image ``row`` enlarged, with its heat map (asked for if not here)."""
        case = self._case_of(self.mistakes.item(row))
        if case is None:
            return
        path = case["path"]
        state = self._state
        dataset = state.dataset if state is not None else None
        index = dataset.row_of(path) if dataset is not None else None
        picture = dataset.images[index] if index is not None else None
        if self.maps.open(
            path, case["predicted"], case["probability"], truth=self._truth, picture=picture
        ):
            self._ask_for_explanations(also=path)

    def _on_explained(self, requester: str, rows: list, failures: list) -> None:
        """Keep the maps that arrived and redraw the icons (GUI thread)."""
        if requester != REQUESTER:
            return
        listed = self._listed_as  # back from the files asked for to the listed paths
        self.maps.received(
            [{**row, "path": listed.get(row["path"], row["path"])} for row in rows],
            [(listed.get(file, file), reason) for file, reason in failures],
        )
        self._show_icons()

    def _on_explanation_failed(self, requester: str, message: str) -> None:
        """The model could not be explained: say why and turn the toggle off."""
        if requester != REQUESTER:
            return
        self.maps.failed(message)
        self.where_button.setChecked(False)
        self.mistakes_title.setText(f"Cannot show where the model looked: {message}")


def misclassified_in_words(evaluation: Mapping[str, Any], shown_set: str) -> str:
    """ "431 of 3,000 validation images were misclassified.", counted on the confusion
    matrix (all of them, however many the model file lists); "" without a matrix."""
    matrix = evaluation.get("confusion_matrix") if evaluation else None
    if not matrix:
        return ""
    total = sum(map(sum, matrix))
    wrong = total - sum(row[i] for i, row in enumerate(matrix))
    images = "test" if shown_set == "test" else "validation"
    if not wrong:
        return f"None of the {total:,} {images} images were misclassified."
    return f"{wrong:,} of {total:,} {images} images were misclassified."


def cell_count(
    evaluation: Mapping[str, Any], names: list[str], true: str, predicted: str
) -> int | None:
    """How many images of class ``true`` were answered ``predicted`` (None if unknown)."""
    matrix = evaluation.get("confusion_matrix")
    if not matrix or true not in names or predicted not in names:
        return None
    return int(matrix[names.index(true)][names.index(predicted)])
