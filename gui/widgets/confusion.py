"""A confusion matrix table whose cells can be clicked to list the images behind them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from core.names import readable


class ConfusionMatrix(QTableWidget):
    """Rows are true classes, columns predicted ones. Emits ``cell_chosen(true, predicted)``."""

    cell_chosen = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setToolTip(
            "Rows: true class. Columns: predicted class. Click a cell to see its images."
        )
        self.names: list[str] = []
        self.cellClicked.connect(self._on_cell_clicked)

    def show_matrix(self, names: list[str], matrix: list[list[int]]) -> None:
        self.names = list(names)
        names = [readable(n) for n in names]  # shown; self.names keeps the real ones for clicks
        self.clear()
        self.setRowCount(len(names))
        self.setColumnCount(len(names))
        self.setHorizontalHeaderLabels([f"→ {n}" for n in names])
        self.setVerticalHeaderLabels(names)
        for i, row in enumerate(matrix):
            total = max(sum(row), 1)
            for j, count in enumerate(row):
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                share = count / total
                if i == j:
                    colour = QColor.fromRgbF(0.2, 0.6, 0.3, 0.15 + 0.6 * share)
                else:
                    colour = QColor.fromRgbF(0.85, 0.3, 0.2, min(0.8, 2.5 * share))
                if count:
                    item.setBackground(colour)
                item.setToolTip(f"{count} '{names[i]}' image(s) predicted as '{names[j]}'")
                self.setItem(i, j, item)

    def _on_cell_clicked(self, row: int, column: int) -> None:
        self.cell_chosen.emit(self.names[row], self.names[column])
