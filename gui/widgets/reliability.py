"""A reliability diagram: how often the model was right at each level of confidence, and the
Results page's Confidence panel that puts it beside (or below) its words.

One bar per confidence bin of the validation images
(:class:`core.learn.calibration.ReliabilityBin`): it spans the bin's confidence range and is as tall
as the share the model got right there. On a calibrated model the bars' tops follow the diagonal
("80 % sure" is right 80 % of the time); bars below it mean over-confidence, above it
under-confidence. Bins with few images are drawn paler. Colours come from the current theme at paint
time. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.learn.calibration import ReliabilityBin
from gui import style
from gui.widgets.beside_words import ChartBesideWords


class ReliabilityDiagram(QWidget):
    """Bars of accuracy against confidence, with the diagonal of perfect calibration."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bins: tuple[ReliabilityBin, ...] = ()
        self.setMinimumSize(150, 120)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setAccessibleName("Reliability diagram")
        self.show_bins(())

    def sizeHint(self) -> QSize:
        return QSize(190, 150)

    def show_bins(self, bins: Sequence[ReliabilityBin]) -> None:
        """Draw ``bins`` (the non-empty ones; none: an empty chart)."""
        self.bins = tuple(bins)
        total = sum(b.count for b in self.bins)
        lines = [
            f"{b.lower:.0%}–{b.upper:.0%} sure: {b.accuracy:.0%} right ({b.count} images)"
            for b in self.bins
        ]
        self.setAccessibleDescription("; ".join(lines) or "no validation images")
        self.setToolTip(
            "How often the model was right (bar height) when it was this sure (across), on "
            f"the {total} validation images. On the dashed diagonal its confidence means what "
            "it says; bars below it are over-confident, above it under-confident; pale bars "
            "hold few images." + ("\n" + "\n".join(lines) if lines else "")
        )
        self.update()

    def _margins(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom): room for the axis names and tick labels (the last
        ones stick out past the plot by half their size) in the widget's font."""
        metrics = self.fontMetrics()
        line, tick = metrics.height(), metrics.horizontalAdvance("100%")
        return line + tick + 6, line / 2 + 1, tick / 2 + 2, 2 * line + 2

    def plot_rect(self) -> QRectF:
        """The area the axes enclose, in widget coordinates."""
        left, top, right, bottom = self._margins()
        return QRectF(
            left,
            top,
            max(self.width() - left - right, 10),
            max(self.height() - bottom - top, 10),
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        theme = style.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = self.plot_rect()
        painter.fillRect(plot, theme.color("base"))

        def point(x: float, y: float) -> QPointF:
            return QPointF(plot.left() + x * plot.width(), plot.bottom() - y * plot.height())

        most = max((b.count for b in self.bins), default=1)
        for b in self.bins:
            colour = theme.color("accent")
            colour.setAlphaF(0.35 + 0.6 * (b.count / most))
            top_left, bottom_right = point(b.lower, b.accuracy), point(b.upper, 0.0)
            painter.fillRect(QRectF(top_left, bottom_right).adjusted(0.5, 0, -0.5, 0), colour)
        diagonal = QPen(theme.color("muted"), 1.2, Qt.PenStyle.DashLine)
        painter.setPen(diagonal)
        painter.drawLine(point(0, 0), point(1, 1))
        painter.setPen(QPen(theme.color("text"), 1))
        painter.drawLine(point(0, 0), point(1, 0))
        painter.drawLine(point(0, 0), point(0, 1))
        metrics = painter.fontMetrics()
        height = metrics.height()
        painter.setPen(theme.color("muted"))
        for share in (0.0, 0.5, 1.0):
            text = f"{share:.0%}"
            at = point(share, 0)
            painter.drawText(
                QRectF(at.x() - 24, plot.bottom() + 1, 48, height),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                text,
            )
            at = point(0, share)
            painter.drawText(
                QRectF(height, at.y() - height / 2, plot.left() - height - 4, height),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
        painter.setPen(theme.color("text"))
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + height, plot.width(), height),
            Qt.AlignmentFlag.AlignCenter,
            "How sure →",
        )
        painter.save()
        painter.translate(0, plot.center().y())
        painter.rotate(-90)
        painter.drawText(
            QRectF(-plot.height() / 2, 0, plot.height(), height),
            Qt.AlignmentFlag.AlignCenter,
            "How often right →",
        )
        painter.restore()
        if not self.bins:
            painter.setPen(theme.color("muted"))
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "no validation images")


class ConfidencePanel(ChartBesideWords):
    """The Results page's Confidence tab: the words (:attr:`words`, set by the page) beside the
    diagram (:attr:`diagram`), or above it where the page is narrow, so ten classes' matrix at
    1024x640 leaves a narrow column that still reads
    (:class:`~gui.widgets.beside_words.ChartBesideWords`). GUI thread only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        diagram = ReliabilityDiagram()
        super().__init__(diagram, parent)
        self.diagram = diagram
