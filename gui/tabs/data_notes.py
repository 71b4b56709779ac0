"""The Data tab's notes about the folder: why it cannot train, what to watch out for, and which
files were skipped with the reason for each. The tab places the widgets in its right-hand
column, under the grid. Built and called on the GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
)

from core.names import readable
from core.state import DatasetView
from gui import style

#: Problems and warnings shown in full above the skipped files (the rest are counted).
NOTES_SHOWN = 4


class DataNotes(QObject):
    """Problems and warnings (``notes``), then the skipped files (``skipped_title`` and
    ``skipped_table``)."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.setVisible(False)
        self.skipped_title = QLabel("Skipped files")
        self.skipped_table = QTableWidget(0, 2)
        self.skipped_table.setHorizontalHeaderLabels(["File or folder", "Reason"])
        self.skipped_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Interactive
        )
        self.skipped_table.horizontalHeader().setStretchLastSection(True)
        self.skipped_table.setColumnWidth(0, 320)
        self.skipped_table.verticalHeader().setVisible(False)
        self.skipped_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.skipped_table.setAccessibleName("Skipped files")
        self.skipped_table.setToolTip("Files left out of training, each with the reason")

    def show_dataset(self, dataset: DatasetView) -> None:
        """The notes and skipped files of ``dataset``."""
        self.show_notes(dataset)
        self.skipped_title.setText(
            f"Skipped files ({len(dataset.skipped)})"
            if dataset.skipped
            else "Skipped files: none — every file in the folder is used."
        )
        self.skipped_table.setVisible(bool(dataset.skipped))
        self.skipped_table.setRowCount(len(dataset.skipped))
        for row, (path, reason) in enumerate(dataset.skipped):
            self.skipped_table.setItem(row, 0, QTableWidgetItem(readable(path)))
            self.skipped_table.setItem(row, 1, QTableWidgetItem(reason))

    def show_notes(self, dataset: DatasetView) -> None:
        """Problems and warnings: the first few in full, the count of the rest (a folder of
        thirty tiny classes must not push the window off the screen); all in the tooltip. Called
        again after a theme change: the messages carry their colours."""
        notes = [("error", "Cannot train", p) for p in dataset.problems]
        notes += [("warning", "Warning", w) for w in dataset.warnings]
        lines = [f"<p>{style.rich(kind, label, text)}</p>" for kind, label, text in notes]
        if len(lines) > NOTES_SHOWN:
            rest = len(lines) - NOTES_SHOWN + 1
            lines = [*lines[: NOTES_SHOWN - 1], f"<p>… and {rest} more (hover to read them)</p>"]
        self.notes.setText("".join(lines))
        self.notes.setToolTip("\n".join(f"{label}: {text}" for _, label, text in notes))
        self.notes.setVisible(bool(lines))
