"""The Results page's list of the images behind a chosen confusion-matrix cell: what the model
answered for each, where it looked (on request), and the fixes for their labels.

How many images were misclassified is counted on the matrix, so a cell whose images the model
file does not all list says "showing 50 of 431". From the list a wrong label is fixed as on the
Data tab (the context menu, M, Delete; Ctrl+Z anywhere on the page), through the engine; after
such an edit the list stays on its cell and marks the images no longer in the dataset.

The Results page (:mod:`gui.tabs.results`) says which evaluation is on show and hands on the
session's state; the engine's ``explained`` and ``explanation_failed`` signals reach the list on
the GUI thread. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.names import readable, short_name
from core.state import ModelView, SessionState
from gui.engine_adapter import Engine
from gui.tabs.data_actions import ImageActions
from gui.widgets.heatmap_view import (
    TOGGLE_TEXT,
    TOGGLE_TIP,
    HeatMaps,
    open_on_enter,
    overlay_pixmap,
)
from gui.widgets.images import array_icon

PICK_A_CELL = "Click a cell of the matrix to see its images."
#: Said of a listed image whose file was moved or excluded since (it is no longer loaded).
GONE = "moved or excluded since: no longer in the dataset"
#: Key of the list's "Show where it looked" toggle (the Classify tab's is Ctrl+G).
WHERE_KEY = "Ctrl+Shift+G"
#: Who asks the engine for this page's explanations (see Engine.explain).
REQUESTER = "results"
#: Icon size of the chosen cell's images.
ICON = 48


class MistakesPanel(QWidget):
    """The chosen cell's images; ``page`` is the page it sits on (Ctrl+Z works anywhere on
    it, and the enlarged view opens over it); ``shown_evaluation`` gives the evaluation on
    show for a model (its validation or its test results)."""

    def __init__(
        self,
        engine: Engine | None,
        shown_evaluation: Callable[[ModelView], Mapping[str, Any]],
        page: QWidget,
    ) -> None:
        super().__init__()
        self._state: SessionState | None = None
        self.shown_evaluation = shown_evaluation
        # Heat maps of the listed images (engine.explain), for the model of this generation.
        self.engine = engine
        self.maps = HeatMaps(page)  # and the enlarged view
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
                lambda index: (self._case_of(self.mistakes.itemFromIndex(index)) or {}).get("path"),
                keys=True,
                undo_scope=page,
                enlarge=lambda: self.open_view(self.mistakes.currentRow()),
            )
            if engine is not None
            else None
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.mistakes_total)
        layout.addWidget(self.mistakes_title)
        layout.addWidget(self.mistakes, 1)
        layout.addWidget(self.where_button, 0, Qt.AlignmentFlag.AlignLeft)

    def follow(self, state: SessionState) -> None:
        """Take the session's latest state: the dataset whose pictures the list shows."""
        self._state = state
        if state.model is not None:
            self.keep_maps_of(state.model)

    def start_over(self, evaluation: Mapping[str, Any], shown_set: str) -> None:
        """Other scores are on show: count their mistakes and wait for a cell to be chosen."""
        self.mistakes.clear()
        self.cases = []
        self._cell = None
        self.mistakes_title.setText(PICK_A_CELL)
        self.mistakes_total.setText(misclassified_in_words(evaluation, shown_set))

    def show_cell(self, true: str, predicted: str) -> bool:
        """List the validation images of one confusion-matrix cell (mistakes only); False
        without a model (nothing to list)."""
        self.mistakes.clear()
        self.cases = []
        state = self._state
        model = state.model if state is not None else None
        if model is None:
            return False
        evaluation = self.shown_evaluation(model)
        cases = [
            m
            for m in evaluation.get("misclassified", [])
            if m["true"] == true and m["predicted"] == predicted
        ]
        shown_true, shown_predicted = short_name(true), short_name(predicted)
        if true == predicted:
            self.mistakes_title.setText(f"'{shown_true}' predicted correctly: nothing to review.")
            return True
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
        return True

    def refresh_after_edit(self) -> None:
        """The dataset's folder was edited (GUI thread): list the chosen cell again, marking
        the images no longer in the dataset, and stay on the image that was chosen, or go on
        to the next one still there (the one just fixed is then behind the user)."""
        if self._cell is None:
            return
        row = max(self.mistakes.currentRow(), 0)
        self.show_cell(*self._cell)  # the page stays on the tab the user is on
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

    def keep_maps_of(self, model: ModelView) -> None:
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
