"""A confusion matrix whose cells can be clicked to list the images behind them.

Compact enough for ten classes in a 1024x640 window: fixed small cells, column names written
upwards, row names elided past :data:`MAX_NAME` (a dialog with room may allow more, see
:meth:`ConfusionMatrix.set_name_width`; every name's tooltip has it whole), and the axes labelled
in words ("Actual class", "Predicted class") by :class:`ConfusionPanel`. Colours come from the
current theme. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from core.names import readable
from core.plain import TERMS
from gui import style

CELL_WIDTH = 38
CELL_HEIGHT = 24
#: Column width from seven classes on, so ten fit beside the list of images.
NARROW_CELL = 31
#: Up to this size (pixels) the matrix is shown whole; a larger one scrolls.
MAX_UNSCROLLED = (400, 360)
#: Longest class name shown in full (pixels); longer ones are elided (the tooltip has them).
MAX_NAME = 90


class UpwardHeader(QHeaderView):
    """A column header whose names run upwards, so many classes fit side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setDefaultSectionSize(CELL_WIDTH)

    def _text(self, logical: int) -> str:
        model = self.model()
        value = model.headerData(logical, self.orientation()) if model is not None else ""
        return str(value or "")

    def sectionSizeFromContents(self, logical: int) -> QSize:
        width = self.fontMetrics().horizontalAdvance(self._text(logical))
        return QSize(CELL_WIDTH, min(width, MAX_NAME) + 14)

    def paintSection(self, painter: QPainter, rect: QRect, logical: int) -> None:
        theme = style.current()
        painter.save()
        painter.fillRect(rect, theme.color("alternate"))
        painter.setPen(theme.color("window"))
        painter.drawLine(rect.topRight(), rect.bottomRight())
        painter.translate(rect.left(), rect.bottom())
        painter.rotate(-90)
        painter.setPen(theme.color("text"))
        text = self.fontMetrics().elidedText(
            self._text(logical), Qt.TextElideMode.ElideRight, rect.height() - 10
        )
        painter.drawText(
            QRect(6, 0, rect.height() - 8, rect.width()),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            text,
        )
        painter.restore()


class ConfusionMatrix(QTableWidget):
    """Rows are actual classes, columns predicted ones. Emits ``cell_chosen(true, predicted)``."""

    cell_chosen = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.setHorizontalHeader(UpwardHeader(self))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(CELL_HEIGHT)
        rows.setMaximumWidth(MAX_NAME + 16)  # see set_name_width
        rows.setTextElideMode(Qt.TextElideMode.ElideRight)  # "…", not a name cut off
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setToolTip(TERMS["confusion matrix"] + " Click a cell to see its images.")
        self.setAccessibleName("Confusion matrix")
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Maximum)
        self.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
        self.names: list[str] = []
        self._last_chosen: tuple[int, int] | None = None
        self.cellClicked.connect(self._on_cell_clicked)
        # Moving through the cells with the arrow keys shows their images too.
        self.currentCellChanged.connect(lambda row, column, *_: self._on_cell_clicked(row, column))

    def set_name_width(self, most: int) -> None:
        """Show the row names whole up to ``most`` px (default :data:`MAX_NAME`), elided past
        it; call before :meth:`show_matrix`."""
        self.verticalHeader().setMaximumWidth(most + 16)

    def show_matrix(self, names: list[str], matrix: list[list[int]]) -> None:
        theme = style.current()
        self.names = list(names)
        self._last_chosen = None
        names = [readable(n) for n in names]  # shown; self.names keeps the real ones for clicks
        self.clear()
        self.setRowCount(len(names))
        self.setColumnCount(len(names))
        self.horizontalHeader().setDefaultSectionSize(
            CELL_WIDTH if len(names) <= 6 else NARROW_CELL
        )
        self.setHorizontalHeaderLabels(names)
        self.setVerticalHeaderLabels(names)
        for k, name in enumerate(names):  # the whole name, wherever it is elided
            for header in (self.horizontalHeaderItem(k), self.verticalHeaderItem(k)):
                if header is not None:
                    header.setToolTip(name)
        for i, row in enumerate(matrix):
            total = max(sum(row), 1)
            for j, count in enumerate(row):
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                share = count / total
                if count:
                    colour = theme.color("success" if i == j else "error")
                    colour.setAlphaF(0.15 + 0.6 * share if i == j else min(0.8, 0.1 + 2.5 * share))
                    item.setBackground(colour)
                if i == j:
                    item.setToolTip(f"{count} '{names[i]}' image(s) recognised correctly")
                else:
                    item.setToolTip(f"{count} '{names[i]}' image(s) taken for '{names[j]}'")
                self.setItem(i, j, item)
        self.horizontalHeader().setFixedHeight(
            max(
                (
                    self.horizontalHeader().sectionSizeFromContents(j).height()
                    for j in range(len(names))
                ),
                default=20,
            )
        )
        hint = self.sizeHint()
        # Never scrolls up to ten or so classes; beyond that it scrolls rather than crowd out
        # the list of images beside it.
        self.setMinimumSize(
            min(hint.width(), MAX_UNSCROLLED[0]), min(hint.height(), MAX_UNSCROLLED[1])
        )
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        columns = self.horizontalHeader().defaultSectionSize() * self.columnCount()
        rows = self.verticalHeader()  # as wide as its longest name, up to its maximum
        width = min(rows.sizeHint().width(), rows.maximumWidth()) + columns + 4
        height = self.horizontalHeader().height() + CELL_HEIGHT * self.rowCount() + 4
        return QSize(width, height)

    def _on_cell_clicked(self, row: int, column: int) -> None:
        # A click both moves the current cell and clicks it: tell the listener once.
        if (row, column) == self._last_chosen:
            return
        if 0 <= row < len(self.names) and 0 <= column < len(self.names):
            self._last_chosen = (row, column)
            self.cell_chosen.emit(self.names[row], self.names[column])


class _UpwardLabel(QWidget):
    """A short label written bottom to top, beside the rows it names."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.setFixedWidth(self.fontMetrics().height() + 6)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(style.current().color("muted"))
        painter.translate(0, self.height())
        painter.rotate(-90)
        painter.drawText(
            QRect(0, 0, self.height(), self.width()), Qt.AlignmentFlag.AlignCenter, self.text
        )


class ConfusionPanel(QWidget):
    """The matrix with its axes named: "Predicted class →" above, "Actual class" beside."""

    def __init__(self, matrix: ConfusionMatrix) -> None:
        super().__init__()
        self.matrix = matrix
        predicted = QLabel("Predicted class →")
        predicted.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(predicted, 0, 1)
        layout.addWidget(_UpwardLabel("← Actual class"), 1, 0)
        layout.addWidget(matrix, 1, 1)
