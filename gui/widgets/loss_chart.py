"""A live loss and accuracy chart drawn with QPainter.

Points are added on the GUI thread (from engine signals) and the widget repaints at most
:data:`REDRAWS_PER_SECOND` times a second, however fast points arrive. Batch losses are
smoothed and, past :data:`MAX_BATCH_POINTS`, pairwise averaged, so memory and drawing time stay
bounded and the chart stays readable after hundreds of epochs.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.plain import TERMS
from gui import style

REDRAWS_PER_SECOND = 4
MAX_BATCH_POINTS = 2000
SMOOTHING = 0.8


def nice_step(span: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


class LossChart(QWidget):
    """Loss (top) and accuracy (bottom) against epochs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(420, 300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Training chart")
        self.setToolTip(
            f"Loss: {TERMS['loss']}\nValidation loss: {TERMS['validation loss']}\n"
            f"Accuracy: {TERMS['accuracy']} The x axis counts {TERMS['epoch'].lower()}"
        )
        self.batch_points: list[tuple[float, float]] = []
        self.epochs: list[dict[str, float]] = []
        self.epoch_offset = 0
        self._smoothed: float | None = None
        self._dirty = False
        self.paint_count = 0
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REDRAWS_PER_SECOND)
        self._timer.timeout.connect(self._redraw_if_needed)
        self._timer.start()

    # --- data -------------------------------------------------------------------------------

    def clear(self) -> None:
        self.batch_points.clear()
        self.epochs.clear()
        self.epoch_offset = 0
        self._smoothed = None
        self.update()

    def set_history(self, history: list[dict[str, float]]) -> None:
        """Show finished epochs (for example of a model that training continues)."""
        self.epochs = [dict(h) for h in history]
        self._dirty = True

    def add_batch(self, x: float, loss: float) -> None:
        """Add a batch loss at ``x`` epochs (fractional)."""
        if not math.isfinite(loss):
            return
        s = loss if self._smoothed is None else SMOOTHING * self._smoothed + (1 - SMOOTHING) * loss
        self._smoothed = s
        self.batch_points.append((x, s))
        if len(self.batch_points) > MAX_BATCH_POINTS:
            pairs = zip(self.batch_points[0::2], self.batch_points[1::2], strict=False)
            self.batch_points = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in pairs]
        self._dirty = True

    def add_epoch(self, metrics: dict[str, float]) -> None:
        self.epochs.append(dict(metrics))
        self._dirty = True

    def _redraw_if_needed(self) -> None:
        if self._dirty:
            self._dirty = False
            self.update()

    # --- drawing ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paint_count += 1
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        if not self.batch_points and not self.epochs:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter,
                "The loss and accuracy appear here while the model trains.",
            )
            return
        x_max = max([len(self.epochs)] + [p[0] for p in self.batch_points[-1:]] + [1.0])
        height = self.height()
        split = int(height * 0.58)
        top = QRectF(56, 26, self.width() - 72, split - 50)
        bottom = QRectF(56, split + 24, self.width() - 72, height - split - 52)
        self._draw_loss(painter, top, x_max)
        self._draw_accuracy(painter, bottom, x_max)

    def _loss_range(self) -> float:
        values = [p[1] for p in self.batch_points]
        values += [e[k] for e in self.epochs for k in ("loss", "val_loss") if k in e]
        values = sorted(v for v in values if math.isfinite(v))
        if not values:
            return 1.0
        robust = values[min(len(values) - 1, int(len(values) * 0.98))]
        return max(robust * 1.1, 1e-3)

    def _frame(
        self, painter: QPainter, rect: QRectF, x_max: float, y_max: float, title: str, y_format: str
    ) -> None:
        painter.setPen(QPen(self.palette().mid().color(), 1))
        painter.drawRect(rect)
        font = QFont(painter.font())
        painter.setFont(font)
        text = self.palette().text().color()
        step = nice_step(y_max, 4)
        value = 0.0
        while value <= y_max + 1e-9:
            y = rect.bottom() - value / y_max * rect.height()
            painter.setPen(QPen(self.palette().midlight().color(), 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            painter.setPen(text)
            painter.drawText(
                QRectF(0, y - 8, rect.left() - 6, 16),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                format(value, y_format),
            )
            value += step
        xstep = max(1.0, nice_step(x_max, 8))
        epoch = 0.0
        while epoch <= x_max + 1e-9:
            x = rect.left() + epoch / x_max * rect.width()
            painter.setPen(text)
            painter.drawText(
                QRectF(x - 20, rect.bottom() + 2, 40, 16),
                Qt.AlignmentFlag.AlignHCenter,
                f"{epoch:g}",
            )
            epoch += xstep
        painter.setPen(text)
        painter.drawText(
            QRectF(rect.left(), rect.top() - 22, 200, 18), Qt.AlignmentFlag.AlignLeft, title
        )

    def _line(
        self,
        painter: QPainter,
        rect: QRectF,
        points: list[tuple[float, float]],
        x_max: float,
        y_max: float,
        colour: QColor,
        width: float,
        dots: bool,
    ) -> None:
        if not points:
            return

        def to_screen(p: tuple[float, float]) -> QPointF:
            y = min(max(p[1], 0.0), y_max)
            return QPointF(
                rect.left() + p[0] / x_max * rect.width(), rect.bottom() - y / y_max * rect.height()
            )

        path = QPainterPath(to_screen(points[0]))
        for p in points[1:]:
            path.lineTo(to_screen(p))
        painter.setPen(QPen(colour, width))
        painter.drawPath(path)
        if dots and len(points) <= 60:
            painter.setBrush(colour)
            for p in points:
                painter.drawEllipse(to_screen(p), 2.5, 2.5)
            painter.setBrush(Qt.BrushStyle.NoBrush)

    def _series(self, key: str) -> list[tuple[float, float]]:
        return [(i + 1.0, e[key]) for i, e in enumerate(self.epochs) if key in e]

    def _legend(self, painter: QPainter, rect: QRectF, items: list[tuple[str, QColor]]) -> None:
        x = rect.right()
        for label, colour in reversed(items):
            width = painter.fontMetrics().horizontalAdvance(label) + 26
            x -= width
            painter.setPen(QPen(colour, 3))
            painter.drawLine(QPointF(x, rect.top() - 13), QPointF(x + 16, rect.top() - 13))
            painter.setPen(self.palette().text().color())
            painter.drawText(QPointF(x + 20, rect.top() - 8), label)

    def _draw_loss(self, painter: QPainter, rect: QRectF, x_max: float) -> None:
        theme = style.current()
        y_max = self._loss_range()
        self._frame(painter, rect, x_max, y_max, "Loss", ".2g")
        batches = theme.color("batch_curve")
        self._line(painter, rect, self.batch_points, x_max, y_max, batches, 1.2, False)
        self._pair(painter, rect, x_max, y_max, "loss")
        self._legend(painter, rect, [("batches (smoothed)", batches), *self._pair_legend()])

    def _draw_accuracy(self, painter: QPainter, rect: QRectF, x_max: float) -> None:
        self._frame(painter, rect, x_max, 1.0, "Accuracy", ".0%")
        self._pair(painter, rect, x_max, 1.0, "accuracy")
        self._legend(painter, rect, self._pair_legend())

    def _pair(
        self, painter: QPainter, rect: QRectF, x_max: float, y_max: float, metric: str
    ) -> None:
        """The per-epoch training and validation curves of ``metric`` ("loss", "accuracy")."""
        theme = style.current()
        for key, role in ((metric, "train_curve"), (f"val_{metric}", "val_curve")):
            self._line(painter, rect, self._series(key), x_max, y_max, theme.color(role), 2.2, True)

    @staticmethod
    def _pair_legend() -> list[tuple[str, QColor]]:
        theme = style.current()
        return [("training", theme.color("train_curve")), ("validation", theme.color("val_curve"))]
