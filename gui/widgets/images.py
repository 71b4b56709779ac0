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


def preview(array: np.ndarray, size: int) -> QPixmap:
    """An image at most ``size`` px on its longer side, as a person wants to see it.

    Small images (a 28 px digit) are enlarged in whole-pixel steps without smoothing, so they
    stay sharp instead of showing as a speck or a blur; large ones are shrunk smoothly.
    """
    pixmap = QPixmap.fromImage(array_to_qimage(array))
    longest = max(pixmap.width(), pixmap.height(), 1)
    if longest > size:
        return pixmap.scaled(
            size,
            size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    factor = size // longest
    if factor < 2:
        return pixmap
    return pixmap.scaled(
        pixmap.width() * factor,
        pixmap.height() * factor,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.FastTransformation,
    )


def array_icon(array: np.ndarray, size: int) -> QIcon:
    """An icon showing exactly what the model sees, scaled up without smoothing."""
    pixmap = QPixmap.fromImage(array_to_qimage(array)).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )
    return QIcon(pixmap)
