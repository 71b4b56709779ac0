"""The Classify tab's results table: one row per classified image, with its preview (or where
the model looked), its file, its most likely classes as bars, and the answer: the top class, or
"unsure" below the minimum confidence.

A dropped folder may hold tens of thousands of photos whose rows arrive in chunks while it is
classified, so the table is a model and a view, not a widget per cell: :class:`ResultsModel`
keeps the rows' results (``predictions``, in the table's order) and appends each chunk at once,
:class:`_CellPainter` paints the previews and the bars of the rows on screen only, and the
previews' pixmaps are made when a row is painted and kept in a bounded cache. (A
``QTableWidget`` with a preview label and a bars widget per row took 30 s of the GUI thread
and 590 MB for 10,000 rows, each chunk slower than the one before.)

The Classify tab adds the engine's results, chooses the minimum confidence and the heat maps,
and says when to draw again. GUI thread only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from core.names import readable
from core.use.predictions import UNSURE
from gui import style
from gui.engine_adapter import THUMBNAIL_SIZE
from gui.widgets.heatmap_view import overlay_pixmap
from gui.widgets.images import preview
from gui.widgets.probability_bars import paint_bars

THUMB = THUMBNAIL_SIZE
#: The table's columns: the preview, the file, the bars, and the answer (the top class, or
#: "unsure"; shown while a minimum confidence is set).
IMAGE_COLUMN, FILE_COLUMN, BARS_COLUMN, ANSWER_COLUMN = range(4)
HEADERS = ("Image", "File", "Prediction", "Answer")
#: Preview pixmaps kept at least (a 96 px one takes about 36 KB); what is on screen always fits.
CACHE = 400

_Index = QModelIndex | QPersistentModelIndex


class ResultsModel(QAbstractTableModel):
    """The rows of results: ``predictions`` (the engine's dicts: ``path``, ``predictions``
    ranked, ``thumbnail``) in row order, with the minimum confidence in percent and the heat
    maps to draw over the previews (None while they are not shown). GUI thread only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.predictions: list[dict] = []
        self.percent = 0
        self.explanations: Mapping[str, dict] | None = None
        self.name_width = 80  # of the bars' class names, the same in every row
        self._pixmaps: OrderedDict[tuple[int, bool], QPixmap] = OrderedDict()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.predictions)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def append(self, predictions: list[dict]) -> None:
        """Add a row for each of ``predictions`` (one chunk: one insertion for the view)."""
        if not predictions:
            return
        start = len(self.predictions)
        self.beginInsertRows(QModelIndex(), start, start + len(predictions) - 1)
        self.predictions += predictions
        self.endInsertRows()

    def clear(self) -> None:
        """No rows, and no pixmaps kept."""
        self.beginResetModel()
        self.predictions = []
        self._pixmaps.clear()
        self.endResetModel()

    def set_percent(self, percent: int) -> None:
        """Mark the answers under a new minimum confidence (percent)."""
        self.percent = percent
        self._changed(ANSWER_COLUMN)

    def set_explanations(self, explanations: Mapping[str, dict] | None) -> None:
        """Draw the previews with the heat maps in ``explanations`` (None: the plain pictures).
        The mapping is the tab's own, so maps that arrive later are drawn too."""
        self.explanations = explanations
        self._pixmaps = OrderedDict((k, v) for k, v in self._pixmaps.items() if not k[1])
        self._changed(IMAGE_COLUMN)

    def _changed(self, column: int) -> None:
        if self.predictions:
            last = len(self.predictions) - 1
            self.dataChanged.emit(self.index(0, column), self.index(last, column))

    def answer(self, row: int) -> tuple[str, str]:
        """Row ``row``'s answer and, when it is "unsure", why (its best guess): its text and
        tool tip."""
        top = self.predictions[row]["predictions"][0]
        label, probability = top["label"], top["probability"]
        if probability >= self.percent / 100:
            return readable(label), ""
        under = f"under the {self.percent}% asked for"
        return UNSURE, f"Best guess: {readable(label)} at {probability:.0%}, {under}"

    def ranked(self, row: int) -> list[tuple[str, float]]:
        """Row ``row``'s classes with their probabilities, best first, as Qt can show them."""
        return [
            (readable(r["label"]), r["probability"]) for r in self.predictions[row]["predictions"]
        ]

    def explanation(self, row: int) -> dict | None:
        """The heat map drawn over row ``row``'s preview now, if any."""
        if self.explanations is None:
            return None
        return self.explanations.get(self.predictions[row]["path"])

    def pixmap(self, row: int) -> QPixmap | None:
        """Row ``row``'s preview as drawn now (with its heat map when one is shown): made on
        first request and kept in a least-recently-used cache; None without a picture."""
        explanation = self.explanation(row)
        key = (row, explanation is not None)
        pixmap = self._pixmaps.get(key)
        if pixmap is not None:
            self._pixmaps.move_to_end(key)
            return pixmap
        if explanation is not None:
            pixmap = overlay_pixmap(explanation, THUMB)
        elif self.predictions[row].get("thumbnail") is not None:
            pixmap = preview(self.predictions[row]["thumbnail"], THUMB)
        else:
            return None
        self._pixmaps[key] = pixmap
        while len(self._pixmaps) > CACHE:
            self._pixmaps.popitem(last=False)
        return pixmap

    def kept(self) -> int:
        """How many preview pixmaps the cache holds (bounded, however many rows)."""
        return len(self._pixmaps)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        row, column = index.row(), index.column()
        if not index.isValid() or not 0 <= row < len(self.predictions):
            return None
        path = self.predictions[row]["path"]
        if column == FILE_COLUMN and role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return readable(path)
        if column == ANSWER_COLUMN:
            text, tip = self.answer(row)
            if role == Qt.ItemDataRole.DisplayRole:
                return text
            if role == Qt.ItemDataRole.ToolTipRole:
                return tip or None
            if role == Qt.ItemDataRole.ForegroundRole and tip:
                return style.current().color("warning")
        if column == BARS_COLUMN and role in (
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.AccessibleTextRole,
        ):
            return "\n".join(f"{n}: {p:.1%}" for n, p in self.ranked(row))
        if column == IMAGE_COLUMN:
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return f"Preview of {readable(Path(path).name)}"
            explanation = self.explanation(row)
            if role == Qt.ItemDataRole.ToolTipRole and explanation is not None:
                return (
                    f"Where the model looked for '{readable(explanation['label'])}' "
                    "(bright: counted most); double-click to enlarge"
                )
        return None


class _CellPainter(QStyledItemDelegate):
    """Paints a row's preview and its bars (the other cells as usual), only for the rows the
    view paints, and sizes every cell without making a picture."""

    def __init__(self, model: ResultsModel, parent: QWidget) -> None:
        super().__init__(parent)
        self._model = model

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        super().paint(painter, option, index)  # the background, selection and focus
        rect = QRectF(option.rect).adjusted(4, 0, -4, 0)  # type: ignore[attr-defined]
        if index.column() == IMAGE_COLUMN:
            pixmap = self._model.pixmap(index.row())
            if pixmap is not None:
                x = rect.left() + (rect.width() - pixmap.width()) / 2
                y = rect.top() + (rect.height() - pixmap.height()) / 2
                painter.drawPixmap(int(x), int(y), pixmap)
        elif index.column() == BARS_COLUMN:
            painter.save()
            painter.setClipRect(rect)
            paint_bars(painter, rect, self._model.ranked(index.row()), self._model.name_width)
            painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        return QSize(THUMB + 8, THUMB + 8)


class ResultsTable(QTableView):
    """The Classify tab's results, one row each; ``predictions`` holds them in row order."""

    def __init__(self) -> None:
        super().__init__()
        self.results = ResultsModel(self)
        self.setModel(self.results)
        self.setItemDelegate(_CellPainter(self.results, self))
        self.setAccessibleName("Results")
        self.setToolTip("Each image with the classes the model finds most likely")
        header = self.horizontalHeader()
        header.setSectionResizeMode(IMAGE_COLUMN, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(FILE_COLUMN, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(BARS_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ANSWER_COLUMN, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(IMAGE_COLUMN, THUMB + 8)
        self.setColumnWidth(FILE_COLUMN, 380)
        self.setColumnWidth(ANSWER_COLUMN, 120)
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no row is measured
        rows.setDefaultSectionSize(THUMB + 8)
        rows.setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)

    @property
    def predictions(self) -> list[dict]:
        """The results listed, in the table's order."""
        return self.results.predictions

    def rowCount(self) -> int:
        """How many results are listed."""
        return len(self.results.predictions)

    def add(
        self,
        predictions: list[dict],
        name_width: int,
        explanations: Mapping[str, dict] | None,
        percent: int,
    ) -> None:
        """Add a row for each of ``predictions`` (the class names of the bars ``name_width``
        pixels wide in every row) and scroll to the last, unless the user scrolled up to read;
        ``explanations`` and ``percent`` as for :meth:`show_thumbnails` and
        :meth:`show_answers`."""
        bar = self.verticalScrollBar()
        following = bar.value() >= bar.maximum()
        self.results.name_width = max(self.results.name_width, name_width)
        self.results.explanations = explanations
        self.results.percent = percent
        self.results.append(predictions)
        if following:
            self.scrollToBottom()

    def clear_rows(self) -> None:
        """Empty the table."""
        self.results.clear()

    def show_answers(self, percent: int) -> None:
        """Mark every answer again, under a new minimum confidence."""
        self.results.set_percent(percent)

    def show_thumbnails(self, explanations: Mapping[str, dict] | None) -> None:
        """Draw every preview again, with the heat maps in ``explanations`` (or none)."""
        self.results.set_explanations(explanations)

    def text(self, row: int, column: int) -> str:
        """What cell (``row``, ``column``) says (its display text)."""
        return str(self.results.data(self.results.index(row, column)) or "")

    def tool_tip(self, row: int, column: int) -> str:
        """Cell (``row``, ``column``)'s tool tip ("" without one)."""
        tip = self.results.data(self.results.index(row, column), Qt.ItemDataRole.ToolTipRole)
        return str(tip or "")

    def setCurrentCell(self, row: int, column: int) -> None:
        """Make cell (``row``, ``column``) the current one, as a table widget would."""
        self.setCurrentIndex(self.results.index(row, column))


class ClassifyProgress(QWidget):
    """How far the classification under way got ("120 of 10,000 images"), with its Cancel
    button (``cancel_button``: the tab connects it). Shown while the engine has
    classifications queued (:meth:`set_busy`). GUI thread only."""

    STEPS = 1000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setRange(0, self.STEPS)
        self.bar.setAccessibleName("Classifying")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop classifying; the results listed so far stay")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel_button)
        self.setVisible(False)

    def set_busy(self, busy: bool) -> None:
        """Show the bar (from zero, when it was hidden) while classifications are queued."""
        if busy and self.isHidden():
            self.bar.setValue(0)
            self.bar.setFormat("Starting…")
        self.setVisible(busy)

    def show_progress(self, fraction: float, message: str) -> None:
        """The engine's ``classify_progress``: the share of the request's files done."""
        self.bar.setValue(round(min(max(fraction, 0.0), 1.0) * self.STEPS))
        self.bar.setFormat(f"Classifying: {readable(message)} (%p%)")
