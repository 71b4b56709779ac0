"""Fixing the data from what you see: a context menu (and, in the Data tab, keys) on a list of
the dataset's images — show it larger, open the file, move it to another class, exclude it,
undo the latest change.

Every change to the disk is confirmed first with a sentence that says exactly what will
happen ("Move cat/img1.jpg to dog/img1.jpg inside /data/pets"), then runs as an engine job
(:meth:`gui.engine_adapter.Engine.edit_dataset`), because it changes the session's dataset;
the list's tab shows the new state when it arrives. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QPoint, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from core.data.edit import EXCLUDED
from core.data.safe_moves import free_name
from core.names import readable, short_name
from core.state import DatasetView
from gui.engine_adapter import Engine

#: Keys of the Data tab's image grid (Ctrl+Z undoes there; the Train tab's list has a menu).
MOVE_KEY = "M"
EXCLUDE_KEY = QKeySequence.StandardKey.Delete
UNDO_KEY = QKeySequence.StandardKey.Undo
#: Redo: Ctrl+Shift+Z (Linux, macOS) and Ctrl+Y (Windows) both work.
REDO_KEY, REDO_KEY_WINDOWS = "Ctrl+Shift+Z", "Ctrl+Y"
#: The largest side of "Show larger".
PREVIEW_PX = 512


def training_prefix(dataset: DatasetView) -> str:
    """Where new classes and copied-in files go, relative to the root: ``"train/"`` in a
    train/valid/test folder (the training part), ``""`` in a plain one."""
    return next((f"{folder}/" for role, folder, _ in dataset.splits if role == "train"), "")


def move_sentence(dataset: DatasetView, relpath: str, class_name: str) -> str:
    """What moving ``relpath`` into ``class_name`` will do on disk, in one sentence (in a
    train/valid/test folder the file stays in its part: ``valid/cat/1.png`` → ``valid/dog/``)."""
    prefix = ""
    if dataset.splits:
        part = relpath.partition("/")[0]
        if part in {folder for _, folder, _ in dataset.splits}:
            prefix = part + "/"
    rest = relpath[len(prefix) :].partition("/")[2]
    wanted = f"{prefix}{class_name}/{rest}"
    target = Path(dataset.root, wanted)
    name = free_name(target.parent, target.name) if target.parent.is_dir() else target.name
    new = (Path(wanted).parent / name).as_posix()
    clash = f" ({wanted} exists already and is kept)" if name != target.name else ""
    return f"Move {relpath} to {new} inside {dataset.root}{clash}."


def exclude_sentence(dataset: DatasetView, relpath: str) -> str:
    """What excluding ``relpath`` will do on disk, in one sentence."""
    target = Path(dataset.root, EXCLUDED, relpath)
    name = free_name(target.parent, target.name) if target.parent.is_dir() else target.name
    new = (Path(EXCLUDED, relpath).parent / name).as_posix()
    return (
        f"Move {relpath} to {new} inside {dataset.root}. Files in {EXCLUDED}/ are left out "
        "of training; nothing is deleted."
    )


def _key(key: str | QKeySequence.StandardKey) -> str:
    """A key as the menus show it (a hint after a tab: the keys belong to the list)."""
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)


def comparison_line(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """One line comparing two runs' validation results, e.g. "validation accuracy 91.2 % →
    93.0 %; 12 fewer mistakes" (empty when either has none). The runs may have been checked
    on different images (the folder changed in between), which the line cannot undo; when the
    number of validation images differs it says so, since mistakes then compare less well."""
    if "accuracy" not in before or "accuracy" not in after:
        return ""
    line = (
        f"validation accuracy {100 * float(before['accuracy']):.1f} % → "
        f"{100 * float(after['accuracy']):.1f} %"
    )
    old, new = _mistakes(before), _mistakes(after)
    if old is not None and new is not None:
        if new < old:
            line += f"; {old - new} fewer mistakes"
        elif new > old:
            line += f"; {new - old} more mistakes"
        else:
            line += "; as many mistakes"
    old_total, new_total = _checked(before), _checked(after)
    if old_total is not None and new_total is not None and old_total != new_total:
        line += f" (checked on {old_total} and then {new_total} validation images)"
    return line


def _mistakes(evaluation: Mapping[str, Any]) -> int | None:
    matrix = evaluation.get("confusion_matrix")
    if not matrix:
        return None
    return sum(n for i, row in enumerate(matrix) for j, n in enumerate(row) if i != j)


def _checked(evaluation: Mapping[str, Any]) -> int | None:
    """How many validation images a run was checked on (None when not recorded)."""
    matrix = evaluation.get("confusion_matrix")
    return sum(sum(row) for row in matrix) if matrix else None


class ImageActions(QObject):
    """Menu and keys for the images of one list (any item view: the Data tab's grid, the
    Results page's list). ``path_of(index)`` gives the path of the image at a model index,
    relative to the dataset root (None for rows that are not dataset images); ``dataset()``
    the dataset on show. ``keys``: also bind M and Delete on the list, and Ctrl+Z on
    ``undo_scope`` (the whole tab, so it works wherever the focus is in it) or the list.
    ``enlarge``: what "Show larger" does instead of the plain preview (the Results page opens
    its view with the heat map, as a double-click does)."""

    def __init__(
        self,
        view: QAbstractItemView,
        engine: Engine,
        dataset: Callable[[], DatasetView | None],
        path_of: Callable[[QModelIndex | QPersistentModelIndex], str | None],
        keys: bool = False,
        undo_scope: QWidget | None = None,
        enlarge: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(view)
        self.view = view
        self.engine = engine
        self._dataset = dataset
        self._path_of = path_of
        self._enlarge = enlarge  # "Show larger" of a list with its own enlarged view
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._on_menu_requested)
        self.shortcuts: list[QShortcut] = []
        if keys:
            for key, name, slot, scope in (
                (MOVE_KEY, "Move the image to another class", self._on_move_key, view),
                (EXCLUDE_KEY, "Exclude the image from training", self.exclude_current, view),
                (UNDO_KEY, "Undo the last change to the files", self.undo, undo_scope or view),
                (REDO_KEY, "Redo the change undone last", self.redo, undo_scope or view),
                (REDO_KEY_WINDOWS, "Redo the change undone last", self.redo, undo_scope or view),
            ):
                shortcut = QShortcut(QKeySequence(key), scope)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.setWhatsThis(name)
                shortcut.activated.connect(slot)
                self.shortcuts.append(shortcut)

    # --- what is chosen -----------------------------------------------------------------------

    def current(self) -> tuple[DatasetView, str] | None:
        """The dataset and the chosen image's relative path, when both are known."""
        dataset = self._dataset()
        index = self.view.currentIndex()
        path = self._path_of(index) if index.isValid() else None
        if dataset is None or not path or dataset.row_of(path) is None:
            return None
        return dataset, path

    # --- the menu -------------------------------------------------------------------------------

    def menu(self) -> QMenu:
        """The menu for the chosen image (also what the context menu shows)."""
        menu = QMenu(self.view)
        chosen = self.current()
        dataset = self._dataset()
        larger = menu.addAction("Show larger", self._enlarge or self.show_larger)
        opened = menu.addAction("Open file", self.open_file)
        menu.addSeparator()
        move = self.move_menu(menu)
        menu.addMenu(move)
        exclude = menu.addAction(f"Exclude from training…\t{_key(EXCLUDE_KEY)}")
        exclude.triggered.connect(self.exclude_current)
        for action in (larger, opened, move.menuAction(), exclude):
            action.setEnabled(chosen is not None)
        menu.addSeparator()
        undo_text = dataset.undo if dataset is not None else None
        undo = menu.addAction(
            f"Undo: {short_name(undo_text, 70)}\t{_key(UNDO_KEY)}" if undo_text else "Undo"
        )
        undo.triggered.connect(self.undo)
        undo.setEnabled(bool(undo_text))
        redo_text = dataset.redo if dataset is not None else None
        if redo_text:
            redo = menu.addAction(f"Redo: {short_name(redo_text, 70)}\t{_key(REDO_KEY)}")
            redo.triggered.connect(self.redo)
        return menu

    def move_menu(self, parent: QWidget | None = None) -> QMenu:
        """ "Move to class": one entry per other class."""
        menu = QMenu(f"Move to class\t{MOVE_KEY}", parent)
        chosen = self.current()
        if chosen is None:
            return menu
        dataset, path = chosen
        row = dataset.row_of(path)
        own = dataset.class_names[int(dataset.labels[row])] if row is not None else None
        for name in dataset.class_names:
            if name != own:
                action = QAction(readable(name), menu)
                action.triggered.connect(lambda _=False, n=name: self.move_current(n))
                menu.addAction(action)
        return menu

    def _on_menu_requested(self, position: QPoint) -> None:
        index = self.view.indexAt(position)
        if index.isValid():
            self.view.setCurrentIndex(index)
        menu = self.menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.view.viewport().mapToGlobal(position))

    def _on_move_key(self) -> None:
        index = self.view.currentIndex()
        if not index.isValid() or self.current() is None:
            return
        where = self.view.visualRect(index).bottomLeft()
        menu = self.move_menu(self.view)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.view.viewport().mapToGlobal(where))

    # --- actions ------------------------------------------------------------------------------

    def _confirm(self, title: str, sentence: str, then: str) -> bool:
        answer = QMessageBox.question(
            self.view,
            title,
            f"{readable(sentence)}\n\n{then}",
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Ok

    def move_current(self, class_name: str) -> None:
        """Ask, then move the chosen image's file into ``class_name``."""
        chosen = self.current()
        if chosen is None:
            return
        dataset, path = chosen
        if self._confirm(
            "Move the image",
            move_sentence(dataset, path, class_name),
            f"Undo ({_key(UNDO_KEY)}) moves it back.",
        ):
            self.engine.edit_dataset("move_to_class", path, class_name)

    def exclude_current(self) -> None:
        """Ask, then move the chosen image's file to the excluded folder."""
        chosen = self.current()
        if chosen is None:
            return
        dataset, path = chosen
        if self._confirm(
            "Exclude the image",
            exclude_sentence(dataset, path),
            f"Undo ({_key(UNDO_KEY)}) moves it back.",
        ):
            self.engine.edit_dataset("exclude", path)

    def undo(self) -> None:
        """Undo the latest change to the dataset's files (no question: undo is undoable by
        doing the change again, and it never overwrites)."""
        dataset = self._dataset()
        if dataset is not None and dataset.undo:
            self.engine.undo_edit()

    def redo(self) -> None:
        """Make the change undone last again (a capture, a move, an exclude or a rename)."""
        dataset = self._dataset()
        if dataset is not None and dataset.redo:
            self.engine.redo_edit()

    def open_file(self) -> None:
        """Open the chosen image's file in the system's viewer."""
        chosen = self.current()
        if chosen is not None:
            dataset, path = chosen
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(dataset.root, path))))

    def show_larger(self) -> QDialog | None:
        """A window with the chosen image's file at up to :data:`PREVIEW_PX` pixels."""
        chosen = self.current()
        if chosen is None:
            return None
        dataset, path = chosen
        dialog = QDialog(self.view)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowTitle(readable(path))
        picture = QLabel()
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pixmap = QPixmap(str(Path(dataset.root, path)))
        if pixmap.isNull():
            picture.setText(f"{readable(path)} cannot be shown here.")
        else:
            if max(pixmap.width(), pixmap.height()) > PREVIEW_PX:
                pixmap = pixmap.scaled(
                    PREVIEW_PX,
                    PREVIEW_PX,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            elif max(pixmap.width(), pixmap.height()) < PREVIEW_PX // 4:
                factor = (PREVIEW_PX // 2) // max(pixmap.width(), pixmap.height())
                pixmap = pixmap.scaled(
                    pixmap.width() * factor,
                    pixmap.height() * factor,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.FastTransformation,  # small inputs: sharp pixels
                )
            picture.setPixmap(pixmap)
        caption = QLabel(readable(str(Path(dataset.root, path))))
        caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(dialog)
        layout.addWidget(picture, 1)
        layout.addWidget(caption)
        dialog.show()
        return dialog


__all__ = ["ImageActions", "comparison_line", "exclude_sentence", "move_sentence"]
