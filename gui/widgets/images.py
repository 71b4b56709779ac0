"""Turning engine arrays and image files into Qt images (GUI thread only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QImageReader, QPixmap

#: Files whose header claims more pixels than this are not previewed (decompression bombs).
MAX_PREVIEW_PIXELS = 64_000_000


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


def file_thumbnail(path: Path | str, size: int) -> QPixmap | None:
    """A thumbnail of an image file, or None when Qt cannot (or should not) read it."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    full = reader.size()
    if not full.isValid() or full.width() * full.height() > MAX_PREVIEW_PIXELS:
        return None
    reader.setScaledSize(full.scaled(QSize(size, size), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return None if image.isNull() else QPixmap.fromImage(image)
