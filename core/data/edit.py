"""Editing a dataset folder on disk without ever overwriting or losing a file, with undo.

Each operation (:func:`move_to_class`, :func:`exclude`, :func:`create_class`,
:func:`rename_class`, :func:`copy_in`) checks first, then acts, and returns an :class:`Edit`
that :func:`undo` reverses. Every operation and every undo is made of the steps of
:mod:`core.data.safe_moves`, whose rules hold for all of them: an existing file is never
replaced (a clashing name becomes ``name-2.ext``, ``name-3.ext``… for moves and copies; an undo
whose original place is taken refuses), on any failure the disk is as it was, and failures are
:class:`EditError` naming the file and the reason.

Paths in an :class:`Edit` are relative to the dataset root with ``/`` separators, as in
:class:`core.data.dataset.LoadedDataset`. Excluded files go to ``_excluded/<their relative
path>`` inside the root, a folder the scanner ignores (:mod:`core.data.scan`).

A dataset split into train/valid/test folders (:mod:`core.data.layout`) is edited through
``parts``, the names of its part folders with the training folder first: a class is then a
folder inside any part (``train/cat``, ``valid/cat``); a moved file stays in its part
(``valid/cat/1.png`` → ``valid/dog/1.png``, making ``valid/dog/`` when it is missing); an
excluded one keeps its part below ``_excluded/``; a new class and copied-in files go into the
training folder; a rename renames the class folder in every part, all or nothing. Nothing here
imports Qt or TensorFlow; it runs on whatever thread calls it (the engine thread in the GUI).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.data.safe_moves import (
    EditError,
    made_folders,
    move_files,
    place_free,
    reason_of,
    remove_empty,
    rename_folders,
    same_content,
)
from core.data.scan import junk_reason

#: Folder inside a dataset root that holds excluded files (ignored by the scanner).
EXCLUDED = "_excluded"


@dataclass(frozen=True)
class Edit:
    """One change made to a dataset folder, as plain data; :func:`undo` reverses it.

    ``kind``: "move", "exclude", "create", "remove", "rename", "copy" or "capture"
    (:mod:`core.data.capture`: ``copies`` then holds (SHA-256, new relative path) of each
    picture written, and its undo record's ``moves`` where they went). ``moves``: (from, to)
    relative
    paths of files (or, for "rename", of the class folders: one pair per part of a split
    dataset). ``copies``: (outside file, new relative path) for "copy". ``folders``: folders
    this edit created (undo removes them while empty, so an undone exclude leaves no empty
    ``_excluded`` behind), or removed ("remove"). ``classes``: the class created or removed,
    or the old and the new name ("rename"). ``description``: what happened, in words.
    """

    kind: str
    root: Path
    moves: tuple[tuple[str, str], ...] = ()
    copies: tuple[tuple[str, str], ...] = ()
    folders: tuple[str, ...] = ()
    description: str = ""
    classes: tuple[str, ...] = field(default=())
    #: True for the record :func:`undo` returns: it says what undoing did (files removed
    #: again for "copy", the class removed for "create"; moves list the way back).
    reverted: bool = False
    #: The capture session a "capture" edit belongs to (:mod:`core.data.capture`): the undo
    #: history joins the edits of one session into one step. Not kept in the journal.
    group: str = ""


# --- checks and names --------------------------------------------------------------------


def check_class_name(name: str) -> str:
    """``name`` if it can be a class folder's name, else :class:`EditError` saying why."""
    stripped = name.strip()
    if not stripped:
        raise EditError("a class needs a name")
    if stripped != name:
        raise EditError(f"class name {name!r} starts or ends with spaces")
    if any(c in name for c in '/\\:*?"<>|') or any(ord(c) < 32 for c in name):
        raise EditError(f"class name {name!r} contains a character folders cannot have")
    if name in (".", "..") or name.lower() == EXCLUDED or junk_reason(name, True):
        raise EditError(f"class name {name!r} is reserved or would be ignored by the scanner")
    return name


def _parts(relpath: str, parts: Sequence[str] = ()) -> tuple[str, str, str]:
    """(part prefix, class folder, rest) of a relative path: the prefix is ``"valid/"`` for a
    split dataset (``parts`` given), ``""`` otherwise. :class:`EditError` for a path outside a
    class."""
    if "\\" in relpath or relpath.startswith("/") or ".." in relpath.split("/"):
        raise EditError(f"{relpath}: not a path inside the dataset folder")
    prefix = ""
    if parts:
        part, sep, relpath_in = relpath.partition("/")
        if not sep or part not in parts:
            raise EditError(f"{relpath}: not a file inside {' or '.join(parts)}")
        prefix, relpath = part + "/", relpath_in
    head, sep, rest = relpath.partition("/")
    if not sep or not rest or not head:
        raise EditError(f"{prefix}{relpath}: not a file inside a class folder")
    return prefix, head, rest


# --- operations ----------------------------------------------------------------------------


def _root(root: Path | str) -> Path:
    path = Path(root).resolve()
    if not path.is_dir():
        raise EditError(f"{root}: the dataset folder is no longer there")
    return path


def _class_folder(root: Path, name: str) -> Path:
    folder = root / check_class_name(name)
    if not folder.is_dir():
        raise EditError(f"{folder}: no such class folder")
    return folder


def _class_folders(root: Path, name: str, parts: Sequence[str]) -> list[str]:
    """The folders (relative to ``root``) of class ``name``: one per part of a split dataset
    that has it, else just ``name``. :class:`EditError` when there is none."""
    if not parts:
        _class_folder(root, name)
        return [name]
    check_class_name(name)
    found = [f"{part}/{name}" for part in parts if (root / part / name).is_dir()]
    if not found:
        raise EditError(f"{root}: no class folder {name} in {' or '.join(parts)}")
    return found


def _taken_class(
    root: Path, name: str, parts: Sequence[str], renaming: str | None = None
) -> Path | None:
    """The folder that makes ``name`` an existing class (in any part), or None. ``renaming``:
    the class being renamed to ``name``; its own folder, met under the new name on a
    case-insensitive disk ("Cat" -> "cat"), does not count."""
    for folder in [root / part / name for part in parts] or [root / name]:
        if not os.path.lexists(folder):
            continue
        own = folder.parent / renaming if renaming not in (None, name) else None
        if own is not None and own.is_dir() and folder.is_dir() and own.samefile(folder):
            continue
        return folder
    return None


def move_to_class(
    root: Path | str, relpath: str, class_name: str, *, parts: Sequence[str] = ()
) -> Edit:
    """Move the file ``relpath`` into class ``class_name``'s folder (same name, or
    ``name-2.ext`` when taken); subfolders below the class folder are kept, and so is the
    part of a split dataset (``parts``: its part folders)."""
    base = _root(root)
    prefix, head, rest = _parts(relpath, parts)
    _class_folders(base, class_name, parts)
    if head == class_name:
        raise EditError(f"{relpath} is in class '{class_name}' already")
    target = f"{prefix}{class_name}/{rest}"
    (moved,), made = move_files(base, [(relpath, target)], exact=False)
    return Edit(
        "move",
        base,
        (moved,),
        folders=tuple(made),
        description=f"Moved {moved[0]} to {moved[1]} inside {base}",
    )


def exclude(root: Path | str, *relpaths: str, parts: Sequence[str] = ()) -> Edit:
    """Move the files ``relpaths`` (one or more) to ``_excluded/<relpath>`` inside the root
    (the scanner ignores that folder; a taken name becomes ``name-2.ext``), as one edit that
    one undo reverses: the extra copies of a picture go together. All or nothing. ``parts``:
    the part folders of a split dataset."""
    base = _root(root)
    if not relpaths:
        raise EditError("no file to exclude")
    if len(set(relpaths)) != len(relpaths):
        raise EditError("a file to exclude is named twice")
    for relpath in relpaths:
        _parts(relpath, parts)
    moved, made = move_files(base, [(p, f"{EXCLUDED}/{p}") for p in relpaths], exact=False)
    if len(moved) == 1:
        what = f"{moved[0][0]} to {moved[0][1]}"
    else:
        what = f"{len(moved)} files to {EXCLUDED}/ ({_some(source for source, _ in moved)})"
    return Edit(
        "exclude",
        base,
        tuple(moved),
        folders=tuple(made),
        description=f"Moved {what} inside {base}",
    )


def _some(items: Iterable[str], sep: str = ", ", shown: int = 5) -> str:
    """The first ``shown`` of ``items`` joined by ``sep``, and how many more ("and 7 more")."""
    items = list(items)
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return sep.join(items[:shown]) + more


def create_class(root: Path | str, class_name: str, *, parts: Sequence[str] = ()) -> Edit:
    """Create an empty class folder ``class_name`` (in the training folder ``parts[0]`` of a
    split dataset); refuses a name that is a class already."""
    base = _root(root)
    check_class_name(class_name)
    taken = _taken_class(base, class_name, parts)
    if taken is not None:
        raise EditError(f"{taken} exists already")
    relpath = f"{parts[0]}/{class_name}" if parts else class_name
    folder = base / relpath
    try:
        folder.mkdir()
    except FileExistsError:
        raise EditError(f"{folder} exists already") from None
    except OSError as exc:
        raise EditError(f"cannot create folder {folder}: {reason_of(exc)}") from None
    return Edit(
        "create",
        base,
        folders=(relpath,),
        classes=(class_name,),
        description=f"Created class folder {relpath} inside {base}",
    )


def remove_class(root: Path | str, class_name: str, *, parts: Sequence[str] = ()) -> Edit:
    """Remove the folders of class ``class_name`` (one per part of a split dataset) when they
    are all empty; a folder that holds anything (a hidden file too) refuses, and nothing is
    removed. Files are never deleted: move or exclude them first."""
    base = _root(root)
    folders = _class_folders(base, class_name, parts)
    for folder in folders:
        try:
            inside = sorted(entry.name for entry in os.scandir(base / folder))
        except OSError as exc:
            raise EditError(f"cannot look inside {base / folder}: {reason_of(exc)}") from None
        if inside:
            shown = ", ".join(inside[:3]) + (" …" if len(inside) > 3 else "")
            raise EditError(
                f"{base / folder} is not empty ({shown}); only an empty class can be removed, "
                "and nothing was removed"
            )
    removed: list[str] = []
    try:
        for folder in folders:
            try:
                (base / folder).rmdir()
            except OSError as exc:
                raise EditError(f"cannot remove {base / folder}: {reason_of(exc)}") from None
            removed.append(folder)
    except BaseException:
        for folder in reversed(removed):
            with contextlib.suppress(OSError):
                (base / folder).mkdir()
        raise
    return Edit(
        "remove",
        base,
        folders=tuple(folders),
        classes=(class_name,),
        description=f"Removed the empty class folder(s) {', '.join(folders)} inside {base}",
    )


def rename_class(root: Path | str, old: str, new: str, *, parts: Sequence[str] = ()) -> Edit:
    """Rename class ``old`` to ``new`` (its folder in every part of a split dataset, all or
    nothing); refuses a name that is a class already."""
    base = _root(root)
    sources = _class_folders(base, old, parts)
    check_class_name(new)
    pairs = [(source, f"{source.rpartition('/')[0]}/{new}".lstrip("/")) for source in sources]
    taken = _taken_class(base, new, parts, renaming=old)
    if taken is not None:
        raise EditError(f"{taken} exists already; nothing was renamed")
    rename_folders(base, pairs)
    return Edit(
        "rename",
        base,
        tuple(pairs),
        classes=(old, new),
        description=f"Renamed class {old} to {new} inside {base}",
    )


def copy_in(
    root: Path | str, class_name: str, files: Iterable[Path | str], *, parts: Sequence[str] = ()
) -> Edit:
    """Copy image files from anywhere into class ``class_name`` (into the training folder
    ``parts[0]`` of a split dataset, made when that part has no folder for the class); a taken
    name becomes ``name-2.ext``. All or nothing: on a failure the copies made so far are
    removed."""
    base = _root(root)
    _class_folders(base, class_name, parts)
    relfolder = f"{parts[0]}/{class_name}" if parts else class_name
    copies: list[tuple[str, str]] = []
    with made_folders(base, base / relfolder) as made:
        try:
            for file in files:
                source = Path(file)
                name = place_free(source, base / relfolder, source.name, keep_source=True)
                copies.append((str(source), f"{relfolder}/{name}"))
        except BaseException:
            for _, relpath in copies:
                with contextlib.suppress(OSError):
                    (base / relpath).unlink()
            raise
    return Edit(
        "copy",
        base,
        copies=tuple(copies),
        folders=tuple(made),
        description=f"Copied {len(copies)} file(s) into {relfolder} inside {base}",
    )


def undo(edit: Edit) -> Edit:
    """Reverse ``edit`` on disk, refusing to overwrite anything (a file now at an original
    place, a class folder no longer empty); returns the edit that undid it."""
    base = edit.root
    if edit.kind in ("move", "exclude"):
        pairs = [(to, frm) for frm, to in reversed(edit.moves)]
        moved, made = move_files(base, pairs, exact=True)
        remove_empty(base, edit.folders)
        return Edit(
            edit.kind,
            base,
            tuple(moved),
            folders=tuple(made),
            description=f"Undone: {_some((f'{a} back to {b}' for a, b in moved), '; ')}",
            reverted=True,
        )
    if edit.kind == "rename":
        back = [(new, old) for old, new in reversed(edit.moves)]
        rename_folders(base, back)
        old, new = edit.classes or (edit.moves[0][0], edit.moves[0][1])
        return Edit(
            "rename",
            base,
            tuple(back),
            classes=(new, old),
            description=f"Undone: renamed {new} back to {old}",
            reverted=True,
        )
    if edit.kind == "remove":
        made: list[str] = []
        for folder in edit.folders:
            try:
                (base / folder).mkdir()
            except OSError as exc:
                for done in reversed(made):
                    with contextlib.suppress(OSError):
                        (base / done).rmdir()
                why = "it exists again" if isinstance(exc, FileExistsError) else reason_of(exc)
                raise EditError(f"cannot make {base / folder} again: {why}") from None
            made.append(folder)
        return Edit(
            "remove",
            base,
            folders=edit.folders,
            classes=edit.classes,
            description=f"Undone: made {', '.join(edit.folders)} again",
            reverted=True,
        )
    if edit.kind == "create":
        for folder in edit.folders:
            path = base / folder
            try:
                path.rmdir()
            except FileNotFoundError:
                continue
            except OSError as exc:
                why = "it holds files now" if exc.errno in (errno.ENOTEMPTY, errno.EEXIST) else ""
                raise EditError(f"cannot remove {path}: {why or reason_of(exc)}") from None
        return Edit(
            "create",
            base,
            classes=edit.classes,
            description=f"Undone: removed {', '.join(edit.folders)}",
            reverted=True,
        )
    if edit.kind == "copy":
        for source, relpath in edit.copies:
            target = base / relpath
            if not os.path.lexists(target):
                continue
            if not Path(source).exists():
                raise EditError(f"{source} is gone, so {target} is its only copy now; it was kept")
            if not same_content(Path(source), target):
                raise EditError(f"{target} was changed after it was copied in; it was kept")
        for _, relpath in edit.copies:
            with contextlib.suppress(FileNotFoundError):
                (base / relpath).unlink()
        remove_empty(base, edit.folders)
        return Edit(
            "copy",
            base,
            copies=edit.copies,
            description=f"Undone: removed the {len(edit.copies)} copied file(s)",
            reverted=True,
        )
    raise EditError(f"cannot undo an edit of kind {edit.kind!r}")


__all__ = [
    "EXCLUDED",
    "Edit",
    "EditError",
    "check_class_name",
    "copy_in",
    "create_class",
    "exclude",
    "move_to_class",
    "remove_class",
    "rename_class",
    "undo",
]
