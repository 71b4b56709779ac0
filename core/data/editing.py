"""Editing the loaded dataset's folder: applying an edit on disk and to the loaded dataset
(without a rescan), undoing the latest, and the bounded undo stack, kept across restarts in
the folder's journal (:mod:`core.data.journal`).

The session (:mod:`core.session`) owns one :class:`EditHistory` and publishes the dataset it
returns; call it on the session's thread. The edits themselves are :mod:`core.data.edit`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

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
}
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
        self.count = 0
        return True

    def apply(self, data: LoadedDataset, operation: str, *args: Any) -> tuple[Edit, LoadedDataset]:
        """Make the edit ``operation`` (one of :data:`EDIT_OPERATIONS`, ``args`` its arguments
        after the root) in ``data``'s folder and push it: (the edit, the updated dataset).

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
        self.edits.append(edit)
        del self.edits[:-MAX_UNDO]
        self.count += 1
        self._save(data.root)
        return edit, updated

    def undo(self, data: LoadedDataset) -> tuple[Edit, LoadedDataset]:
        """Reverse the latest edit, disk first, then ``data``: (what undoing did, the updated
        dataset). Raises :class:`~core.data.edit.EditError` when there is nothing to undo or
        the way back is blocked (the edit stays undoable)."""
        if not self.edits:
            raise EditError("nothing to undo")
        reverted = undo(self.edits[-1])
        self.edits.pop()
        self.count += 1
        self._save(data.root)
        return reverted, apply_edit(data, reverted)

    def _save(self, root: Path) -> None:
        """Keep the undo stack of the folder ``root`` for the next time it is opened."""
        if self.keep:
            save_journal(root, self.edits)
