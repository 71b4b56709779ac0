"""Finding shipped files (the icon) from source and from a frozen (PyInstaller) build."""

from __future__ import annotations

import sys
from pathlib import Path


def assets_dir() -> Path:
    """The ``assets`` folder: beside the packages from source, in the bundle when frozen."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "assets"
    return Path(__file__).resolve().parents[1] / "assets"


def asset_path(name: str) -> Path | None:
    """Path of a shipped file, or None when it is missing (the app then goes without it)."""
    path = assets_dir() / name
    return path if path.is_file() else None
