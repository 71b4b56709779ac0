"""The Data tab's notes about the folder: why it cannot train, what to watch out for, what is
worth knowing (files read although their names say another format), a link that lists every
copy (:class:`~gui.dialogs.copies.CopiesDialog`, where the extra copies can be excluded), and
which files were skipped with the reason for each. The tab places the widgets in its right-hand
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
from core.state import DatasetView, ScanPreview
from gui import style
from gui.dialogs.copies import CopiesDialog
from gui.engine_adapter import Engine

#: Problems, warnings and notes shown in full above the skipped files (the rest are counted).
NOTES_SHOWN = 4
#: Longer messages are cut (at a "; " or ", " between the files they name) in the panel; the
#: tooltip and the list of copies have them whole. Keeps the grid in view at 1024x640.
LONGEST_SHOWN = 220
#: The link under the notes that opens the list of copies.
COPIES_LINK = "copies"


class DataNotes(QObject):
    """Problems, warnings and notes (``notes``, with a link to every copy), then the skipped
    files (``skipped_title`` and ``skipped_table``). ``engine``: what the list of copies
    shows and sends its edit to."""

    def __init__(self, parent: QObject, engine: Engine) -> None:
        super().__init__(parent)
        self.engine = engine
        self.copies_dialog: CopiesDialog | None = None
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.notes.linkActivated.connect(self._on_link_activated)
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

    def show_preview(self, preview: ScanPreview) -> None:
        """What the scan alone tells while the images are read: its problems and warnings,
        and how many entries it left out (their list comes with the loaded dataset)."""
        self.show_notes(preview)
        self.skipped_title.setText(
            f"Skipped so far: {preview.skipped} (listed once the images are read)"
            if preview.skipped
            else "Skipped files: none so far (the images are being read)."
        )
        self.skipped_table.setVisible(False)

    def show_notes(self, dataset: DatasetView | ScanPreview) -> None:
        """Problems, warnings and notes: the first few in full, the count of the rest (a folder
        of thirty tiny classes must not push the window off the screen); all in the tooltip;
        then, when the folder holds copies, the link that lists them all. Called again after a
        theme change: the messages carry their colours. A scan's preview has no notes or
        copies yet: only its problems and warnings."""
        notes = [("error", "Cannot train", p) for p in dataset.problems]
        notes += [("warning", "Warning", w) for w in dataset.warnings]
        if isinstance(dataset, DatasetView):
            notes += [("text", "Note", n) for n in dataset.notes]
        lines = [
            f"<p>{style.rich(kind, label, shortened(text))}</p>" for kind, label, text in notes
        ]
        if len(lines) > NOTES_SHOWN:
            rest = len(lines) - NOTES_SHOWN + 1
            lines = [*lines[: NOTES_SHOWN - 1], f"<p>… and {rest} more (hover to read them)</p>"]
        link = copies_link(dataset) if isinstance(dataset, DatasetView) else ""
        if link:
            lines.append(f"<p><a href='{COPIES_LINK}'>{link}</a></p>")
        self.notes.setText("".join(lines))
        self.notes.setToolTip("\n".join(f"{label}: {text}" for _, label, text in notes))
        self.notes.setVisible(bool(lines))

    def _on_link_activated(self, link: str) -> None:
        """A link in the notes was clicked (or chosen with the keyboard): GUI thread."""
        if link == COPIES_LINK:
            self.show_copies()

    def show_copies(self) -> CopiesDialog:
        """Open (or bring forward) the list of every copy in the current dataset."""
        if self.copies_dialog is None:
            window = self.notes.window()
            self.copies_dialog = CopiesDialog(self.engine, window)
        self.copies_dialog.show()
        self.copies_dialog.raise_()
        self.copies_dialog.activateWindow()
        return self.copies_dialog


def shortened(text: str, longest: int = LONGEST_SHOWN) -> str:
    """``text`` cut after the last file it names that fits in ``longest`` characters (at a
    "; " or ", "), with "…" saying there is more; unchanged when short enough."""
    if len(text) <= longest:
        return text
    cut = max(text.rfind("; ", 0, longest), text.rfind(", ", 0, longest))
    if cut <= 0:
        cut = text.rfind(" ", 0, longest)
    return f"{text[: max(cut, 0) or longest]}; … (hover to read it all)"


def copies_link(dataset: DatasetView) -> str:
    """The words of the link to the list of copies ("" when the folder has none)."""
    identical = sum(len(group) - 1 for group in dataset.copies)
    near = len(dataset.near_copies)
    if not identical and not near:
        return ""
    parts = [f"{identical} identical cop{'y' if identical == 1 else 'ies'}"] if identical else []
    if near:
        parts.append(f"{near} near-identical pair{'' if near == 1 else 's'}")
    return f"Show the {' and '.join(parts)}…"
