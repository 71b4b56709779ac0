"""Painted views of what a layer computed: a grid of small images, and bars for units.

:class:`FeatureMapGrid` shows feature maps (or learnt filters, or the input image) as tiles,
each enlarged without smoothing so every value stays a visible square, with a caption under
it; the tiles wrap to the widget's width. :class:`UnitBars` shows a dense layer's strongest
units as bars scaled to the strongest. Both paint in the current theme's colours at paint time
(the maps themselves are data, shown in grey), on the GUI thread.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QHelpEvent, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from gui import style
from gui.widgets.images import array_to_qimage

#: Space between tiles, and the height of the caption under each (pixels).
GAP = 6
CAPTION = 16
#: Bar rows of :class:`UnitBars`.
ROW = 18
NAME_WIDTH = 110
VALUE_WIDTH = 60


def tile_size(side: int, target: int) -> int:
    """The size to show a ``side`` px map at, near ``target`` px: a whole multiple of ``side``
    when it is smaller (every value the same number of screen pixels), else ``target``."""
    if side >= target:
        return target
    return side * max(1, round(target / side))


class FeatureMapGrid(QWidget):
    """Tiles of small images (uint8 (n, rows, columns) grey, or (n, rows, columns, 1|3)), each
    with a caption and a tooltip, wrapping to the width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._images: list[QImage] = []
        self._captions: list[str] = []
        self._tips: list[str] = []
        self._tile = 64
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setAccessibleName("Feature maps")

    def set_images(
        self,
        images: np.ndarray,
        captions: list[str] | None = None,
        tips: list[str] | None = None,
        target: int = 64,
    ) -> None:
        """Show ``images`` at about ``target`` px each (GUI thread)."""
        images = np.asarray(images, np.uint8)
        if images.ndim == 3:
            images = images[..., None]
        self._images = [array_to_qimage(image) for image in images]
        count = len(self._images)
        self._captions = list(captions or [""] * count)
        self._tips = list(tips or self._captions)
        side = max(images.shape[1], images.shape[2]) if count else 1
        self._tile = tile_size(side, target)
        self.setAccessibleDescription(f"{count} image{'s' if count != 1 else ''}")
        self.updateGeometry()
        self.update()

    @property
    def tile_count(self) -> int:
        """How many tiles are shown."""
        return len(self._images)

    def _columns(self, width: int) -> int:
        return max(1, (width + GAP) // (self._tile + GAP))

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        rows = math.ceil(len(self._images) / self._columns(width)) if self._images else 0
        return rows * (self._tile + CAPTION + GAP)

    def sizeHint(self) -> QSize:
        columns = min(len(self._images), 8) or 1
        width = columns * (self._tile + GAP)
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        return QSize(self._tile + GAP, self._tile + CAPTION + GAP if self._images else 0)

    def _tile_rect(self, index: int) -> QRect:
        columns = self._columns(self.width())
        row, column = divmod(index, columns)
        step = self._tile + GAP
        return QRect(column * step, row * (step + CAPTION), self._tile, self._tile)

    def tile_at(self, point: QPoint) -> int | None:
        """The index of the tile under ``point`` (widget coordinates), or None."""
        for index in range(len(self._images)):
            if self._tile_rect(index).contains(point):
                return index
        return None

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.tile_at(event.pos())
            if index is not None and self._tips[index]:
                QToolTip.showText(event.globalPos(), self._tips[index], self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        theme = style.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        metrics = painter.fontMetrics()
        for index, image in enumerate(self._images):
            rect = self._tile_rect(index)
            if not rect.intersects(event.rect().adjusted(0, -CAPTION, 0, CAPTION)):
                continue
            # Keep the map's proportions inside the square tile (all presets use square maps).
            scale = self._tile / max(image.width(), image.height(), 1)
            target = QRectF(rect.x(), rect.y(), image.width() * scale, image.height() * scale)
            painter.drawImage(target, image)
            painter.setPen(theme.color("muted"))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
            caption = self._captions[index]
            if caption:
                painter.setPen(theme.color("text"))
                painter.drawText(
                    QRect(
                        max(rect.x() - GAP // 2, 0), rect.bottom() + 1, self._tile + GAP, CAPTION
                    ),
                    Qt.AlignmentFlag.AlignCenter,
                    metrics.elidedText(caption, Qt.TextElideMode.ElideRight, self._tile + GAP),
                )


class UnitBars(QWidget):
    """One row per unit: its name, a bar as long as its value relative to the largest, and
    the value."""

    def __init__(self, units: list[tuple[str, float]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.units = list(units)
        self.setMinimumHeight(ROW * len(self.units) + 4)
        self.setMinimumWidth(NAME_WIDTH + VALUE_WIDTH + 120)
        self.setAccessibleName("Strongest units")
        self.setAccessibleDescription(", ".join(f"{n} {v:.2f}" for n, v in self.units))

    @property
    def row_count(self) -> int:
        return len(self.units)

    def sizeHint(self) -> QSize:
        return QSize(NAME_WIDTH + VALUE_WIDTH + 360, ROW * len(self.units) + 4)

    def paintEvent(self, event: QPaintEvent) -> None:
        theme = style.current()
        painter = QPainter(self)
        largest = max((abs(v) for _, v in self.units), default=0.0) or 1.0
        space = max(self.width() - NAME_WIDTH - VALUE_WIDTH - 4, 10)
        for row, (name, value) in enumerate(self.units):
            y = row * ROW
            painter.setPen(theme.color("text"))
            painter.drawText(
                QRectF(0, y, NAME_WIDTH, ROW - 2),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                name,
            )
            painter.fillRect(QRectF(NAME_WIDTH, y + 4, space, ROW - 8), theme.color("alternate"))
            painter.fillRect(
                QRectF(NAME_WIDTH, y + 4, space * max(value, 0.0) / largest, ROW - 8),
                theme.color("accent"),
            )
            painter.drawText(
                QRectF(NAME_WIDTH + space + 4, y, VALUE_WIDTH, ROW - 2),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                f"{value:.2f}",
            )
