"""A table of each class's precision, recall, F1 and number of images, sortable by any column.

Used wherever a set of labelled images was scored: the Results page (validation or test images)
and the evaluation of a folder. Numbers are right-aligned and sort as numbers; the headers
explain the terms in plain words. A class name too wide for its column is elided, with the whole
name in its tooltip; :meth:`ClassMetricsTable.fit_names` asks for the width that shows the names
whole (the Evaluate dialog, which has room, calls it). GUI thread only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
)

from core.names import readable
from core.plain import TERMS

#: Column headings and what each one means, for the header tooltips.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Class", "The class (its folder name)."),
    (
        "Precision",
        "Of the images the model called this class, the share that really are: low means "
        "other images are often taken for it.",
    ),
    (
        "Recall",
        "Of this class's images, the share the model found: low means it often misses them.",
    ),
    ("F1", TERMS["f1"]),
    ("Images", "How many of the scored images belong to this class."),
)
#: The keys of a per-class score (core.use.evaluate), in column order after the name.
_KEYS = ("precision", "recall", "f1", "support")


class _NumberItem(QTableWidgetItem):
    """A cell that shows formatted text but sorts by its number."""

    def __init__(self, value: float, text: str) -> None:
        super().__init__(text)
        self.value = value
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        if isinstance(other, _NumberItem):
            return self.value < other.value
        return super().__lt__(other)


class ClassMetricsTable(QTableWidget):
    """Per-class scores, one row per class; click a heading to sort by it."""

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels([name for name, _ in COLUMNS])
        for column, (_, meaning) in enumerate(COLUMNS):
            header = self.horizontalHeaderItem(column)
            if header is not None:
                header.setToolTip(meaning)
        header_view = self.horizontalHeader()
        header_view.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header_view.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().setVisible(False)
        self.setWordWrap(False)  # one line a class: a name too wide is elided, not cut off
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAccessibleName("Scores per class")
        self.setToolTip("Each class's scores; click a heading to sort by it.")
        self.setSortingEnabled(True)

    def show_scores(self, per_class: Mapping[str, Mapping[str, Any]]) -> None:
        """Show ``per_class`` (class name -> precision, recall, f1, support), in class order
        until the user sorts."""
        self.setSortingEnabled(False)  # rows are filled in place; sorting would move them
        self.clearContents()
        self.setRowCount(len(per_class))
        for row, (name, scores) in enumerate(per_class.items()):
            item = QTableWidgetItem(readable(name))
            item.setToolTip(readable(name))
            self.setItem(row, 0, item)
            for column, key in enumerate(_KEYS, start=1):
                value = float(scores.get(key, 0))
                text = str(int(value)) if key == "support" else f"{value:.2f}"
                self.setItem(row, column, _NumberItem(value, text))
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.setSortingEnabled(True)

    def text_margin(self) -> int:
        """Pixels an item's text keeps from each side of its cell (Qt's item delegate's)."""
        return self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1

    def fit_names(self, most: int) -> int:
        """Ask for the width that shows every class name whole, giving the names at most
        ``most`` px (a wider name is elided; its tooltip has it whole), and return it. The
        numbers keep their columns; the names' column still takes any width beyond that."""
        metrics = self.fontMetrics()
        names = [self.item(row, 0).text() for row in range(self.rowCount()) if self.item(row, 0)]
        widest = max((metrics.horizontalAdvance(n) for n in names), default=0)
        names_width = min(widest + 2 * self.text_margin() + 1, most)
        header = self.horizontalHeader()
        names_width = max(names_width, header.sectionSizeHint(0))
        numbers = sum(
            max(header.sectionSizeHint(c), self.sizeHintForColumn(c))
            for c in range(1, self.columnCount())
        )
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        width = names_width + numbers + 2 * self.frameWidth() + scroll_bar
        self.setMinimumWidth(width)
        return width

    def rows(self) -> list[tuple[str, ...]]:
        """The table as shown (sorted as on screen): one tuple of cell texts per row."""
        return [
            tuple(self.item(row, column).text() for column in range(self.columnCount()))
            for row in range(self.rowCount())
        ]
