"""The Classify tab's results table: one row per classified image, with its preview (or where
the model looked), its file, its most likely classes as bars, and the answer: the top class, or
"unsure" below the minimum confidence.

The table keeps the rows' results (``predictions``, in the table's order) and draws them; the
Classify tab adds the engine's results, chooses the minimum confidence and the heat maps, and
says when to draw again. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
)

from core.names import readable
from core.use.predictions import UNSURE
from gui import style
from gui.engine_adapter import THUMBNAIL_SIZE
from gui.widgets.heatmap_view import overlay_pixmap
from gui.widgets.images import preview
from gui.widgets.probability_bars import ProbabilityBars

THUMB = THUMBNAIL_SIZE
#: The table's column with the answer: the top class, or "unsure" (shown while a minimum
#: confidence is set).
ANSWER_COLUMN = 3


class ResultsTable(QTableWidget):
    """The Classify tab's results, one row each; ``predictions`` holds them in row order."""

    def __init__(self) -> None:
        super().__init__(0, 4)
        self.predictions: list[dict] = []
        self.setAccessibleName("Results")
        self.setToolTip("Each image with the classes the model finds most likely")
        self.setHorizontalHeaderLabels(["Image", "File", "Prediction", "Answer"])
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ANSWER_COLUMN, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(0, THUMB + 8)
        self.setColumnWidth(1, 380)
        self.setColumnWidth(ANSWER_COLUMN, 120)
        self.verticalHeader().setDefaultSectionSize(THUMB + 8)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)

    def add(
        self,
        predictions: list[dict],
        name_width: int,
        explanations: Mapping[str, dict] | None,
        percent: int,
    ) -> None:
        """Add a row for each of ``predictions`` (the class names of their bars
        ``name_width`` pixels wide) and scroll to the last; ``explanations`` and ``percent``
        as for :meth:`show_thumbnail` and :meth:`show_answer`."""
        start = self.rowCount()
        self.predictions += predictions
        self.setRowCount(start + len(predictions))
        for offset, prediction in enumerate(predictions):
            row = start + offset
            thumb = QLabel()
            thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
            thumb.setAccessibleName(f"Preview of {readable(Path(prediction['path']).name)}")
            self.setCellWidget(row, 0, thumb)
            self.show_thumbnail(row, explanations)
            shown = readable(prediction["path"])
            item = QTableWidgetItem(shown)
            item.setToolTip(shown)
            self.setItem(row, 1, item)
            ranked = [(r["label"], r["probability"]) for r in prediction["predictions"]]
            self.setCellWidget(row, 2, ProbabilityBars(ranked, name_width))
            self.show_answer(row, percent)
        self.scrollToBottom()

    def clear_rows(self) -> None:
        """Empty the table."""
        self.predictions.clear()
        self.setRowCount(0)

    def show_answer(self, row: int, percent: int) -> None:
        """Fill the answer cell of ``row``: the top class, or "unsure" below ``percent``%."""
        top = self.predictions[row]["predictions"][0]
        label, probability = top["label"], top["probability"]
        unsure = probability < percent / 100
        item = QTableWidgetItem(UNSURE if unsure else readable(label))
        if unsure:
            item.setForeground(style.current().color("warning"))
            item.setToolTip(
                f"Best guess: {readable(label)} at {probability:.0%}, under the "
                f"{percent}% asked for"
            )
        self.setItem(row, ANSWER_COLUMN, item)

    def show_answers(self, percent: int) -> None:
        """Mark every answer again, under a new minimum confidence."""
        for row in range(len(self.predictions)):
            self.show_answer(row, percent)

    def show_thumbnail(self, row: int, explanations: Mapping[str, dict] | None) -> None:
        """The preview of ``row``: with its heat map when ``explanations`` (the maps shown,
        None while the toggle is off) has it, else the picture as the file shows it."""
        thumb = self.cellWidget(row, 0)
        if not isinstance(thumb, QLabel):
            return
        prediction = self.predictions[row]
        explanation = explanations.get(prediction["path"]) if explanations is not None else None
        if explanation is not None:
            thumb.setPixmap(overlay_pixmap(explanation, THUMB))
            thumb.setToolTip(
                f"Where the model looked for '{readable(explanation['label'])}' "
                "(bright: counted most); double-click to enlarge"
            )
        elif prediction.get("thumbnail") is not None:
            thumb.setPixmap(preview(prediction["thumbnail"], THUMB))
            thumb.setToolTip("")

    def show_thumbnails(self, explanations: Mapping[str, dict] | None) -> None:
        """Draw every preview again, with the heat maps in ``explanations`` (or none)."""
        for row in range(self.rowCount()):
            self.show_thumbnail(row, explanations)
