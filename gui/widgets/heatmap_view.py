"""Where the model looked: heat-map thumbnails and the enlarged view of one result (GUI thread).

The engine sends each explanation as plain data (:func:`gui.engine_adapter.explanation_row`: the
image as the model saw it, a 0..1 heat map at the same size, the answer it explains); this module
draws them with :mod:`core.use.heatmap` (NumPy only). The Classify tab and the Results page's list
of misclassified images both use it: thumbnails with the map blended in, and :class:`HeatmapView`,
a non-modal dialog with the image and the map side by side, an opacity slider, and a sentence
saying what the colours mean. Its two pictures take whatever room the dialog has (it opens sized
to the main window): a 224 px photo is scaled smoothly to fill it, a 28 px digit in whole pixels.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from core.names import readable, short_name
from core.use.heatmap import COLORMAP, DEFAULT_ALPHA, overlay
from gui import style
from gui.widgets.images import FittedPicture, array_pixmap, preview

#: Smallest and largest side (pixels) of the enlarged view's two pictures when it opens; the
#: user may make the window (and so the pictures) larger still.
VIEW_SIZE = 256
MAX_VIEW_SIZE = 512
#: Share of the main window (or the screen) the enlarged view may take when it opens.
ROOM_SHARE = 0.92
#: Text of the toggle that shows the heat maps (the Classify tab's and the Results page's).
TOGGLE_TEXT = "Show where it looked"
TOGGLE_TIP = (
    "Colour each image by where the model found the evidence for its answer (Grad-CAM on its "
    "last convolutional layer). Double-click an image, or press Enter, to see it enlarged."
)


def overlay_image(explanation: Mapping[str, Any], alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """The image as the model saw it with the heat map blended over it (uint8 RGB); ``alpha``
    is the map's share, 0 (the image alone) to 1 (the map alone)."""
    return overlay(explanation["image"], explanation["heatmap"], alpha)


def overlay_pixmap(explanation: Mapping[str, Any], size: int) -> QPixmap:
    """A ``size`` px thumbnail of :func:`overlay_image` (small inputs enlarged without blur)."""
    return preview(overlay_image(explanation), size)


def colour_scale(width: int = 160, height: int = 12) -> QPixmap:
    """The heat-map colours from "counted little" (left) to "counted most" (right)."""
    columns = COLORMAP[np.linspace(0, len(COLORMAP) - 1, width).astype(np.intp)]
    strip = np.ascontiguousarray(np.repeat(columns[None], height, axis=0))
    return array_pixmap(strip)


def meaning(label: str, heatmap: np.ndarray) -> str:
    """A plain sentence on what the colours of ``heatmap`` mean for the answer ``label``."""
    answer = short_name(readable(label), 40)
    if not np.asarray(heatmap).max(initial=0.0) > 0:
        return (
            f"The model found no part of the image that speaks for '{answer}' more than the "
            "rest, so the map is dark all over: the answer rests on the image as a whole."
        )
    return (
        f"Bright yellow marks the parts of the image that counted most for the answer "
        f"'{answer}'; red less, and dark purple or black parts counted little or not at all. "
        "It shows where the model found its evidence, not whether it is right."
    )


class HeatmapView(QDialog):
    """One result enlarged: the image as the model saw it, the same with the heat map over it
    (its strength set by a slider), the answer, and what the colours mean.

    Non-modal and reused: the tab that owns it calls :meth:`show_result` for each result the
    user opens and :meth:`show_explanation` when the map arrives from the engine.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Where the model looked")
        self.setModal(False)
        self.path: str | None = None
        self.explanation: Mapping[str, Any] | None = None
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.answer = QLabel()
        self.answer.setWordWrap(True)
        self.image = FittedPicture(VIEW_SIZE, minimum=VIEW_SIZE * 3 // 4)
        self.heat = FittedPicture(VIEW_SIZE, minimum=VIEW_SIZE * 3 // 4)
        self._sized = False  # sized to the main window on its first showing
        for picture, name in ((self.image, "The image"), (self.heat, "The heat map")):
            picture.setAccessibleName(name)
        self.image_caption = QLabel("As the model saw it")
        self.heat_caption = QLabel("Where it looked")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(DEFAULT_ALPHA * 100))
        self.opacity.setAccessibleName("Heat map strength")
        self.opacity.setToolTip("How strongly the heat map covers the image: 0% the image alone")
        self.opacity.valueChanged.connect(self._draw_heat)
        strength = QLabel("Heat map &strength:")
        strength.setBuddy(self.opacity)
        self.scale = QLabel()
        self.scale.setPixmap(colour_scale())
        self.scale.setAccessibleName("Colour scale from counted little to counted most")
        self.meaning = QLabel()
        self.meaning.setWordWrap(True)
        # Room for the sentence from the start (it comes with the map), so the pictures and
        # their captions never have to share their space with it.
        self.meaning.setMinimumHeight(3 * self.meaning.fontMetrics().lineSpacing())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setToolTip("Close this view (Esc)")
        close.setAccessibleName("Close")

        self._pictures = pictures = QGridLayout()
        pictures.setHorizontalSpacing(style.MARGIN)
        pictures.addWidget(self.image, 0, 0)
        pictures.addWidget(self.heat, 0, 1)
        pictures.addWidget(self.image_caption, 1, 0, Qt.AlignmentFlag.AlignHCenter)
        pictures.addWidget(self.heat_caption, 1, 1, Qt.AlignmentFlag.AlignHCenter)
        slider_row = QHBoxLayout()
        slider_row.addWidget(strength)
        slider_row.addWidget(self.opacity, 1)
        scale_row = QHBoxLayout()
        scale_row.addWidget(QLabel("counted little"))
        scale_row.addWidget(self.scale)
        scale_row.addWidget(QLabel("counted most"))
        scale_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.answer)
        layout.addLayout(pictures, 1)  # the pictures take whatever room there is
        layout.addLayout(slider_row)
        layout.addLayout(scale_row)
        layout.addWidget(self.meaning)
        layout.addWidget(buttons)

    def show_result(
        self,
        path: str,
        label: str,
        probability: float,
        *,
        truth: str | None = None,
        picture: np.ndarray | None = None,
        explanation: Mapping[str, Any] | None = None,
    ) -> None:
        """Show the result for ``path``: the answer ``label`` at ``probability`` (and the real
        class ``truth`` for a mistake), ``picture`` until the map comes, and the map at once
        when ``explanation`` is given. Raises the dialog."""
        self.path = path
        self.explanation = None
        self.title.setText(f"<b>{html.escape(readable(Path(path).name))}</b>")
        self.title.setToolTip(readable(path))
        answer = f"The model answered '{short_name(readable(label), 40)}', {probability:.0%} sure"
        if truth is not None:
            answer += f"; really '{short_name(readable(truth), 40)}'"
        self.answer.setText(answer + ".")
        self.heat.clear()
        self.image.clear()
        if picture is not None:
            self.image.setPixmap(array_pixmap(picture))
        self.heat.setText("Finding where the model looked…")
        self.meaning.setText("")
        if explanation is not None:
            self.show_explanation(explanation)
        if not self._sized:
            self._sized = True
            self._size_to_room()
        self.show()
        self.raise_()
        self.activateWindow()

    def show_explanation(self, explanation: Mapping[str, Any]) -> None:
        """Draw ``explanation`` (GUI thread), if it belongs to the result on show."""
        if explanation["path"] != self.path:
            return
        self.explanation = explanation
        self.image.setPixmap(array_pixmap(np.asarray(explanation["image"])))
        self._draw_heat()
        self.meaning.setText(meaning(explanation["label"], explanation["heatmap"]))
        self._fit()

    def _size_to_room(self) -> None:
        """Open as large as the main window allows (within the screen): two square pictures
        side by side, each :data:`VIEW_SIZE` to :data:`MAX_VIEW_SIZE` px, with the text
        around them at that width, so neither large gaps nor a window too big to see whole."""
        screen = self.screen() or QApplication.primaryScreen()
        room = screen.availableGeometry().size() if screen is not None else None
        parent = self.parentWidget()
        if parent is not None:
            window = parent.window().size()
            room = window if room is None else room.boundedTo(window)
        if room is None:
            return
        width, height = int(room.width() * ROOM_SHARE), int(room.height() * ROOM_SHARE)
        margins = self.layout().contentsMargins()
        beside = margins.left() + margins.right() + max(self._pictures.horizontalSpacing(), 0)
        side = min(MAX_VIEW_SIZE, (width - beside) // 2)
        for _ in range(4):  # the text's height depends on the width: settle both
            side = max(VIEW_SIZE, side)
            self.image.set_preferred(side)
            self.heat.set_preferred(side)
            self._pictures.invalidate()  # layouts keep their size hints: forget them
            self.layout().invalidate()
            needed = max(
                self.heightForWidth(2 * side + beside), self.layout().totalSizeHint().height()
            )
            if needed <= height or side == VIEW_SIZE:
                break
            side -= needed - height
        self.resize(2 * side + beside, needed)

    def _fit(self) -> None:
        """Grow the window when its text needs more height than it has (never shrink it)."""
        if not self._sized:
            return  # sized to the room when it first shows
        layout = self.layout()
        width = self.width()
        needed = layout.heightForWidth(width) if layout.hasHeightForWidth() else -1
        needed = max(needed, layout.minimumSize().height())
        if needed > self.height():
            self.resize(width, needed)

    def show_failure(self, path: str, reason: str) -> None:
        """Say why the map of ``path`` could not be made, if it is the result on show."""
        if path == self.path and self.explanation is None:
            self.heat.setText(f"No heat map: {reason}")

    def _draw_heat(self) -> None:
        if self.explanation is None:
            return
        alpha = self.opacity.value() / 100
        self.heat.setPixmap(array_pixmap(overlay_image(self.explanation, alpha)))


class _EnterOpens(QObject):
    """Event filter: Enter or Return on an item view calls ``callback`` with its current row."""

    def __init__(self, view: QAbstractItemView, callback: Callable[[int], None]) -> None:
        super().__init__(view)
        self._view = view
        self._callback = callback

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        enter = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            row = self._view.currentIndex().row()
            if event.key() in enter and row >= 0:
                self._callback(row)
                return True
        return False


def open_on_enter(view: QAbstractItemView, callback: Callable[[int], None]) -> None:
    """Make Enter/Return on ``view`` call ``callback(current row)`` (GUI thread)."""
    view.installEventFilter(_EnterOpens(view, callback))


class HeatMaps:
    """The heat maps one tab asked for, the files that got none and why, the request in flight
    and the enlarged view: the bookkeeping the Classify tab and the Results page share.

    Lives on the GUI thread. The tab decides which images it wants and how it names them; this
    keeps what arrived (``received``), what to ask for next (``to_ask``) and the view.
    """

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent
        self.explanations: dict[str, dict] = {}  # path -> explanation row (heat map)
        self.no_map: dict[str, str] = {}  # path -> why its map could not be made
        self._asked: set[str] = set()  # paths of the request in flight
        self.view: HeatmapView | None = None  # the enlarged view, made on first use

    def to_ask(self, wanted: list[str]) -> list[str]:
        """The paths of ``wanted`` still without a map or a reason, unless exactly those are
        being asked for already (a request replaces the one before, so it lists them all)."""
        missing = list(
            dict.fromkeys(p for p in wanted if p not in self.explanations and p not in self.no_map)
        )
        if not missing or set(missing) <= self._asked:
            return []
        self._asked = set(missing)
        return missing

    def received(self, rows: list[dict], failures: list[tuple[str, str]]) -> None:
        """Keep the maps (and the reasons for missing ones) that arrived; update the view."""
        self._asked.clear()
        for explanation in rows:
            self.explanations[explanation["path"]] = explanation
            if self.view is not None:
                self.view.show_explanation(explanation)
        for path, reason in failures:
            self.no_map[path] = reason
            if self.view is not None:
                self.view.show_failure(path, reason)

    def failed(self, message: str) -> None:
        """The whole request failed (the model cannot be explained): say so in the view."""
        self._asked.clear()
        if self.view is not None and self.view.path is not None:
            self.view.show_failure(self.view.path, message)

    def forget(self) -> None:
        """Drop every map (another model is on show) and close the view."""
        self.explanations.clear()
        self.no_map.clear()
        self._asked.clear()
        if self.view is not None:
            self.view.close()

    def open(self, path: str, label: str, probability: float, **shown: Any) -> bool:
        """Show ``path`` enlarged (``shown``: ``truth``, ``picture``); True when its map is
        neither here nor known to be impossible, so the tab should ask for it."""
        if self.view is None:
            self.view = HeatmapView(self._parent)
        self.view.show_result(
            path, label, probability, explanation=self.explanations.get(path), **shown
        )
        if path in self.no_map:
            self.view.show_failure(path, self.no_map[path])
            return False
        return path not in self.explanations
