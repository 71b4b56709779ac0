"""The Train tab's Results page: the accuracy in numbers and words, the confusion matrix, the
images behind a chosen cell (with where the model looked, on request), each class's scores,
and Save / Export.

A model trained on a train/valid/test folder also has scores on its test images; a choice at
the top switches the page between the validation and the test images.

Laid out so ten classes fit a 1024x640 window: the words on top, the matrix and the images of
the chosen cell side by side, the buttons below. A pretrained head's model also has a "More
photos?" tab: its learning curve and how much more photos would likely help. It shows the
model it is given and reads the dataset's pictures from the latest session state
(:meth:`ResultsPage.follow`). The chosen
cell's images, with their heat maps and the fixes for their labels, are
:class:`gui.tabs.results_mistakes.MistakesPanel`. GUI thread only.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.names import short_name
from core.nets.precision import RESOLVED
from core.nets.precision import describe as describe_precision
from core.plain import (
    TERMS,
    accuracy_in_words,
    confidence_in_words,
    kept_epoch_in_words,
    unseen_in_words,
)
from core.state import ModelView, SessionState
from gui import style
from gui.engine_adapter import Engine
from gui.tabs.results_mistakes import MistakesPanel
from gui.widgets.class_metrics import ClassMetricsTable
from gui.widgets.confusion import ConfusionMatrix, ConfusionPanel
from gui.widgets.learning_curve import LearningCurvePanel
from gui.widgets.reliability import ConfidencePanel


class ResultsPage(QWidget):
    """Results of one model. ``save_requested``/``export_requested`` go up to the window."""

    save_requested = Signal()
    export_requested = Signal()

    def __init__(self, engine: Engine | None = None) -> None:
        super().__init__()
        self._model: ModelView | None = None
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
        self.mistakes_panel = MistakesPanel(engine, self.shown_evaluation, self)
        # The tests and the Train tab reach the list through the page, as before it was split
        # off.
        panel = self.mistakes_panel
        self.mistakes = panel.mistakes
        self.mistakes_title = panel.mistakes_title
        self.mistakes_total = panel.mistakes_total
        self.where_button = panel.where_button
        self.maps = panel.maps
        self.image_actions = panel.image_actions
        self.refresh_after_edit = panel.refresh_after_edit
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
        self.details = QTabWidget()
        # Its own minimum (the tab bar's, over 200 px) would push a ten-class page past 1024 px.
        self.details.setMinimumWidth(140)
        self.details.addTab(self.mistakes_panel, "Images")
        self.details.addTab(self.scores, "Per class")
        self.details.addTab(self._confidence_page(), "Confidence")
        # How more photos would help: only for a pretrained head's run, which measures it.
        self.curve_panel = LearningCurvePanel()
        self.curve_tab = self.details.addTab(self.curve_panel, "More photos?")
        self.details.setTabVisible(self.curve_tab, False)
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
        self.mistakes_panel.follow(state)
        self.save_button.setEnabled(state.can_save)
        self.export_button.setEnabled(state.can_export)

    def show_model(self, model: ModelView) -> None:
        """Show ``model``'s scores and matrix (on its validation images when it has them, else
        its test images); the list waits for a cell to be chosen."""
        self._model = model
        self.mistakes_panel.keep_maps_of(model)
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
        self.curve_panel.show_curve(model.learning_curve)
        self.details.setTabVisible(self.curve_tab, bool(model.learning_curve))
        self._show_set()

    def _confidence_page(self) -> QWidget:
        """The Confidence tab: how far to trust the probabilities, in words and a diagram."""
        self.confidence_panel = ConfidencePanel()
        self.reliability = self.confidence_panel.diagram
        self.confidence_label = self.confidence_panel.words
        return self.confidence_panel

    def _show_confidence(self, model: ModelView) -> None:
        """The calibration of ``model`` on its validation images: a plain sentence first, the
        figures behind it (calibration error, temperature) in the words' tooltip."""
        calibration = model.calibration
        self.reliability.show_bins(calibration.bins)
        error = calibration.ece_after
        if error is None:
            error = model.evaluation.get("calibration_error")
        if error is None:
            words = html.escape(calibration.note or "No validation images, so nothing to show.")
            self.confidence_label.setText(words)
            self.confidence_label.setToolTip("")
            return
        where = f"the {calibration.images} " if calibration.images else "the "
        words = (
            "<b>How far can you trust how sure it is?</b> "
            f"{html.escape(confidence_in_words(error, calibration.bins))} "
            f"Measured on {where}validation images."
        )
        figures = [
            f"Expected calibration error {error:.3f}: the average gap between how sure it "
            "is and how often it is right (0 is perfect)."
        ]
        before, after = calibration.ece_before, calibration.ece_after
        if before is not None and after is not None:
            surer = calibration.temperature < 1
            words += (
                f" Straight after training it was right {'more' if surer else 'less'} often "
                f"than it said (off by {before * 100:.1f} points on average), so CNN Studio "
                f"made its probabilities {'surer' if surer else 'less sure'} to match."
            )
            figures.append(
                f"Before calibration: {before:.3f}. Temperature {calibration.temperature:.2f}: "
                "the network's scores were divided by it before they became probabilities "
                "(below 1 makes it surer, above 1 less sure)."
            )
        elif calibration.note:
            words += " " + html.escape(calibration.note[:1].upper() + calibration.note[1:]) + "."
        words += (
            "<br><br>The Classify tab can answer 'unsure' below a confidence you choose, "
            "and says what that costs."
        )
        self.confidence_label.setText(words)
        self.confidence_label.setToolTip("In numbers:\n" + "\n".join(figures))

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
        self.mistakes_panel.start_over(evaluation, self.shown_set())
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
        # When early stopping went back to an earlier epoch, the figures are that epoch's.
        kept = kept_epoch_in_words(model.best_epoch, model.history)
        kept = f"{kept[:1].upper()}{kept[1:]}. " if kept else ""
        self.metrics_label.setText(
            f"{figures}{name}). {html.escape(kept)}"
            f"Hardest class: '{hardest}' (F1 score {worst[1]['f1']:.2f} of 1).{trained_in}"
            f"{warnings}"
        )
        self.metrics_label.setToolTip(f"{TERMS['validation']}\nF1 score: {TERMS['f1']}")

    def show_cell(self, true: str, predicted: str) -> None:
        """List the validation images of one confusion-matrix cell (mistakes only), on the
        Images tab."""
        if self.mistakes_panel.show_cell(true, predicted):
            self.details.setCurrentIndex(0)  # the images of the chosen cell
