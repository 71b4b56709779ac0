"""The Data tab's class list: one row per class with its image count and a bar for its size,
the New/Rename/Remove class buttons, and image files dropped on a row copied into that class.

Every change to the disk is asked first, then runs as an engine job
(:meth:`gui.engine_adapter.Engine.edit_dataset`); the tab shows the new state when it arrives.
Built and called on the GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QFileInfo, QObject, QPoint, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.names import readable
from core.state import DatasetView, ScanPreview
from gui.camera.feed import SourceFactory
from gui.engine_adapter import Engine
from gui.tabs.data_actions import training_prefix

#: The class list's tooltip once its images are read.
CLASS_LIST_TIP = (
    "Each subfolder is a class. Pick one to see its images as the model sees them. "
    "Classes of very different sizes bias the model towards the big ones."
)


def _bar_cell(count: int, biggest: int) -> QWidget:
    """A slim bar showing a class's size relative to the largest class."""
    cell = QWidget()
    layout = QHBoxLayout(cell)
    layout.setContentsMargins(4, 6, 4, 6)
    bar = QProgressBar(maximum=biggest, value=count, textVisible=False)
    bar.setFixedHeight(10)
    layout.addWidget(bar)
    return cell


class ClassList(QWidget):
    """The classes of ``dataset()`` (the dataset on show, owned by the tab). ``chosen_changed``
    is emitted when another class is chosen, and after each new list, so the pictures follow."""

    chosen_changed = Signal()

    def __init__(self, engine: Engine, dataset: Callable[[], DatasetView | None]) -> None:
        super().__init__()
        self.engine = engine
        self._dataset = dataset
        self.class_table = QTableWidget(0, 3)
        self.class_table.setHorizontalHeaderLabels(["Class", "Images", ""])
        self.class_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.class_table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.class_table.verticalHeader().setVisible(False)
        self.class_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.class_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.class_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.class_table.itemSelectionChanged.connect(self._on_class_selected)
        self.class_table.setAccessibleName("Classes")
        self.class_table.setToolTip(CLASS_LIST_TIP)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Classes"))
        layout.addWidget(self.class_table, 1)
        self.new_class_button = QPushButton("New class…")
        self.new_class_button.setToolTip("Create an empty class folder in the dataset folder")
        self.new_class_button.clicked.connect(self.new_class)
        self.rename_class_button = QPushButton("Rename class…")
        self.rename_class_button.setToolTip("Rename the chosen class's folder on disk")
        self.rename_class_button.clicked.connect(self.rename_class)
        self.remove_class_button = QPushButton("Remove class…")
        self.remove_class_button.setToolTip(
            "Remove the chosen class's folder; only a class without images can be removed "
            "(move or exclude its images first)"
        )
        self.remove_class_button.clicked.connect(self.remove_class)
        self.capture_button = QPushButton("Capture…")
        self.capture_button.setToolTip(
            "Take pictures with the camera into the chosen class, or into a new one"
        )
        self.capture_button.clicked.connect(lambda: self.capture(self.chosen_class()))
        self.capture_button.setEnabled(False)
        self.camera_factory: SourceFactory | None = None  # tests: makes fake frame sources
        self.class_table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.class_table.customContextMenuRequested.connect(self._on_context_menu)
        class_buttons = QHBoxLayout()
        class_buttons.addWidget(self.capture_button)
        class_buttons.addWidget(self.new_class_button)
        class_buttons.addWidget(self.rename_class_button)
        class_buttons.addWidget(self.remove_class_button)
        self.new_class_button.setEnabled(False)
        self.rename_class_button.setEnabled(False)
        self.remove_class_button.setEnabled(False)
        layout.addLayout(class_buttons)
        # Image files dropped on a class's row are copied into its folder.
        self.class_table.viewport().setAcceptDrops(True)
        self.class_table.viewport().installEventFilter(self)

    # --- showing ------------------------------------------------------------------------------

    def show_preview(self, preview: ScanPreview) -> None:
        """List the classes a scan found, each with its files, greyed and unchoosable while
        the images are read: no class is chosen (the grid shows nothing) and nothing can be
        changed or dropped, since the rows are not the shown dataset's. The next
        :meth:`show_classes` (the loaded dataset, or the previous one again) replaces it."""
        for button in (
            self.new_class_button,
            self.rename_class_button,
            self.remove_class_button,
            self.capture_button,
        ):
            button.setEnabled(False)
        biggest = max(preview.counts, default=1) or 1
        with QSignalBlocker(self.class_table):  # no class is chosen: no pictures to fill
            self.class_table.clearSelection()
            self.class_table.setRowCount(len(preview.class_names))
            for row, (name, count) in enumerate(
                zip(preview.class_names, preview.counts, strict=True)
            ):
                self.class_table.setItem(row, 0, QTableWidgetItem(readable(name)))
                number = QTableWidgetItem(str(count))
                number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.class_table.setItem(row, 1, number)
                self.class_table.setCellWidget(row, 2, _bar_cell(count, biggest))
        self.class_table.setHorizontalHeaderLabels(["Class", "Files", ""])  # not yet images
        self.class_table.setEnabled(False)  # greyed: still being read
        self.class_table.setToolTip(
            "The files found in each class folder; the images are being read (a file that "
            "turns out not to be an image is listed under Skipped files then)."
        )

    def show_classes(self, dataset: DatasetView | None, chosen: str | None) -> None:
        """List ``dataset``'s classes and choose ``chosen`` again (else the first class); the
        table is left as it was when there is no dataset (the tab hides it then)."""
        self.class_table.setEnabled(True)
        self.class_table.setToolTip(CLASS_LIST_TIP)
        self.class_table.setHorizontalHeaderLabels(["Class", "Images", ""])
        self.new_class_button.setEnabled(dataset is not None)
        self.rename_class_button.setEnabled(dataset is not None)
        self.capture_button.setEnabled(dataset is not None)
        if dataset is None:
            return
        counts = dict(zip(dataset.class_names, dataset.counts, strict=True))
        biggest = max(counts.values(), default=1) or 1
        self.class_table.clearSelection()
        self.class_table.setRowCount(len(counts))
        for row, (name, count) in enumerate(counts.items()):
            self.class_table.setItem(row, 0, QTableWidgetItem(readable(name)))
            number = QTableWidgetItem(str(count))
            number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if dataset.splits:  # how many of them are in each of train/, valid/, test/
                number.setToolTip(
                    ", ".join(f"{folder}/: {n[row]}" for _, folder, n in dataset.splits)
                )
            self.class_table.setItem(row, 1, number)
            self.class_table.setCellWidget(row, 2, _bar_cell(count, biggest))
        if counts:  # the class on show before an edit stays on show
            names = list(counts)
            self.class_table.selectRow(names.index(chosen) if chosen in names else 0)
        self._on_class_selected()  # even when row 0 was already selected: new pictures

    def _on_class_selected(self) -> None:
        """Only an empty class can be removed; the pictures follow the chosen class."""
        row, dataset = self.chosen_row(), self._dataset()
        self.remove_class_button.setEnabled(
            row is not None and dataset is not None and dataset.counts[row] == 0
        )
        self.chosen_changed.emit()

    def chosen_row(self) -> int | None:
        """The row (the class's label) chosen in the table, or None."""
        rows = self.class_table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def chosen_class(self) -> str | None:
        """The name of the class chosen in the table, or None."""
        row, dataset = self.chosen_row(), self._dataset()
        if row is None or dataset is None or row >= len(dataset.class_names):
            return None
        return dataset.class_names[row]

    def class_to_keep(self, dataset: DatasetView | None) -> str | None:
        """The class to show in ``dataset``: the one chosen now, under its new name when it
        was just renamed (it alone left, one other name came)."""
        chosen, before = self.chosen_class(), self._dataset()
        if dataset is None or before is None or chosen is None or chosen in dataset.class_names:
            return chosen
        added = set(dataset.class_names) - set(before.class_names)
        return added.pop() if len(added) == 1 else None

    # --- changing the folder (the engine does the work) ---------------------------------------

    def capture(self, class_name: str | None) -> None:
        """Open the camera to take pictures into ``class_name`` (or a class named there)."""
        from gui.dialogs.capture import CaptureDialog

        dialog = CaptureDialog(self.engine, class_name, self, self.camera_factory)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.capture_dialog = dialog  # tests reach it here

    def _on_context_menu(self, position: QPoint) -> None:
        """The class list's menu: capture pictures into the class under the pointer."""
        if self._dataset() is None:
            return
        row = self.class_table.rowAt(position.y())
        names = list(self._dataset().class_names)  # type: ignore[union-attr]
        name = names[row] if 0 <= row < len(names) else None
        menu = QMenu(self)
        label = f"Capture pictures into {readable(name)}…" if name else "Capture pictures…"
        menu.addAction(label, lambda: self.capture(name))
        menu.exec(self.class_table.viewport().mapToGlobal(position))

    def new_class(self) -> None:
        """Ask for a name, then create that class's (empty) folder."""
        shown = self._dataset()
        if shown is None:
            return
        where = Path(shown.root, training_prefix(shown))
        name, ok = QInputDialog.getText(
            self, "New class", f"Name of the new class folder in {readable(str(where))}:"
        )
        if ok and name:
            self.engine.edit_dataset("create_class", name)

    def rename_class(self) -> None:
        """Ask for a new name, then rename the chosen class's folder."""
        old, shown = self.chosen_class(), self._dataset()
        if old is None or shown is None:
            return
        parts = ", ".join(f"{folder}/" for _, folder, _ in shown.splits)
        what = f"its folder in each of {parts} that has one" if parts else f"the folder {old}"
        name, ok = QInputDialog.getText(
            self,
            "Rename class",
            f"New name of class {readable(old)} ({readable(what)} in {readable(str(shown.root))}):",
            text=old,
        )
        if ok and name and name != old:
            self.engine.edit_dataset("rename_class", old, name)

    def remove_class(self) -> None:
        """Ask, then remove the chosen class's (empty) folders."""
        name, shown = self.chosen_class(), self._dataset()
        if name is None or shown is None:
            return
        parts = [folder for _, folder, _ in shown.splits]
        where = ", ".join(f"{part}/{name}" for part in parts) + " (those there)" if parts else name
        answer = QMessageBox.question(
            self,
            "Remove class",
            f"Remove the class {readable(name)}: its empty folder(s) {readable(where)} inside "
            f"{readable(shown.root)} are removed (a folder that is not empty is kept). Ctrl+Z "
            "makes them again.",
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Ok:
            self.engine.edit_dataset("remove_class", name)

    # --- files dropped on a row ---------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Files dragged onto a class's row: accept them; dropped: copy them in (asked
        first). Other drops (a folder to load) go on to the window."""
        if watched is self.class_table.viewport() and (shown := self._dataset()) is not None:
            if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
                assert isinstance(event, QDragEnterEvent)  # DragMove derives from it
                if self._dropped_files(event) and self._row_at(event) is not None:
                    event.acceptProposedAction()
                    return True
            elif event.type() == QEvent.Type.Drop:
                assert isinstance(event, QDropEvent)
                files, row = self._dropped_files(event), self._row_at(event)
                if files and row is not None:
                    event.acceptProposedAction()
                    self._copy_in(shown, shown.class_names[row], files)
                    return True
        return super().eventFilter(watched, event)

    @staticmethod
    def _dropped_files(event: QDropEvent) -> list[str]:
        """The local files (not folders) an event carries."""
        mime = event.mimeData()
        urls = mime.urls() if mime is not None and mime.hasUrls() else []
        paths = [u.toLocalFile() for u in urls if u.isLocalFile()]
        return [p for p in paths if p and not QFileInfo(p).isDir()]

    def _row_at(self, event: QDropEvent) -> int | None:
        row = self.class_table.rowAt(event.position().toPoint().y())
        shown = self._dataset()
        return row if shown is not None and 0 <= row < len(shown.class_names) else None

    def _copy_in(self, shown: DatasetView, class_name: str, files: list[str]) -> None:
        listed = ", ".join(QFileInfo(f).fileName() for f in files[:5])
        more = f" and {len(files) - 5} more" if len(files) > 5 else ""
        answer = QMessageBox.question(
            self,
            "Copy images in",
            f"Copy {len(files)} file(s) ({readable(listed)}{more}) into "
            f"{readable(training_prefix(shown) + class_name)}/ "
            f"inside {readable(shown.root)}? A name that is taken gets -2, -3…; nothing "
            "is overwritten and the files you dropped stay where they are.",
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Ok:
            self.engine.edit_dataset("copy_in", class_name, files)
