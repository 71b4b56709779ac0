"""Writing files so that a crash never leaves a half-written one.

Everything the app saves (model files, exports, CSV results, caches) is written to a temporary
file in the target's folder, flushed to disk and renamed over the target. Until the rename the
previous file is untouched; after it the new file is complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: Path | str, suffix: str = ".tmp", durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target``.

    The caller writes the temporary file (by any means). When the ``with`` block ends without
    an exception, the file is synced (``durable``), given normal permissions and renamed over
    ``target``; on an exception it is deleted and ``target`` stays as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            with tmp.open("rb+") as handle:
                os.fsync(handle.fileno())
        tmp.chmod(0o666 & ~_umask())
        tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
