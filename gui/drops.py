"""Deciding what a drop on the window means, from its MIME data alone (no file is opened).

Every possible drop maps to a :class:`DropAction`: open a dataset folder, open a model,
classify image files, or a message saying why nothing happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QMimeData

from core.modelfile.bundle import SUFFIX as MODEL_SUFFIX

#: Dropped files larger than this are refused before reading.
MAX_DROPPED_FILE_BYTES = 256 * 1024 * 1024


@dataclass
class DropAction:
    """``kind`` is "dataset", "model", "images" or "message"."""

    kind: str
    paths: list[str] = field(default_factory=list)
    message: str = ""


def _describe(path: Path) -> str | None:
    """Why a dropped file cannot be classified, or None if it may be an image."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"{path.name}: cannot be read ({exc.strerror or exc})"
    if size == 0:
        return f"{path.name}: the file is empty (0 bytes)"
    if size > MAX_DROPPED_FILE_BYTES:
        return f"{path.name}: the file is too large ({size // 2**20} MB) to be an image here"
    return None


def route_drop(mime: QMimeData) -> DropAction:
    """Map dropped data to an action."""
    if not mime.hasUrls():
        if mime.hasText():
            return DropAction("message", message="Drop files or folders, not text.")
        return DropAction("message", message="Nothing usable was dropped.")
    urls = mime.urls()
    remote = [u.toString() for u in urls if not u.isLocalFile()]
    if remote:
        return DropAction(
            "message",
            message="CNN Studio works offline and does not download: save the image first, "
            f"then drop the file ({remote[0]}).",
        )
    paths = [Path(u.toLocalFile()) for u in urls]
    folders = [p for p in paths if p.is_dir()]
    if folders:
        if len(paths) > 1:
            return DropAction("message", message="Drop one dataset folder at a time.")
        return DropAction("dataset", [str(folders[0])])
    models = [p for p in paths if p.suffix.lower() == MODEL_SUFFIX]
    if models:
        if len(paths) > 1:
            return DropAction("message", message="Drop one model file at a time.")
        return DropAction("model", [str(models[0])])
    problems = [reason for p in paths if (reason := _describe(p))]
    usable = [str(p) for p in paths if _describe(p) is None]
    if not usable:
        return DropAction("message", message="; ".join(problems))
    return DropAction("images", usable, "; ".join(problems))
