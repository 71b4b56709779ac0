"""Saving a trained model so that it is never lost: when its own target fails (a full disk, a
folder gone read-only during training), a copy goes to the recovery folder instead.

Runs on the session's thread; the saving itself is the caller's (the session's ``save``, which
publishes its state).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from core.data.demo import default_data_dir
from core.errors import SaveError
from core.modelfile.bundle import SUFFIX

#: Below the user data folder: where a trained model goes when its own target fails.
RECOVERY_FOLDER = "recovered models"


def recovery_path(path: Path | str) -> Path:
    """Where the recovery copy of a model meant for ``path`` goes: named after it, with the
    time, in :data:`RECOVERY_FOLDER` of the user data folder."""
    stem = Path(path).stem[:64] or "model"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return default_data_dir() / RECOVERY_FOLDER / f"{stem}-{stamp}{SUFFIX}"


def save_or_recover(
    save: Callable[[Path | str], Path], path: Path | str
) -> tuple[Path, str | None]:
    """``save(path)``; if that raises :class:`SaveError`, ``save`` to :func:`recovery_path`
    instead. Returns the path written and, when it is the recovery copy, why ``path`` failed;
    raises :class:`SaveError` naming both failures when the copy fails too."""
    try:
        return save(path), None
    except SaveError as exc:
        try:
            return save(recovery_path(path)), str(exc)
        except SaveError as second:
            raise SaveError(f"{exc}; the recovery copy failed too: {second}") from second
