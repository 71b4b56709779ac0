"""The Train tab's Results page: the accuracy in numbers and words, the confusion matrix, the
images behind a chosen cell, and Save / Export.

Laid out so ten classes fit a 1024x640 window: the words on top, the matrix and the images of
the chosen cell side by side, the buttons below. It shows the model it is given and reads the
dataset's pictures from the latest session state (:meth:`ResultsPage.follow`). GUI thread only.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.names import readable, short_name
from core.plain import TERMS, accuracy_in_words
from core.precision import RESOLVED
from core.precision import describe as describe_precision
from core.state import ModelView, SessionState
from gui import style
from gui.widgets.confusion import ConfusionMatrix, ConfusionPanel
from gui.widgets.images import array_icon

PICK_A_CELL = "Click a cell of the matrix to see its images."


class ResultsPage(QWidget):
    """Results of one model. ``save_requested``/``export_requested`` go up to the window."""

    save_requested = Signal()
    export_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._state: SessionState | None = None
        self.metrics_label = QLabel()
        self.metrics_label.setWordWrap(True)
        self.confusion = ConfusionMatrix()
        self.confusion.cell_chosen.connect(self.show_cell)
        self.mistakes_title = QLabel(PICK_A_CELL)
        self.mistakes_title.setWordWrap(True)
        self.mistakes = QListWidget()
        self.mistakes.setIconSize(QSize(48, 48))
        self.mistakes.setWordWrap(True)
        self.mistakes.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.mistakes.setAccessibleName("Misclassified images")
        self.mistakes.setToolTip(
            "The validation images of the chosen matrix cell, with what the model answered; "
            "look for wrong labels and unusual pictures."
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
        layout.addWidget(self.metrics_label)
        middle = QHBoxLayout()
        middle.addWidget(
            ConfusionPanel(self.confusion),
            0,
            Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft,
        )
        list_side = QVBoxLayout()
        list_side.addWidget(self.mistakes_title)
        list_side.addWidget(self.mistakes, 1)
        middle.addLayout(list_side, 1)
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
        self.save_button.setEnabled(state.can_save)
        self.export_button.setEnabled(state.can_export)

    def show_model(self, model: ModelView) -> None:
        """Show ``model``'s scores and matrix; the list waits for a cell to be chosen."""
        evaluation = model.evaluation
        self.mistakes.clear()
        self.mistakes_title.setText(PICK_A_CELL)
        if not evaluation or "per_class" not in evaluation:
            self.metrics_label.setText("No validation images were held out, so no scores.")
            self.confusion.show_matrix([], [])
            return
        self.show_metrics(model)
        self.confusion.show_matrix(list(model.class_names), evaluation["confusion_matrix"])
        self.mistakes_title.setText(
            f"{len(evaluation.get('misclassified', []))} misclassified: click a matrix cell."
        )

    def show_metrics(self, model: ModelView) -> None:
        """The accuracy in numbers and words, the hardest class, and any warning (also after a
        theme change: the warning carries its colour)."""
        evaluation = model.evaluation
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
        self.metrics_label.setText(
            f"<b>Validation accuracy {accuracy:.1%}</b>: {html.escape(words)} ({checked} images "
            f"held back for checking; {html.escape(short_name(model.display_name, 60))}). "
            f"Hardest class: '{hardest}' (F1 score {worst[1]['f1']:.2f} of 1).{trained_in}"
            f"{warnings}"
        )
        self.metrics_label.setToolTip(f"{TERMS['validation']}\nF1 score: {TERMS['f1']}")

    def show_cell(self, true: str, predicted: str) -> None:
        """List the validation images of one confusion-matrix cell (mistakes only)."""
        self.mistakes.clear()
        state = self._state
        model = state.model if state is not None else None
        if model is None:
            return
        dataset = state.dataset if state is not None else None
        cases = [
            m
            for m in model.evaluation.get("misclassified", [])
            if m["true"] == true and m["predicted"] == predicted
        ]
        shown_true, shown_predicted = short_name(true), short_name(predicted)
        if true == predicted:
            self.mistakes_title.setText(f"'{shown_true}' predicted correctly: nothing to review.")
            return
        self.mistakes_title.setText(
            f"'{shown_true}' predicted as '{shown_predicted}': {len(cases)} image(s)"
        )
        for case in cases:
            item = QListWidgetItem(
                f"{readable(Path(case['path']).name)}\n{shown_predicted} "
                f"{case['probability']:.0%}, {shown_true} "
                f"{case['probabilities'].get(true, 0):.0%}"
            )
            item.setToolTip(readable(case["path"]))
            row = dataset.row_of(case["path"]) if dataset is not None else None
            if row is not None:
                item.setIcon(array_icon(dataset.images[row], 48))
            self.mistakes.addItem(item)
