"""A live loss and accuracy chart drawn with QPainter.

Points are added on the GUI thread (from engine signals) and the widget repaints at most
:data:`REDRAWS_PER_SECOND` times a second, however fast points arrive. Batch losses are
smoothed over the last epoch's worth of batches (:class:`TrailingMean`, started afresh with
every run), so at each epoch's end the line meets that epoch's training loss; past
:data:`MAX_BATCH_POINTS` every other point is dropped, never the newest, so memory and drawing
time stay bounded and the chart stays readable after hundreds of epochs. A dashed line marks
the epoch whose weights the model kept, when early stopping went back to an earlier one.
"""

from __future__ import annotations

import math
from collections import deque

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.plain import TERMS
from gui import style

REDRAWS_PER_SECOND = 4
MAX_BATCH_POINTS = 2000
#: A legend entry: its words, colour and line style.
LegendItem = tuple[str, QColor, Qt.PenStyle]
#: Batches smoothed over before a run says how many batches an epoch has.
DEFAULT_WINDOW = 10


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


class TrailingMean:
    """The mean loss of the last ``window`` batches, fed one value per batch or one mean per
    group of batches (the engine sends the mean of the batches since its previous signal).

    With ``window`` set to the batches of an epoch, the value at an epoch's end is that epoch's
    mean batch loss, the training loss Keras reports for it, so the smoothed line meets the
    epoch's point. An exponential moving average (even bias-corrected) lags a fast-falling
    loss: with a one-epoch span it missed the epoch's mean by 15-26 % at the ends of the first
    epochs. A new run starts empty: until a window is full, the value is the mean of the
    batches so far. Plain Python, no Qt; used on the GUI thread.
    """

    def __init__(self, window: int) -> None:
        self.window = max(int(window), 1)
        self._groups: deque[tuple[float, int]] = deque()  # (mean, batches), oldest first
        self._batches = 0

    def add(self, loss: float, batches: int = 1) -> float:
        """Take the mean ``loss`` of the next ``batches`` batches; the new smoothed value."""
        batches = max(int(batches), 1)
        self._groups.append((loss, batches))
        self._batches += batches
        while self._batches - self._groups[0][1] >= self.window:
            self._batches -= self._groups.popleft()[1]
        # The oldest group may reach back past the window: only its newest batches count.
        mean, count = self._groups[0]
        self._groups[0] = (mean, count - max(self._batches - self.window, 0))
        self._batches = min(self._batches, self.window)
        return sum(m * n for m, n in self._groups) / self._batches


class LossChart(QWidget):
    """Loss (top) and accuracy (bottom) against epochs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(420, 300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Training chart")
        self.batch_points: list[tuple[float, float]] = []
        self.epochs: list[dict[str, float]] = []
        self.epoch_offset = 0
        #: The epoch (counted from 1) whose weights the model kept, marked when it is not the
        #: last; None when the model kept its last weights.
        self.kept_epoch: int | None = None
        self._smoother = TrailingMean(DEFAULT_WINDOW)
        self._dirty = False
        self.paint_count = 0
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REDRAWS_PER_SECOND)
        self._timer.timeout.connect(self._redraw_if_needed)
        self._timer.start()
        self._explain()

    # --- data -------------------------------------------------------------------------------

    def clear(self) -> None:
        self.batch_points.clear()
        self.epochs.clear()
        self.epoch_offset = 0
        self.kept_epoch = None
        self._smoother = TrailingMean(self._smoother.window)
        self._explain()
        self.update()

    def set_history(self, history: list[dict[str, float]]) -> None:
        """Show finished epochs (for example of a model that training continues)."""
        self.epochs = [dict(h) for h in history]
        self._explain()
        self._dirty = True

    def set_kept_epoch(self, epoch: int | None) -> None:
        """Mark ``epoch`` (counted from 1) as the one whose weights the model kept; None (or
        the last epoch) marks nothing."""
        self.kept_epoch = epoch
        self._explain()
        self._dirty = True

    def start_run(self, batches_per_epoch: int) -> None:
        """A training run (a new one, or Continue) starts: smooth its batches afresh, over an
        epoch of ``batches_per_epoch`` batches; the earlier run's kept epoch is no longer
        marked. Drawn points stay."""
        self._smoother = TrailingMean(batches_per_epoch)
        self.kept_epoch = None
        self._explain()
        self._dirty = True

    def add_batch(self, x: float, loss: float, batches: int = 1) -> None:
        """Add the mean ``loss`` of ``batches`` batches ending at ``x`` epochs (fractional)."""
        if not math.isfinite(loss):
            return
        self.batch_points.append((x, self._smoother.add(loss, batches)))
        if len(self.batch_points) > MAX_BATCH_POINTS:
            # Every other point, counted back from the newest: the latest stays drawn.
            self.batch_points = self.batch_points[::-2][::-1]
        self._dirty = True

    def add_epoch(self, metrics: dict[str, float]) -> None:
        self.epochs.append(dict(metrics))
        if self.kept_epoch is not None:
            self._explain()
        self._dirty = True

    def _explain(self) -> None:
        """The tooltip: the terms on the chart, and what the dashed line marks when shown."""
        text = (
            f"Loss: {TERMS['loss']}\nValidation loss: {TERMS['validation loss']}\n"
            f"Accuracy: {TERMS['accuracy']} The x axis counts {TERMS['epoch'].lower()}\n"
            "Batches (smoothed): the mean loss of the last epoch's worth of batches."
        )
        epoch = self.marked_epoch()
        if epoch is not None:
            judged = "validation loss" if "val_loss" in self.epochs[epoch - 1] else "loss"
            text += (
                f"\nDashed line: the model kept its weights from the end of epoch {epoch}, "
                f"where the {judged} was lowest; the epochs after it did no better, so "
                "early stopping went back to it."
            )
        self.setToolTip(text)

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

    def _legend(self, painter: QPainter, rect: QRectF, items: list[LegendItem]) -> None:
        x = rect.right()
        for label, colour, line in reversed(items):
            width = painter.fontMetrics().horizontalAdvance(label) + 26
            x -= width
            painter.setPen(QPen(colour, 3 if line == Qt.PenStyle.SolidLine else 2, line))
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
        kept = self._kept_marker(painter, rect, x_max)
        legend = [("batches (smoothed)", batches, Qt.PenStyle.SolidLine), *self._pair_legend()]
        self._legend(painter, rect, legend + kept)

    def _draw_accuracy(self, painter: QPainter, rect: QRectF, x_max: float) -> None:
        self._frame(painter, rect, x_max, 1.0, "Accuracy", ".0%")
        self._pair(painter, rect, x_max, 1.0, "accuracy")
        self._kept_marker(painter, rect, x_max)
        self._legend(painter, rect, self._pair_legend())

    def marked_epoch(self) -> int | None:
        """The kept epoch the chart marks: set, among the epochs shown, and not the last."""
        epoch = self.kept_epoch
        return epoch if epoch is not None and 1 <= epoch < len(self.epochs) else None

    def _kept_marker(self, painter: QPainter, rect: QRectF, x_max: float) -> list[LegendItem]:
        """A dashed vertical line at the kept epoch (in the theme's muted colour, so it reads
        in light and dark); its legend entry, or none when nothing is marked."""
        epoch = self.marked_epoch()
        if epoch is None:
            return []
        colour = style.current().color("muted")
        x = rect.left() + epoch / x_max * rect.width()
        painter.setPen(QPen(colour, 1.5, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        return [(f"kept: epoch {epoch}", colour, Qt.PenStyle.DashLine)]

    def _pair(
        self, painter: QPainter, rect: QRectF, x_max: float, y_max: float, metric: str
    ) -> None:
        """The per-epoch training and validation curves of ``metric`` ("loss", "accuracy")."""
        theme = style.current()
        for key, role in ((metric, "train_curve"), (f"val_{metric}", "val_curve")):
            self._line(painter, rect, self._series(key), x_max, y_max, theme.color(role), 2.2, True)

    @staticmethod
    def _pair_legend() -> list[LegendItem]:
        theme = style.current()
        solid = Qt.PenStyle.SolidLine
        return [
            ("training", theme.color("train_curve"), solid),
            ("validation", theme.color("val_curve"), solid),
        ]
