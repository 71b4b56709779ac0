"""Finding the files the app ships (icon, pretrained weights), from source and when frozen."""

from __future__ import annotations

import sys
from pathlib import Path

#: ImageNet weights of MobileNetV2 alpha 0.35 without its top (see assets/pretrained/NOTICE.md).
MOBILENET_V2_WEIGHTS = "pretrained/mobilenet_v2_0.35_imagenet_no_top.weights.h5"
#: ImageNet weights of EfficientNet-Lite0 without its classifier, float16 arrays named as in the
#: PyTorch port (see assets/pretrained/NOTICE.md and core/nets/efficientnet_lite.py).
EFFICIENTNET_LITE0_WEIGHTS = "pretrained/efficientnet_lite0_imagenet_no_top.npz"


def assets_dir() -> Path:
    """The ``assets`` folder: beside the packages from source, in the bundle when frozen."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "assets"
    return Path(__file__).resolve().parents[1] / "assets"


def asset_path(name: str) -> Path | None:
    """Path of a shipped file, or None when it is missing."""
    path = assets_dir() / name
    return path if path.is_file() else None
