"""The camera's picture: the latest frame, scaled to fit, mirrored like a mirror by default
(what people expect of a front camera; what is saved is not mirrored unless asked), or the
source's message (no camera, busy, lost…) in its place. GUI thread only.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


class LiveView(QWidget):
    """Shows frames as they come (:meth:`show_frame`) or a message (:meth:`show_message`);
    ``shown`` counts the frames painted (a repaint of the same frame does not count), for
    the live benchmark."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mirrored = True
        self.shown = 0
        self._image: QImage | None = None
        self._pixels: np.ndarray | None = None  # keeps the QImage's memory alive
        self._message = "The camera is off."
        self._fresh = False  # a frame not painted yet
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Camera preview")

    def show_frame(self, pixels: np.ndarray) -> None:
        """GUI thread: make ``pixels`` (uint8 RGB) the picture; the message goes."""
        view = pixels[:, ::-1] if self.mirrored else pixels
        self._pixels = np.ascontiguousarray(view)
        height, width = self._pixels.shape[:2]
        self._image = QImage(
            self._pixels.data, width, height, width * 3, QImage.Format.Format_RGB888
        )
        self._message = ""
        self._fresh = True
        self.update()

    def show_message(self, message: str) -> None:
        """GUI thread: say ``message`` instead of a picture (the last frame stays dimmed)."""
        self._message = message
        self.update()

    @property
    def message(self) -> str:
        return self._message

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 24))
        if self._image is not None:
            size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(self.rect().center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, self._image)
            if self._fresh:  # frames painted, not repaints
                self.shown += 1
                self._fresh = False
        if self._message:
            painter.fillRect(self.rect(), QColor(0, 0, 0, 170 if self._image else 0))
            painter.setPen(QColor(235, 235, 235))
            margin = self.rect().adjusted(16, 16, -16, -16)
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(margin, int(flags), self._message)
        painter.end()
