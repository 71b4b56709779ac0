"""Writing files so that a crash never leaves a half-written one, and checking a target first.

Everything the app saves (model files, exports, CSV results, caches) is written to a temporary
file in the target's folder, flushed to disk and renamed over the target. Until the rename the
previous file is untouched; after it the new file is complete.

Temporary files are named ``.NAME.XXXXXXXX.tmp`` (NAME shortened so the name always fits the
file system). A save that is killed leaves its temporary behind; the next save to the same
target removes such leftovers. While a save runs it holds a lock on its temporary file, so only
a dead save's leftovers are removed, never a running one's (where there are no locks, on
Windows, leftovers untouched for an hour are removed).

:func:`check_target` answers, before minutes of work, whether a target can be written at all.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from core.errors import SaveError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

#: Characters of the target's name kept in its temporary file's name.
TEMP_NAME_CHARS = 48
#: Without file locks, a leftover temporary untouched this long belongs to a dead save.
STALE_SECONDS = 3600
#: Name length most file systems allow (bytes), when the system cannot tell.
DEFAULT_NAME_MAX = 255


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_prefix(target: Path) -> str:
    return f".{target.name[:TEMP_NAME_CHARS]}."


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return DEFAULT_NAME_MAX


def nearest_folder(target: Path, folder: Path) -> Path:
    """``folder`` or its nearest ancestor that exists (where missing folders would be made for
    ``target``); :class:`SaveError` naming ``target`` when that is not a folder."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise SaveError(f"{target}: {existing} is not a folder")
    return existing


#: How far :func:`numbered_names` counts before giving up.
MAX_NUMBER = 10_000


def numbered_names(name: str) -> Iterator[str]:
    """``name``, then ``stem-2.ext``, ``stem-3.ext``… (the names tried when ``name`` is taken)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    yield name
    for n in range(2, MAX_NUMBER):
        yield f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}"


def unused_path(target: Path | str) -> Path:
    """``target``, or the first of ``stem-2.ext``, ``stem-3.ext``… beside it that nothing
    holds: the default name of a new file that must never replace one the user has."""
    target = Path(target)
    for name in numbered_names(target.name):
        candidate = target.with_name(name)
        if not os.path.lexists(candidate):
            return candidate
    raise SaveError(f"{target}: no free name like it in {target.parent}")


def check_target(target: Path | str) -> Path:
    """Return ``target`` if a file can be saved there; else raise :class:`SaveError` saying
    why, naming the target (a folder, a name too long, a folder that cannot be written)."""
    raw = str(target)
    target = Path(target)
    if not raw.strip() or target.name in ("", ".", ".."):
        raise SaveError(f"{raw or '(empty)'}: is a folder, not a file name; give a file name")
    folder = target.parent
    existing = nearest_folder(target, folder)
    length = len(os.fsencode(target.name))
    if length > _name_max(existing):
        raise SaveError(
            f"{target}: the file name is too long ({length} bytes; the limit here is "
            f"{_name_max(existing)})"
        )
    if target.is_dir():
        raise SaveError(f"{target}: is a folder, not a file name; give a file name")
    if target.exists() and not target.is_file():
        raise SaveError(f"{target}: exists and is not a regular file")
    if existing == folder:
        try:  # the real test: can a file be created here (permissions, read-only disk)?
            fd, probe = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=folder)
            os.close(fd)
            Path(probe).unlink()
        except OSError as exc:
            raise SaveError(f"{target}: cannot write in {folder} ({exc.strerror or exc})") from exc
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise SaveError(f"{target}: cannot create folders in {existing} (permission denied)")
    return target


def remove_stale_temporaries(target: Path, suffix: str = ".tmp") -> int:
    """Delete temporaries of earlier, killed saves to ``target``; returns how many."""
    pattern = re.compile(re.escape(_temp_prefix(target)) + r"[a-z0-9_]{8}" + re.escape(suffix))
    removed = 0
    try:
        candidates = [p for p in target.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return 0
    for path in candidates:
        with contextlib.suppress(OSError):
            if _abandoned(path):
                path.unlink()
                removed += 1
    return removed


def _abandoned(path: Path) -> bool:
    if not path.is_file() or path.is_symlink():
        return False
    if fcntl is None:
        return time.time() - path.stat().st_mtime > STALE_SECONDS
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by a running save: refused
    except OSError:
        return False
    finally:
        os.close(fd)  # also releases our lock
    return True


def give_normal_modes(root: Path) -> None:
    """Give the folder ``root`` and everything below it the modes new ones get from the umask:
    folders and executable files ``0o777 & ~umask`` (usually 755), other files
    ``0o666 & ~umask`` (usually 644). Symbolic links are left alone.

    Why: a folder built under a private temporary name (:func:`tempfile.mkdtemp` makes it 700)
    and renamed into place would otherwise stay readable by its owner only, unlike a folder
    the user makes, and converters may write their files as 600.
    """
    mask = _umask()
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        executable = path.is_dir() or path.stat().st_mode & 0o111
        path.chmod((0o777 if executable else 0o666) & ~mask)


@contextlib.contextmanager
def atomic_path(target: Path | str, suffix: str = ".tmp", durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target``.

    The caller writes the temporary file (by any means). When the ``with`` block ends without
    an exception, the file is synced (``durable``), given normal permissions and renamed over
    ``target``; on an exception it is deleted and ``target`` stays as it was. A failure to
    create, sync or rename raises :class:`SaveError` naming ``target`` (not the temporary).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target, suffix)
        fd, name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise SaveError(f"{target}: cannot write ({exc.strerror or exc})") from exc
    tmp = Path(name)
    if fcntl is None:  # Windows cannot rename a file that is still open
        os.close(fd)
        fd = -1
    try:
        if fd >= 0:
            fcntl.flock(fd, fcntl.LOCK_EX)  # marks it as in use until this save ends
        yield tmp
        if durable:
            with tmp.open("rb+") as handle:
                os.fsync(handle.fileno())
        tmp.chmod(0o666 & ~_umask())
        tmp.replace(target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, SaveError):
            raise SaveError(f"{target}: cannot write ({exc.strerror or exc})") from exc
        raise
    finally:
        if fd >= 0:
            os.close(fd)
