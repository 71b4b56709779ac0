"""Horizontal bars for a ranked list of (label, probability), aligned from row to row.

Every row of a results table passes the same ``name_width`` (measured from all of the model's
class names), so the bars start at the same x in every row. Painted on the GUI thread in the
current theme's colours.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from core.names import readable
from gui import style

ROW = 20
#: Names longer than this (pixels) are elided, so the bars keep most of the width.
MAX_NAME_WIDTH = 180
PERCENT_WIDTH = 56


def name_column_width(names: list[str], metrics: QFontMetrics) -> int:
    """The width of the name column that fits every one of ``names`` (up to a cap)."""
    widest = max((metrics.horizontalAdvance(readable(n)) for n in names), default=40)
    return min(MAX_NAME_WIDTH, widest + 12)


class ProbabilityBars(QWidget):
    """One row per class: its name, a bar as long as its probability, the percentage."""

    def __init__(
        self,
        labels: list[tuple[str, float]],
        name_width: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.labels = [(readable(name), p) for name, p in labels]  # as Qt can show them
        self.name_width = name_width or name_column_width(
            [n for n, _ in labels], self.fontMetrics()
        )
        self.setMinimumHeight(ROW * len(labels) + 4)
        self.setMinimumWidth(self.name_width + 120)
        self.setAccessibleName("Probabilities")
        self.setAccessibleDescription(", ".join(f"{n} {p:.1%}" for n, p in self.labels))
        self.setToolTip("\n".join(f"{n}: {p:.1%}" for n, p in self.labels))

    def set_labels(self, labels: list[tuple[str, float]]) -> None:
        """Show ``labels`` instead (the live camera's answers, many a second)."""
        self.labels = [(readable(name), p) for name, p in labels]
        self.setMinimumHeight(ROW * len(labels) + 4)
        self.setToolTip("\n".join(f"{n}: {p:.1%}" for n, p in self.labels))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        paint_bars(painter, QRectF(self.rect()), self.labels, self.name_width)


def paint_bars(
    painter: QPainter, rect: QRectF, labels: list[tuple[str, float]], name_width: int
) -> None:
    """Paint ``labels`` (readable names with their probabilities, best first) as bars in
    ``rect``, centred in its height, the bars starting ``name_width`` pixels in: what
    :class:`ProbabilityBars` shows, and what a results table's delegate paints in a cell
    (GUI thread)."""
    theme = style.current()
    metrics = painter.fontMetrics()
    bar_space = max(rect.width() - name_width - PERCENT_WIDTH - 4, 10)
    left = rect.left()
    top = rect.top() + max(0, (rect.height() - ROW * len(labels)) // 2)
    for row, (name, probability) in enumerate(labels):
        y = top + row * ROW
        painter.setPen(theme.color("text") if row == 0 else theme.color("muted"))
        painter.drawText(
            QRectF(left, y, name_width, ROW - 2),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            metrics.elidedText(name, Qt.TextElideMode.ElideRight, name_width - 8),
        )
        painter.fillRect(
            QRectF(left + name_width, y + 4, bar_space, ROW - 8), theme.color("alternate")
        )
        bar = theme.color("accent")
        if row:
            bar.setAlphaF(0.45)
        painter.fillRect(QRectF(left + name_width, y + 4, bar_space * probability, ROW - 8), bar)
        painter.drawText(
            QRectF(left + name_width + bar_space + 4, y, PERCENT_WIDTH, ROW - 2),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            f"{probability:.1%}",
        )
