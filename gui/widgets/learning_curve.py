"""The Results page's "More photos?" panel: the learning curve of a pretrained head and one
plain sentence on how much more photos would likely help.

The curve (:mod:`core.learn.learning_curve`) is the validation accuracy of the same head
trained on 25, 50, 75 and 100 % of the training images; the panel draws it as dots joined by a
line (accuracy up, training images across, from 0) with each point's accuracy above it, and
puts :func:`core.plain.learning_curve_in_words` beside (or above, when narrow) it. It shows
only the points it is handed (:meth:`LearningCurvePanel.show_curve`). Colours come from the
current theme at paint time. GUI thread only.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.plain import TERMS, learning_curve_figures, learning_curve_in_words
from gui import style
from gui.widgets.beside_words import ChartBesideWords


class LearningCurveChart(QWidget):
    """Validation accuracy against the number of training images, one dot a point."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: tuple[tuple[int, float], ...] = ()
        self.setMinimumSize(150, 120)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setAccessibleName("Learning curve")

    def sizeHint(self) -> QSize:
        return QSize(220, 160)

    def show_points(self, points: Sequence[tuple[int, float]]) -> None:
        """Draw ``points`` ((training images, accuracy), fewest images first; none: empty)."""
        self.points = tuple((int(n), float(a)) for n, a in points)
        figures = learning_curve_figures(self.points) if self.points else "no learning curve"
        self.setAccessibleDescription(f"Validation accuracy: {figures}")
        self.setToolTip(f"{TERMS['learning curve']}\nValidation accuracy: {figures}.")
        self.update()

    def _range(self) -> tuple[float, float]:
        """The accuracy axis: the points' range widened to whole tenths (0..1 at most)."""
        accuracies = [a for _, a in self.points] or [0.0, 1.0]
        low = max(0.0, math.floor(min(accuracies) * 10 - 0.5) / 10)
        return low, min(1.0, math.ceil(max(accuracies) * 10 + 0.5) / 10)

    def plot_rect(self) -> QRectF:
        """The area the axes enclose, in widget coordinates."""
        metrics = self.fontMetrics()
        line, tick = metrics.height(), metrics.horizontalAdvance("100%")
        left, top, right, bottom = line + tick + 6, line + 2, tick / 2 + 4, 2 * line + 2
        return QRectF(
            left, top, max(self.width() - left - right, 10), max(self.height() - top - bottom, 10)
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        theme = style.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = self.plot_rect()
        painter.fillRect(plot, theme.color("base"))
        height = painter.fontMetrics().height()
        if not self.points:
            painter.setPen(theme.color("muted"))
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "no learning curve")
            return
        low, high = self._range()
        most = max(n for n, _ in self.points) or 1

        def point(images: float, accuracy: float) -> QPointF:
            return QPointF(
                plot.left() + plot.width() * images / most,
                plot.bottom() - plot.height() * (accuracy - low) / (high - low),
            )

        tenths = [k / 10 for k in range(round(low * 10), round(high * 10) + 1)]
        painter.setPen(QPen(theme.color("alternate"), 1))
        for share in tenths[1:]:  # faint lines at each tenth, so the rise reads in points
            painter.drawLine(point(0, share), point(most, share))
        painter.setPen(QPen(theme.color("text"), 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        painter.drawLine(plot.bottomLeft(), plot.topLeft())
        painter.setPen(theme.color("muted"))
        for share in tenths:
            at = point(0, share)
            painter.drawText(
                QRectF(height, at.y() - height / 2, plot.left() - height - 4, height),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{share:.0%}",
            )
        for images, _ in self.points:
            at = point(images, low)
            painter.drawText(
                QRectF(at.x() - 24, plot.bottom() + 1, 48, height),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                str(images),
            )
        accent = theme.color("accent")
        painter.setPen(QPen(accent, 2))
        dots = [point(n, a) for n, a in self.points]
        painter.drawPolyline(dots)
        painter.setBrush(accent)
        for dot in dots:
            painter.drawEllipse(dot, 3.5, 3.5)
        painter.setPen(theme.color("text"))
        for dot, (_, accuracy) in zip(dots, self.points, strict=True):
            painter.drawText(
                QRectF(dot.x() - 30, dot.y() - height - 4, 60, height),
                Qt.AlignmentFlag.AlignCenter,
                f"{accuracy:.0%}",
            )
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + height, plot.width(), height),
            Qt.AlignmentFlag.AlignCenter,
            "Training images →",
        )
        painter.save()
        painter.translate(0, plot.center().y())
        painter.rotate(-90)
        painter.drawText(
            QRectF(-plot.height() / 2, 0, plot.height(), height),
            Qt.AlignmentFlag.AlignCenter,
            "Validation accuracy →",
        )
        painter.restore()


class LearningCurvePanel(ChartBesideWords):
    """The chart (:attr:`chart`) beside its words (:attr:`words`), or above them where the
    page is narrow (:class:`~gui.widgets.beside_words.ChartBesideWords`). GUI thread only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        chart = LearningCurveChart()
        super().__init__(chart, parent)
        self.chart = chart

    def show_curve(self, points: Sequence[tuple[int, float]]) -> None:
        """Show ``points`` (a model's learning curve; none: the panel says there is none)."""
        self.chart.show_points(points)
        sentence = learning_curve_in_words(points)
        if sentence is None:
            self.words.setText(
                "Only a pretrained photos model whose head alone was trained measures how "
                "more photos would help."
            )
            return
        self.words.setText(
            f"<b>How much would more photos help?</b> {html.escape(sentence)}<br><br>"
            "Measured by training the model's last layer afresh on a quarter, half, three "
            "quarters and all of the training images (each class keeping its share) and "
            "checking it on the same validation images: "
            f"{html.escape(learning_curve_figures(points))}. A fresh start can land a few points "
            "from the model's own accuracy above, so the sentence follows the trend of all four."
        )
