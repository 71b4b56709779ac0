"""Opening files that someone else chose: regular files only, and never more than a cap.

Every file the app reads on a user's (or a model file's) say goes through here. The size a
file system reports cannot be trusted (``/dev/zero`` reports 0 and never ends) and opening a
named pipe for reading waits for a writer for ever, so a file is opened without blocking,
checked to be a regular file on the open descriptor (no race with a swap after a check by
name), and read with a hard cap. Needs only the standard library.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

#: Bytes read at a time from a file that turns out larger than it said.
CHUNK = 1 << 20


class FileRefused(OSError):
    """A file that is not read, with the reason in plain words (``strerror``)."""

    def __init__(self, reason: str, path: Path | str) -> None:
        super().__init__(0, reason, str(path))
        self.reason = reason


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: Path | str, limit: int) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file of at most ``limit`` bytes.

    Raises :class:`FileRefused` (an :class:`OSError`) naming why not; other OSErrors (missing,
    no permission) pass through. Never blocks on a pipe or device.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{_kind(info.st_mode)}, not an ordinary file: not read", path)
        if info.st_size > limit:
            raise FileRefused(f"file is over the {_limit_words(limit)} size limit", path)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(path: Path | str, limit: int) -> bytes:
    """The whole of the regular file ``path``, refused (:class:`FileRefused`) when it is not
    a regular file or holds more than ``limit`` bytes (even if it grows while being read)."""
    with open_regular(path, limit) as handle:
        expected = os.fstat(handle.fileno()).st_size
        parts = [_read(handle, expected + 1, path)]  # what the file holds, not the cap
        total = len(parts[0])
        while len(parts[-1]) and total <= limit and total > expected:  # it grew: go on, capped
            parts.append(_read(handle, min(CHUNK, limit + 1 - total), path))
            total += len(parts[-1])
    if total > limit:
        raise FileRefused(f"file is over the {_limit_words(limit)} size limit", path)
    return b"".join(parts)


def _read(handle: BinaryIO, size: int, path: Path | str) -> bytes:
    """One non-blocking read; None means "no data yet", which an ordinary file never says
    (``/proc/kmsg`` does): refused rather than waited for."""
    data = handle.read(size)
    if data is None:
        raise FileRefused("no data to read (not an ordinary file)", path)
    return data


def _limit_words(limit: int) -> str:
    if limit >= 2**30:
        return f"{limit / 2**30:g} GB"
    if limit >= 2**20:
        return f"{limit / 2**20:g} MB"
    return f"{limit:,} bytes"
