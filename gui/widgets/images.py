"""Turning engine arrays into Qt images, and a picture that fills its room (GUI thread only)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

#: From this enlargement on, a picture is drawn in whole pixels (each pixel a sharp square).
SHARP_SCALE = 4


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


def fitted_size(width: int, height: int, room: QSize) -> tuple[QSize, bool]:
    """The size to draw a ``width`` x ``height`` picture at in ``room``, and whether to draw it
    sharp (nearest pixel) rather than smoothly.

    Enlarged :data:`SHARP_SCALE` times or more (a 28 px digit), it is scaled by a whole number,
    so every pixel becomes an equal sharp square (at most a fifth of the room is left over, a
    tenth or less at ten times); otherwise (a 224 px photo, or any shrinking) it is scaled
    smoothly to fill the room exactly along its limiting side. The aspect ratio is kept.
    """
    if width <= 0 or height <= 0 or room.width() <= 0 or room.height() <= 0:
        return QSize(0, 0), False
    scale = min(room.width() / width, room.height() / height)
    if scale >= SHARP_SCALE:
        whole = math.floor(scale)
        return QSize(width * whole, height * whole), True
    return QSize(max(1, round(width * scale)), max(1, round(height * scale))), False


class FittedPicture(QLabel):
    """A picture drawn as large as the widget allows (:func:`fitted_size`), centred, or a line
    of text in its place (a label's: word-wrapped, read by screen readers).

    Unlike a label showing a pixmap it never asks for the picture's own size, so it grows and
    shrinks with its window; ``preferred`` is the side it asks for at first. :meth:`pixmap`
    returns the picture at its own resolution. GUI thread only.
    """

    def __init__(
        self, preferred: int = 256, minimum: int = 160, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.preferred = preferred
        self._source = QPixmap()
        self._scaled: tuple[tuple[int, int, int] | None, QPixmap] = (None, QPixmap())
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def setPixmap(self, pixmap: QPixmap) -> None:
        """Show ``pixmap`` (in place of any text), scaled to the widget when drawn."""
        super().setText("")
        self._source = QPixmap(pixmap)
        self.update()

    def setText(self, text: str) -> None:
        """Show ``text`` in place of the picture."""
        self._source = QPixmap()
        super().setText(text)

    def clear(self) -> None:
        self._source = QPixmap()
        super().clear()

    def pixmap(self) -> QPixmap:
        """The picture at its own resolution (a null pixmap while text or nothing is shown)."""
        return QPixmap(self._source)

    def set_preferred(self, side: int) -> None:
        """Ask for a ``side`` x ``side`` square from now on (the layout is told)."""
        self.preferred = side
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(self.preferred, self.preferred)

    def minimumSizeHint(self) -> QSize:
        return self.minimumSize()

    def hasHeightForWidth(self) -> bool:
        return False  # a word-wrapped label's would tie the window's height to its width

    def drawn_rect(self) -> QRect:
        """Where the picture is drawn in the widget (empty while none is shown)."""
        if self._source.isNull():
            return QRect()
        room = self.contentsRect()
        size, _ = fitted_size(self._source.width(), self._source.height(), room.size())
        rect = QRect(0, 0, size.width(), size.height())
        rect.moveCenter(room.center())
        return rect

    def drawn_sharp(self) -> bool:
        """Whether the picture is drawn in whole pixels (see :func:`fitted_size`)."""
        source = self._source
        return fitted_size(source.width(), source.height(), self.contentsRect().size())[1]

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._source.isNull():
            super().paintEvent(event)
            return
        rect = self.drawn_rect()
        painter = QPainter(self)
        if self.drawn_sharp():
            painter.drawPixmap(rect, self._source)  # no smoothing: whole pixels stay sharp
        else:
            key = (self._source.cacheKey(), rect.width(), rect.height())
            if self._scaled[0] != key:  # Qt's smooth scaling averages when it shrinks
                scaled = self._source.scaled(
                    rect.size(),
                    Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
                self._scaled = (key, scaled)
            painter.drawPixmap(rect.topLeft(), self._scaled[1])
        painter.end()


def array_pixmap(array: np.ndarray) -> QPixmap:
    """A uint8 (H, W, 1|3) array as a pixmap at its own size."""
    return QPixmap.fromImage(array_to_qimage(array))
