"""The Data tab's *Show the copies…*: every group of identical images, and every pair of
near-identical ones, with what the model sees of each, and a way to exclude the extra copies.

The loading warnings name only the first few copies ("50 exact copies within a class: cat/a.png
= cat/a (copy).png; … and 45 more"); this lists them all (:attr:`core.state.DatasetView.copies`
and ``near_copies``). Each file has a box to tick: in a group of identical images within one
class (and one part of a train/valid/test folder) every file but the first (the shortest name,
as a rule the original) is ticked to start with, so *Exclude* keeps one of each. Copies in
different classes (the labels contradict each other) and near-identical pairs (perhaps two
different photos) are left for the user to decide. Excluding asks first, with exactly what will
happen on disk, then sends one edit for all the ticked files
(``engine.edit_dataset("exclude", *paths)``): they move to ``_excluded/`` and one Undo (Ctrl+Z)
brings them all back. The dialog shows the session's current dataset: after the edit it lists
what is left. GUI thread only: the engine's state arrives as a Qt signal on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.data.edit import EXCLUDED
from core.names import readable
from core.state import DatasetView, SessionState
from gui.engine_adapter import Engine
from gui.widgets.images import preview

#: Groups listed at most (identical groups first); the rest are counted above the list.
MAX_GROUPS = 300
#: Side of each file's picture in the list.
ICON_PX = 48
#: Files named in full in the question before excluding; the rest are counted.
NAMED = 8
_PATH = Qt.ItemDataRole.UserRole


def pre_ticked(dataset: DatasetView, group: Sequence[str]) -> set[str]:
    """The files of a group of identical images ticked to start with: every one but the first
    of those in the same class (and, in a train/valid/test folder, the same part). Copies in
    different classes are left unticked: which label is right is the user's call."""
    first: set[tuple[int, str]] = set()
    ticked: set[str] = set()
    labels = {_label(dataset, path) for path in group}
    if len(labels) > 1:
        return ticked
    for path in group:
        key = (_label(dataset, path), path.partition("/")[0] if dataset.splits else "")
        if key in first:
            ticked.add(path)
        first.add(key)
    return ticked


def _label(dataset: DatasetView, path: str) -> int:
    row = dataset.row_of(path)
    return -1 if row is None else int(dataset.labels[row])


def exclude_question(dataset: DatasetView, paths: Sequence[str]) -> str:
    """What excluding ``paths`` will do on disk, in words (the question asked first)."""
    named = ", ".join(readable(p) for p in paths[:NAMED])
    more = f" and {len(paths) - NAMED} more" if len(paths) > NAMED else ""
    files = "1 file" if len(paths) == 1 else f"{len(paths)} files"
    return (
        f"Move {files} to {EXCLUDED}/ inside {readable(dataset.root)}: {named}{more}. Files in "
        f"{EXCLUDED}/ are left out of training; nothing is deleted.\n\nOne Undo (Ctrl+Z) moves "
        "them all back."
    )


class CopiesDialog(QDialog):
    """Lists the copies in the engine's current dataset (``tree``: one top-level item per group,
    a child per file with its tick box) and excludes the ticked files (``exclude_button``)."""

    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.setWindowTitle("Copies in the dataset")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["File", "Class"])
        self.tree.setIconSize(QSize(ICON_PX, ICON_PX))
        self.tree.setColumnWidth(0, 440)
        self.tree.setAccessibleName("Copies")
        self.tree.setToolTip(
            "Each group holds images that are the same picture as the model sees it. Tick the "
            "files to exclude; the first of each group is the one kept to start with."
        )
        self.tree.itemChanged.connect(self._on_item_changed)
        self.exclude_button = QPushButton("Exclude the ticked files…")
        self.exclude_button.setToolTip(
            f"Moves them to {EXCLUDED}/ inside the dataset folder (nothing is deleted); Ctrl+Z "
            "brings them back"
        )
        self.exclude_button.clicked.connect(self.exclude_ticked)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.exclude_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.resize(640, 520)
        self._items: dict[str, list[QTreeWidgetItem]] = {}  # path -> its items (one a group)
        self._shown: DatasetView | None = None
        self._filled: DatasetView | None = None  # the dataset the tree lists
        engine.state_changed.connect(self._on_state_changed)
        self._on_state_changed(engine.state)

    # --- what is shown ------------------------------------------------------------------------

    @property
    def dataset(self) -> DatasetView | None:
        """The dataset whose copies are listed (the engine's current one, once its state
        arrived)."""
        return self._shown

    def _on_state_changed(self, state: SessionState) -> None:
        """Follow the current dataset (a new load or an edit), listing its copies while the
        dialog is shown and on the next showing otherwise (a closed dialog stays alive, and
        rebuilding its pictures for every load would be wasted); enable *Exclude* while
        nothing else changes the folder. GUI thread (a Qt signal)."""
        self._shown = state.dataset
        if self.isVisible():
            self._refresh()
        self._update_button()

    def showEvent(self, event: QShowEvent) -> None:
        """List the copies of the dataset current now (GUI thread)."""
        self._refresh()
        super().showEvent(event)

    def _refresh(self) -> None:
        if self._filled is not self._shown:
            self._filled = self._shown
            self._fill()
            self._update_button()

    def _fill(self) -> None:
        dataset = self._shown
        self.tree.blockSignals(True)  # the ticks set here are not the user's
        self.tree.clear()
        self._items = {}
        self.setWindowTitle(
            f"Copies in '{readable(dataset.name)}'" if dataset else "Copies in the dataset"
        )
        if dataset is None:
            self.summary.setText("No dataset is loaded.")
            self.tree.blockSignals(False)
            return
        groups = [(group, "identical") for group in dataset.copies]
        groups += [((a, b), f"{bits} bits apart") for a, b, bits in dataset.near_copies]
        for group, kind in groups[:MAX_GROUPS]:
            self._add_group(dataset, group, kind)
        self.tree.expandAll()
        self.tree.blockSignals(False)
        self.summary.setText(self._summary(dataset, len(groups)))

    def _summary(self, dataset: DatasetView, groups: int) -> str:
        if not groups:
            return "No copies: every image in the folder is a picture of its own."
        identical, near = len(dataset.copies), len(dataset.near_copies)
        parts = []
        if identical:
            parts.append(f"{identical} group(s) of identical images")
        if near:
            parts.append(
                f"{near} pair(s) of near-identical images (the same picture shifted or "
                "re-saved, or two pictures that look alike)"
            )
        shown = f" The first {MAX_GROUPS} are listed." if groups > MAX_GROUPS else ""
        return (
            f"{' and '.join(parts)}.{shown} A copy adds nothing new and counts twice in "
            "training; one of each is enough. Tick the files to exclude: to start with, every "
            "identical copy within a class but the first is ticked."
        )

    def _add_group(self, dataset: DatasetView, group: Sequence[str], kind: str) -> None:
        classes = sorted({_label(dataset, p) for p in group})
        names = " and ".join(f"'{readable(dataset.class_names[c])}'" for c in classes if c >= 0)
        if kind == "identical":
            title = f"{len(group)} identical images in {names}"
            ticked = pre_ticked(dataset, group)
        else:
            title = f"2 near-identical images ({kind}) in {names}"
            ticked = set()
        if len(classes) > 1:
            title += ": the labels contradict each other"
        head = QTreeWidgetItem(self.tree, [title])
        head.setFlags(Qt.ItemFlag.ItemIsEnabled)
        head.setFirstColumnSpanned(True)
        for path in group:
            row = dataset.row_of(path)
            label = dataset.class_names[int(dataset.labels[row])] if row is not None else ""
            item = QTreeWidgetItem(head, [readable(path), readable(label)])
            item.setData(0, _PATH, path)
            item.setToolTip(0, readable(path))
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            if row is not None:
                item.setIcon(0, QIcon(preview(dataset.images[row], ICON_PX)))
            already = self._items.get(path)
            tick = path in ticked or (bool(already) and _is_ticked(already[0]))
            item.setCheckState(0, Qt.CheckState.Checked if tick else Qt.CheckState.Unchecked)
            self._items.setdefault(path, []).append(item)
            if tick:
                for other in self._items[path]:  # one file, one tick, wherever it is listed
                    other.setCheckState(0, Qt.CheckState.Checked)

    def ticked(self) -> list[str]:
        """The ticked files' paths (relative to the dataset folder), in the order listed."""
        return [path for path, items in self._items.items() if _is_ticked(items[0])]

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        """A tick changed (the user's): tick or untick the same file wherever it is listed."""
        path = item.data(0, _PATH)
        if column != 0 or path is None:
            return
        self.tree.blockSignals(True)
        for other in self._items.get(path, []):
            other.setCheckState(0, item.checkState(0))
        self.tree.blockSignals(False)
        self._update_button()

    def _update_button(self) -> None:
        count = len(self.ticked())
        state = self.engine.state
        busy = state.loading or state.doing("editing")
        self.exclude_button.setText(
            f"Exclude {count} ticked file(s)…" if count else "Exclude the ticked files…"
        )
        self.exclude_button.setEnabled(bool(count) and self._shown is not None and not busy)

    # --- excluding ----------------------------------------------------------------------------

    def exclude_ticked(self) -> None:
        """Ask, then exclude every ticked file in one edit (one Undo brings them back)."""
        paths = self.ticked()
        dataset = self._shown
        if not paths or dataset is None:
            return
        answer = QMessageBox.question(
            self,
            "Exclude the copies",
            exclude_question(dataset, paths),
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Ok:
            self.engine.edit_dataset("exclude", *paths)


def _is_ticked(item: QTreeWidgetItem) -> bool:
    return item.checkState(0) == Qt.CheckState.Checked


__all__ = ["CopiesDialog", "exclude_question", "pre_ticked"]
