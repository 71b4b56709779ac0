"""Model → Evaluate on a folder…: score the current model on a folder of labelled images.

A non-modal dialog beside the window. The engine reads and classifies the folder on its worker
thread (:meth:`gui.engine_adapter.Engine.evaluate_folder`) while the dialog shows its progress;
then it shows the accuracy in words, each class's precision, recall and F1
(:class:`~gui.widgets.class_metrics.ClassMetricsTable`) and the confusion matrix. When the
folder holds images the model was trained on (or near copies of them), the accuracy on the
images it never saw is shown beside the whole figure, and a warning says the whole figure is
optimistic and how many copies there were. The dialog widens to show the class names whole,
as far as the screen allows; only a name too long for that is elided (its tooltip has it whole).
Everything here runs on the GUI thread.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.names import readable, short_name
from core.plain import TERMS, accuracy_in_words, copies_in_words
from gui import style
from gui.engine_adapter import Engine
from gui.widgets.class_metrics import ClassMetricsTable
from gui.widgets.confusion import MAX_NAME, ConfusionMatrix, ConfusionPanel

#: The widest class names (pixels: in the matrix's rows, in the table) shown whole, from the
#: most room to the least; the dialog takes the first that fits the screen's width.
NAME_WIDTHS = ((160, 240), (120, 160), (MAX_NAME, MAX_NAME))


def optimistic_warning(unseen: Mapping[str, Any] | None, total: int) -> str | None:
    """The warning for a score measured partly or wholly on training images or near copies of
    them (``unseen``: :func:`core.use.evaluate.unseen_score`), with the fair figure; else None."""
    copies = copies_in_words(unseen) if unseen else ""
    if not unseen or not copies:
        return None
    if unseen.get("accuracy") is None:
        return (
            f"All {total} images are copies of its training images ({copies}), so this "
            "figure is optimistic: it flatters the model. Only images it never saw give a "
            "fair score."
        )
    return (
        f"Of these {total} images, {copies}, so the whole figure is optimistic: it flatters "
        f"the model. The fair figure is {unseen['accuracy']:.1%}, on the {unseen['images']} "
        "images it never saw."
    )


class EvaluationDialog(QDialog):
    """Shows one evaluation at a time; ``another_requested`` asks the window for a new folder."""

    another_requested = Signal()

    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.result: dict[str, Any] | None = None
        self.setWindowTitle("Evaluate on a folder")
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton(style.icon("cancel"), "Cancel")
        self.cancel_button.setToolTip("Stop reading the folder")
        self.cancel_button.clicked.connect(engine.cancel_evaluating)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setToolTip(TERMS["accuracy"])
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setTextFormat(Qt.TextFormat.RichText)
        self.warning.setAccessibleName("Warning")
        self.matrix = ConfusionMatrix()
        self.matrix.setToolTip(TERMS["confusion matrix"])
        self.scores = ClassMetricsTable()
        self.results = QWidget()
        self._panel = ConfusionPanel(self.matrix)
        middle = QHBoxLayout(self.results)
        middle.setContentsMargins(0, 0, 0, 0)
        middle.addWidget(self._panel, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        middle.addWidget(self.scores, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        self.another_button = buttons.addButton(
            "Evaluate another folder…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.another_button.clicked.connect(self.another_requested)

        running = QHBoxLayout()
        running.addWidget(self.progress, 1)
        running.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(running)
        layout.addWidget(self.summary)
        layout.addWidget(self.warning)
        layout.addWidget(self.results, 1)
        layout.addWidget(buttons)
        self._running(False)
        self.results.setVisible(False)
        self.resize(760, 520)

        engine.evaluation_progress.connect(self._on_progress)
        engine.folder_evaluated.connect(self._on_evaluated)
        engine.evaluation_failed.connect(self._on_failed)
        engine.evaluation_cancelled.connect(self._on_cancelled)

    def start(self, folder: str, model_name: str) -> None:
        """Ask the engine to score the current model (named ``model_name``) on ``folder``."""
        self.result = None
        self.heading.setText(
            f"Scoring {html.escape(short_name(model_name, 60))} on "
            f"<b>{html.escape(short_name(readable(folder), 80))}</b>…"
        )
        self.heading.setToolTip(readable(folder))
        self.summary.setText("")
        self.warning.setText("")
        self.warning.setVisible(False)
        self.results.setVisible(False)
        self.progress.setValue(0)
        self.progress.setFormat("Reading the images…")
        self._running(True)
        self.engine.evaluate_folder(folder)

    def _running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.another_button.setEnabled(not running)

    # --- engine results (GUI thread) --------------------------------------------------------

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 100))
        self.progress.setFormat(message)

    def _on_evaluated(self, result: dict[str, Any]) -> None:
        self._running(False)
        self.result = result
        names = list(result["class_names"])
        total = int(result["images"])
        seen = result.get("seen_in_training")
        unseen = result.get("unseen")
        folder = short_name(readable(result["folder"]), 80)
        self.heading.setText(
            f"{html.escape(short_name(result.get('model') or 'The model', 60))} on "
            f"<b>{html.escape(folder)}</b>"
        )
        whole = f"<b>Accuracy {result['accuracy']:.1%}</b> on {total} images"
        if unseen and seen and unseen.get("accuracy") is not None:
            # Copies of training images among them: the fair figure beside the whole one.
            words = accuracy_in_words(unseen["accuracy"], len(names), held_out=True)
            self.summary.setText(
                f"{whole}; <b>{unseen['accuracy']:.1%}</b> on the {unseen['images']} it never "
                f"saw: {html.escape(words)}."
            )
        else:
            # Never seen (0), all seen, or unknown (a model file without its list).
            held_out = True if seen == 0 else False if seen == total else None
            words = accuracy_in_words(result["accuracy"], len(names), held_out)
            self.summary.setText(f"{whole}: {html.escape(words)}.")
        warning = optimistic_warning(unseen, total)
        self.warning.setText(style.rich("warning", "Warning", warning) if warning else "")
        self.warning.setVisible(warning is not None)
        self.scores.show_scores(result["per_class"])
        self.results.setVisible(True)
        self._show_matrix_with_names(names, result["confusion_matrix"])

    def room_width(self) -> int | None:
        """The widest the dialog may be: its screen's available width (None: no screen)."""
        screen = self.screen()
        return screen.availableGeometry().width() if screen is not None else None

    def _show_matrix_with_names(self, names: list[str], matrix: list[list[int]]) -> None:
        """Show the matrix, and widen the dialog so the class names in it and in the table show
        whole (within :data:`NAME_WIDTHS`) as far as the screen's width allows."""
        room = self.room_width()
        margins = self.layout().contentsMargins()
        for rows, table in NAME_WIDTHS:
            self.matrix.set_name_width(rows)
            self.matrix.show_matrix(names, matrix)
            needed = (
                margins.left()
                + margins.right()
                + self._panel.sizeHint().width()
                + self.results.layout().spacing()
                + self.scores.fit_names(table)
            )
            if room is None or needed <= room:
                break
        if room is not None:
            needed = min(needed, room)
        if needed > self.width():
            self.resize(needed, self.height())

    def _on_failed(self, message: str) -> None:
        self._running(False)
        self.summary.setText(style.rich("error", "Could not evaluate", message))

    def _on_cancelled(self) -> None:
        self._running(False)
        self.summary.setText("Evaluation cancelled.")
