"""Finding shipped files (the icon) from source and from a frozen (PyInstaller) build."""

from core.assets import asset_path, assets_dir

__all__ = ["asset_path", "assets_dir"]
