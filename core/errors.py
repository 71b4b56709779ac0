"""The project's own exception types.

Every failure a user can cause (a bad file, a wrong folder, a broken model file) is raised as a
subclass of :class:`CnnStudioError` carrying a message a person can read; front ends print that
message instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path


class CnnStudioError(Exception):
    """Base class of every error the engine raises on purpose."""


class ImageError(CnnStudioError):
    """An image file could not be used; ``reason`` says why in plain words."""

    def __init__(self, reason: str, path: Path | str | None = None) -> None:
        self.reason = reason
        self.path = Path(path) if path is not None else None
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


class DatasetError(CnnStudioError):
    """A folder cannot be used as a dataset (no classes, missing folder, ...)."""


class ModelFileError(CnnStudioError):
    """A model file is unreadable, unsafe or inconsistent; nothing was loaded."""


class SaveError(CnnStudioError, OSError):
    """A file could not be written where asked (the message names the target and why). An
    OSError too, so code that shrugs off a failed cache write keeps doing so."""


class TrainingError(CnnStudioError):
    """Training could not run or stopped abnormally (for example it diverged)."""


class Cancelled(CnnStudioError):
    """Raised inside long work when its cancel token was set."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
