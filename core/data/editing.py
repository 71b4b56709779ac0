"""Editing the loaded dataset's folder: applying an edit on disk and to the loaded dataset
(without a rescan), undoing the latest, and the bounded undo stack, kept across restarts in
the folder's journal (:mod:`core.data.journal`).

The session (:mod:`core.session`) owns one :class:`EditHistory` and publishes the dataset it
returns; call it on the session's thread. The edits themselves are :mod:`core.data.edit`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.data.capture import add_captured, joined, redo_capture, undo_capture
from core.data.dataset import LoadedDataset
from core.data.edit import (
    Edit,
    EditError,
    copy_in,
    create_class,
    exclude,
    move_to_class,
    remove_class,
    rename_class,
    undo,
)
from core.data.journal import load_journal, save_journal
from core.data.scan import folder_layout
from core.data.update import apply_edit

#: The edits of a dataset folder :meth:`core.session.Session.edit` offers (core.data.edit).
EDIT_OPERATIONS: dict[str, Callable[..., Edit]] = {
    "move_to_class": move_to_class,
    "exclude": exclude,
    "create_class": create_class,
    "rename_class": rename_class,
    "remove_class": remove_class,
    "copy_in": copy_in,
    "add_captured": add_captured,
}
#: The kinds of edit that Redo can make again after an undo.
_REDOABLE = ("capture", "move", "exclude", "rename")
#: Edits kept for undo.
MAX_UNDO = 100


class EditHistory:
    """The edits of the loaded folder, latest last (the undo stack), and how many edits and
    undos were made since it was loaded. With ``keep``, the stack is read from the folder's
    journal when the folder is loaded and written back after every edit and undo."""

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self.root: Path | None = None  # the folder whose history this is
        self.edits: list[Edit] = []
        self.undone: list[Edit] = []  # the redo stack: records of undone edits, latest last
        self.count = 0

    @property
    def undo_description(self) -> str | None:
        """What Undo would reverse, in words (None when nothing can be undone)."""
        return self.edits[-1].description if self.edits else None

    def follow(self, root: Path) -> bool:
        """Be the history of the folder ``root`` (loaded, or loaded again): True when it is
        another folder than before, whose own history then replaces the last one's (the part
        of it kept across restarts that can still be undone; none without ``keep``), with no
        edits yet; False when it is the same folder, whose history goes on."""
        if self.root is not None and self.root.resolve() == Path(root).resolve():
            return False
        self.root = Path(root)
        self.edits = load_journal(root) if self.keep else []
        self.undone = []
        self.count = 0
        return True

    def apply(self, data: LoadedDataset, operation: str, *args: Any) -> tuple[Edit, LoadedDataset]:
        """Make the edit ``operation`` (one of :data:`EDIT_OPERATIONS`, ``args`` its arguments
        after the root) in ``data``'s folder and push it: (the edit, the updated dataset). The
        pictures of one capture session (the same ``group``) join one edit, which is returned.

        Raises :class:`~core.data.edit.EditError` with the disk and ``data`` unchanged,
        also when the edit would make the folder read as another kind of folder.
        """
        if operation not in EDIT_OPERATIONS:
            raise EditError(f"unknown edit {operation!r}")
        parts = tuple(folder for _, folder in data.layout.folders) if data.layout else ()
        edit = EDIT_OPERATIONS[operation](data.root, *args, parts=parts)
        try:
            if folder_layout(data.root) != data.layout:
                what = edit.description.rpartition(" inside ")[0] or edit.description
                raise EditError(
                    f"This change ({what}) would make {data.root} read as another kind of "
                    "folder (a class folder named 'train' that holds folders turns the classes "
                    "into train/valid/test parts), so it was taken back; nothing was changed"
                )
            updated = apply_edit(data, edit)
        except BaseException:
            undo(edit)
            raise
        last = self.edits[-1] if self.edits else None
        if edit.group and last is not None and last.group == edit.group and not self.undone:
            self.edits[-1] = joined(last, edit)  # one capture session, one undo step
        else:
            self.edits.append(edit)
        self.undone.clear()
        del self.edits[:-MAX_UNDO]
        self.count += 1
        self._save(data.root)
        return self.edits[-1], updated  # a capture joined to its session: the whole step

    def undo(self, data: LoadedDataset) -> tuple[Edit, LoadedDataset]:
        """Reverse the latest edit, disk first, then ``data``: (what undoing did, the updated
        dataset). Raises :class:`~core.data.edit.EditError` when there is nothing to undo or
        the way back is blocked (the edit stays undoable)."""
        if not self.edits:
            raise EditError("nothing to undo")
        latest = self.edits[-1]
        reverted = undo_capture(latest) if latest.kind == "capture" else undo(latest)
        self.edits.pop()
        if latest.kind in _REDOABLE:
            self.undone.append(reverted)
        self.count += 1
        self._save(data.root)
        return reverted, apply_edit(data, reverted)

    @property
    def redo_description(self) -> str | None:
        """What Redo would make again, in words (None when nothing can be redone)."""
        return self.undone[-1].description.removeprefix("Undone: ") if self.undone else None

    def redo(self, data: LoadedDataset) -> tuple[Edit, LoadedDataset]:
        """Make the latest undone edit again (a capture, a move, an exclude or a rename; disk
        first, then ``data``), exactly as it was, refusing where its place is taken now: (the
        edit made again, which Undo reverses, the updated dataset). Any new edit empties the
        redo stack. Raises :class:`~core.data.edit.EditError` when there is nothing to redo."""
        if not self.undone:
            raise EditError("nothing to redo")
        record = self.undone[-1]
        if record.kind == "capture":
            again = redo_capture(record)
        else:  # the way back of an undone move or rename, taken back, is the edit itself
            again = replace(undo(record), reverted=False)
            again = replace(again, description="Redone: " + record.description[8:])
        self.undone.pop()
        self.edits.append(again)
        self.count += 1
        self._save(data.root)
        return again, apply_edit(data, again)

    def _save(self, root: Path) -> None:
        """Keep the undo stack of the folder ``root`` for the next time it is opened."""
        if self.keep:
            save_journal(root, self.edits)
