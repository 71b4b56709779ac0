"""Turning engine arrays into Qt images (GUI thread only)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QImage, QPixmap


def array_to_qimage(array: np.ndarray) -> QImage:
    """A copy of a uint8 (H, W, 1|3) array as a QImage."""
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    channels = array.shape[2] if array.ndim == 3 else 1
    fmt = QImage.Format.Format_RGB888 if channels == 3 else QImage.Format.Format_Grayscale8
    image = QImage(array.data, width, height, width * channels, fmt)
    return image.copy()


def array_icon(array: np.ndarray, size: int) -> QIcon:
    """An icon showing exactly what the model sees, scaled up without smoothing."""
    pixmap = QPixmap.fromImage(array_to_qimage(array)).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )
    return QIcon(pixmap)
