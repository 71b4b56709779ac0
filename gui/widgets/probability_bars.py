"""Horizontal bars for a ranked list of (label, probability)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from core.names import readable

BAR = QColor(60, 120, 200)
ROW = 18


class ProbabilityBars(QWidget):
    def __init__(self, labels: list[tuple[str, float]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels = [(readable(name), p) for name, p in labels]  # as Qt can show them
        self.setMinimumHeight(ROW * len(labels) + 4)
        self.setMinimumWidth(220)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        metrics = painter.fontMetrics()
        name_width = min(
            140, max((metrics.horizontalAdvance(n) for n, _ in self.labels), default=40) + 8
        )
        for row, (name, probability) in enumerate(self.labels):
            y = 2 + row * ROW
            painter.setPen(self.palette().text().color())
            painter.drawText(
                QRectF(0, y, name_width, ROW - 2),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                metrics.elidedText(name, Qt.TextElideMode.ElideRight, name_width - 4),
            )
            bar_space = max(self.width() - name_width - 52, 10)
            painter.fillRect(
                QRectF(name_width, y + 3, bar_space, ROW - 8), self.palette().alternateBase()
            )
            painter.fillRect(
                QRectF(name_width, y + 3, bar_space * probability, ROW - 8),
                BAR if row == 0 else BAR.lighter(150),
            )
            painter.drawText(
                QRectF(name_width + bar_space + 4, y, 48, ROW - 2),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                f"{probability:.1%}",
            )
