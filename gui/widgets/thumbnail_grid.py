"""A grid of many thumbnails that makes each one only when it comes into view.

The Data tab shows every image of a class, and a class may hold 50,000 of them: making an
icon for each up front (one ``QListWidgetItem`` apiece) would take seconds and hundreds of
megabytes before the first one shows. Here :class:`ThumbnailModel` lists the images by row and
makes a row's thumbnail only when the view paints it, keeping the most recently used ones in
a bounded cache; :class:`ThumbnailGrid` shows them and, after each paint, makes the rows a
screenful beyond either edge of what it painted (the margin), so scrolling by a page shows
pictures at once. Cells are sized without making a thumbnail (:class:`_CellDelegate`), so
laying out 50,000 rows touches no pixels.

The pixels are arrays already decoded in memory (the dataset's images as the model sees
them), so one thumbnail costs tens of microseconds and is made on the GUI thread. Everything
here lives on the GUI thread.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QPaintEvent
from PySide6.QtWidgets import (
    QApplication,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from gui.widgets.images import array_icon

#: Thumbnails kept at least (a 64 px one takes 16 KB); a larger screen keeps more.
CACHE = 800
#: The margin made ahead of the scroll is as many rows as were painted, but no more than this.
MARGIN = 300

_Index = QModelIndex | QPersistentModelIndex


def _nothing(_row: int) -> str:
    return ""


class ThumbnailModel(QAbstractListModel):
    """Rows of images: ``order`` gives, for each row, the row of ``images`` it shows.

    ``data()`` answers the thumbnail (decoration), ``caption(i)`` (display), ``tooltip(i)``
    and ``paths[i]`` (user role) for image ``i``; the thumbnail is made on first request and
    kept in a least-recently-used cache. ``made`` counts the thumbnails made since the last
    :meth:`show`, which lets tests and measurements see that only what was shown was made.
    """

    def __init__(self, size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._size = size
        self._images: np.ndarray | None = None
        self._order = np.empty(0, np.intp)
        self._paths: Sequence[str] = ()
        self._caption: Callable[[int], str] = _nothing
        self._tooltip: Callable[[int], str] = _nothing
        self._cache: OrderedDict[int, QIcon] = OrderedDict()  # image row -> thumbnail
        self._limit = CACHE
        self._asked: tuple[int, int] | None = None  # first and last row asked to paint
        self.made = 0
        #: The widest caption any row has ("valid/"), so every cell has room for its own.
        self.widest_caption = ""

    def show(
        self,
        images: np.ndarray,
        order: np.ndarray,
        paths: Sequence[str],
        caption: Callable[[int], str] = _nothing,
        tooltip: Callable[[int], str] = _nothing,
        widest_caption: str = "",
    ) -> None:
        """List the images ``order`` of ``images`` (all of them; none is made yet). The
        thumbnails already made of the same ``images`` are kept: re-sorting a class, or
        coming back to it, makes nothing again."""
        self.beginResetModel()
        if images is not self._images:
            self._cache.clear()
        self._images = images
        self._order = np.asarray(order, dtype=np.intp)
        self._paths = paths
        self._caption = caption
        self._tooltip = tooltip
        self.widest_caption = widest_caption
        self._limit = CACHE
        self.made = 0
        self.endResetModel()

    def clear(self) -> None:
        """No rows, and no thumbnails kept."""
        self.beginResetModel()
        self._images = None
        self._order = np.empty(0, np.intp)
        self._paths = ()
        self._cache.clear()
        self.widest_caption = ""
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._order)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        row = index.row()
        if not index.isValid() or not 0 <= row < len(self._order):
            return None
        image = int(self._order[row])
        if role == Qt.ItemDataRole.DecorationRole:
            first, last = self._asked or (row, row)
            self._asked = (min(first, row), max(last, row))
            return self.thumbnail(row)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._caption(image)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(image)
        if role == Qt.ItemDataRole.UserRole:
            return self._paths[image]
        return None

    def thumbnail(self, row: int) -> QIcon:
        """Row ``row``'s thumbnail: from the cache, else made now (and the oldest one let go
        when the cache is full)."""
        image = int(self._order[row])
        icon = self._cache.get(image)
        if icon is not None:
            self._cache.move_to_end(image)
            return icon
        assert self._images is not None  # rows exist only with images
        icon = array_icon(self._images[image], self._size)
        self.made += 1
        self._cache[image] = icon
        while len(self._cache) > self._limit:
            self._cache.popitem(last=False)
        return icon

    def is_made(self, row: int) -> bool:
        """Whether row ``row``'s thumbnail is in the cache now."""
        return 0 <= row < len(self._order) and int(self._order[row]) in self._cache

    def kept(self) -> int:
        """How many thumbnails the cache holds now (bounded, however long the list)."""
        return len(self._cache)

    def take_asked(self) -> tuple[int, int] | None:
        """The first and last row whose thumbnail was asked for since the last call."""
        asked, self._asked = self._asked, None
        return asked

    def make_ahead(self, first: int, last: int) -> None:
        """Make the thumbnails of rows ``first``..``last`` (clipped) a paint will want next,
        keeping room in the cache for them and for what is on screen."""
        first, last = max(first, 0), min(last, len(self._order) - 1)
        self._limit = max(self._limit, 2 * (last - first + 1))
        for row in range(first, last + 1):
            if not self.is_made(row):
                self.thumbnail(row)


class _CellDelegate(QStyledItemDelegate):
    """Draws cells as usual but sizes them without asking for a thumbnail: a thumbnail-sized
    picture above the model's widest caption. (The view asks a row's size to lay out the grid;
    with the default delegate that would make the thumbnail of a row far out of view.)"""

    def __init__(self, model: ThumbnailModel, size: int, parent: QWidget) -> None:
        super().__init__(parent)
        self._model = model
        self._size = size

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        cell = QStyleOptionViewItem(option)
        cell.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
        cell.decorationSize = QSize(self._size, self._size)
        if self._model.widest_caption:
            cell.features |= QStyleOptionViewItem.ViewItemFeature.HasDisplay
            cell.text = self._model.widest_caption
        widget = option.widget  # type: ignore[attr-defined]
        style = widget.style() if widget is not None else QApplication.style()
        return style.sizeFromContents(QStyle.ContentsType.CT_ItemViewItem, cell, QSize(), widget)


class ThumbnailGrid(QListView):
    """An icon grid over a :class:`ThumbnailModel` (``thumbs``) of ``size`` px thumbnails.

    ``count()``, ``currentRow()``, ``setCurrentRow()`` and ``clear()`` speak in rows, as a
    list widget does. After a paint it makes the rows beyond what it painted from an idle
    timer, so the paint itself makes only what is on screen.
    """

    def __init__(self, size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbs = ThumbnailModel(size, self)
        self.setModel(self.thumbs)
        self.setItemDelegate(_CellDelegate(self.thumbs, size, self))
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(size, size))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSpacing(4)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self._ahead: tuple[int, int] | None = None
        self._ahead_timer = QTimer(self, singleShot=True, interval=0)
        self._ahead_timer.timeout.connect(self._make_ahead)

    def count(self) -> int:
        """How many images are listed (all of them, made or not)."""
        return self.thumbs.rowCount()

    def currentRow(self) -> int:
        """The current image's row, or -1."""
        index = self.currentIndex()
        return index.row() if index.isValid() else -1

    def setCurrentRow(self, row: int) -> None:
        """Make row ``row`` current and selected (scrolled into view)."""
        self.setCurrentIndex(self.thumbs.index(row))

    def clear(self) -> None:
        """List nothing."""
        self.thumbs.clear()

    def paintEvent(self, event: QPaintEvent) -> None:
        self.thumbs.take_asked()  # only what this paint asks for counts
        super().paintEvent(event)
        painted = self.thumbs.take_asked()
        if painted is not None:
            first, last = painted
            margin = min(last - first + 1, MARGIN)
            self._ahead = (first - margin, last + margin)
            self._ahead_timer.start()

    def _make_ahead(self) -> None:
        """The margin: the rows a screenful before and after the last paint's (idle time)."""
        if self._ahead is not None:
            self.thumbs.make_ahead(*self._ahead)
            self._ahead = None
