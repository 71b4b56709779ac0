"""Moving, copying and renaming inside a dataset folder without ever replacing or losing a file.

The steps every edit of :mod:`core.data.edit` and every undo are made of, kept apart from the
operations so that these rules hold in one place:

- An existing file is never replaced. A file is moved by ``os.link`` (fails if the target
  exists, atomically) then ``os.unlink`` of the source; where hard links are not possible
  (another device, a file system without them) it is copied into a file opened with
  ``O_EXCL`` and only then is the source removed. A clashing name becomes ``name-2.ext``,
  ``name-3.ext``… for moves and copies; an undo whose original place is taken refuses.
- On any failure the disk is as it was: a half-done step is rolled back (the new link or copy
  removed, folders this step created removed while empty) before the error is raised.
- Failures are :class:`EditError` naming the file and the reason (a file that vanished in
  between, a folder that cannot be written).

Folders are renamed with ``os.rename`` after checking the target does not exist: POSIX
``rename`` cannot replace a folder that holds anything, so a race with another program can at
worst swap in an empty folder — nothing is lost. Paths are relative to the dataset root with
``/`` separators. Nothing here imports Qt or TensorFlow.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from core.atomic import numbered_names, unused_path
from core.errors import CnnStudioError, SaveError

#: Errors of ``os.link`` after which a copy is tried instead (no hard links possible there).
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}
if hasattr(errno, "EOPNOTSUPP"):
    _NO_LINK.add(errno.EOPNOTSUPP)


class EditError(CnnStudioError):
    """An edit of the dataset folder could not be made; the disk was left unchanged."""


def free_name(folder: Path, name: str) -> str:
    """``name``, or ``stem-2.ext``, ``stem-3.ext``… — the first not taken in ``folder``
    (a hint only: the move itself still refuses to replace a file that appears meanwhile)."""
    try:
        return unused_path(folder / name).name
    except SaveError:
        raise EditError(f"{folder}: no free name for {name}") from None


def reason_of(exc: OSError) -> str:
    """Why an operating-system call failed, in words for a message."""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (the folder is read-only)"
    return exc.strerror or str(exc)


# --- the one safe step: a file to a new name -----------------------------------------------


@contextlib.contextmanager
def made_folders(root: Path, folder: Path) -> Iterator[list[str]]:
    """Create ``folder`` (and missing parents) under ``root``; yield the relative paths made.
    When the block fails, remove them again (they are empty: nothing was put in them)."""
    made: list[Path] = []
    missing = []
    current = folder
    while not current.exists() and current != root:
        missing.append(current)
        current = current.parent
    try:
        for path in reversed(missing):
            try:
                path.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise EditError(f"cannot create folder {path}: {reason_of(exc)}") from None
            made.append(path)
        yield [p.relative_to(root).as_posix() for p in made]
    except BaseException:
        for path in reversed(made):
            with contextlib.suppress(OSError):
                path.rmdir()
        raise


def _place(source: Path, target: Path, keep_source: bool) -> None:
    """Put ``source``'s file at ``target`` (which must not exist), then remove ``source``
    unless ``keep_source``. Raises FileExistsError when ``target`` exists (nothing changed),
    :class:`EditError` for any other failure (nothing changed)."""
    if not source.is_file():
        raise EditError(
            f"{source}: the file is no longer there (moved or deleted by another program); "
            "nothing was changed"
        )
    linked = False
    if not keep_source:
        try:
            os.link(source, target, follow_symlinks=False)
            linked = True
        except FileExistsError:
            raise
        except FileNotFoundError:
            if not source.exists():
                raise EditError(
                    f"{source}: the file vanished while it was moved; nothing was changed"
                ) from None
            raise EditError(f"cannot write in {target.parent}: folder not found") from None
        except OSError as exc:
            if exc.errno not in _NO_LINK or (exc.errno == errno.EPERM and _read_only(target)):
                raise EditError(f"cannot write in {target.parent}: {reason_of(exc)}") from None
    if not linked:
        _copy_exclusive(source, target)
    if keep_source:
        return
    try:
        source.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            target.unlink()  # roll back: the source stays where it was
        raise EditError(f"cannot remove {source} from its folder: {reason_of(exc)}") from None


def _read_only(target: Path) -> bool:
    return not os.access(target.parent, os.W_OK)


def _copy_exclusive(source: Path, target: Path) -> None:
    """Copy ``source`` into a new file ``target`` (O_EXCL: never an existing one), with its
    times; a failed copy is removed. FileExistsError when ``target`` exists."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0))
    except FileExistsError:
        raise
    except OSError as exc:
        raise EditError(f"cannot write in {target.parent}: {reason_of(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(source, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            target.unlink()
        if isinstance(exc, FileNotFoundError):
            raise EditError(f"{source}: the file vanished while it was copied") from None
        if isinstance(exc, OSError):
            raise EditError(f"cannot copy {source} to {target}: {reason_of(exc)}") from None
        raise


def place_free(source: Path, folder: Path, name: str, keep_source: bool) -> str:
    """Place ``source`` in ``folder`` under ``name`` or the first free ``name-N``; the name."""
    for candidate in numbered_names(name):
        try:
            _place(source, folder / candidate, keep_source)
        except FileExistsError:
            continue
        return candidate
    raise EditError(f"{folder}: no free name for {name}")


def move_files(
    root: Path, pairs: Iterable[tuple[str, str]], exact: bool
) -> tuple[list[tuple[str, str]], list[str]]:
    """Move each (from, to) file under ``root``; ``exact``: refuse a taken target instead of
    choosing a new name. All or nothing: a failure moves the earlier ones back. Returns the
    moves made and the folders created for them."""
    done: list[tuple[str, str]] = []
    created: list[str] = []
    try:
        for source, target in pairs:
            target_path = root / target
            with made_folders(root, target_path.parent) as made:
                if exact:
                    try:
                        _place(root / source, target_path, keep_source=False)
                    except FileExistsError:
                        raise EditError(
                            f"{target_path} exists already; it was not replaced and nothing "
                            "was changed"
                        ) from None
                    placed = target
                else:
                    name = place_free(root / source, target_path.parent, target_path.name, False)
                    placed = str(Path(target).parent.as_posix() + "/" + name)
            done.append((source, placed))
            created += made
    except BaseException:
        for source, placed in reversed(done):
            with contextlib.suppress(OSError, EditError):
                _place(root / placed, root / source, keep_source=False)
        remove_empty(root, created)
        raise
    return done, created


def remove_empty(root: Path, folders: Iterable[str]) -> None:
    """Remove folders that an edit created, deepest first, where they are still empty."""
    for folder in sorted(folders, key=lambda f: f.count("/"), reverse=True):
        with contextlib.suppress(OSError):
            (root / folder).rmdir()


# --- folders renamed, files compared ------------------------------------------------------


def rename_folders(base: Path, pairs: Sequence[tuple[str, str]]) -> None:
    """Rename each (from, to) folder; all or nothing (a failure renames the earlier back)."""
    done: list[tuple[str, str]] = []
    try:
        for source, target in pairs:
            _rename_folder(base, source, target)
            done.append((source, target))
    except BaseException:
        for source, target in reversed(done):
            with contextlib.suppress(OSError, EditError):
                _rename_folder(base, target, source)
        raise


def _rename_folder(base: Path, old: str, new: str) -> None:
    source = base / old
    target = base / new
    if not source.is_dir():
        raise EditError(f"{source}: no such class folder")
    # On a case-insensitive disk "Cat" -> "cat" names the folder itself: allowed.
    if os.path.lexists(target) and (
        not (target.is_dir() and source.samefile(target)) or old == new
    ):
        raise EditError(f"{target} exists already; nothing was renamed")
    try:
        source.rename(target)
    except OSError as exc:
        raise EditError(f"cannot rename {source} to {target.name}: {reason_of(exc)}") from None


def same_content(a: Path, b: Path) -> bool:
    """Whether two files hold the same bytes (False when either cannot be read)."""
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False
