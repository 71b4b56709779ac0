"""The Classify tab's camera mode: the Camera button (Ctrl+K) and switching between the image
list and the live panel (:class:`gui.tabs.classify_live.LivePanel`, made and Qt Multimedia
imported on first use). A base class of :class:`gui.tabs.classify.ClassifyTab`, apart so the
tab's class stays about the image list. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import QPushButton, QWidget

from gui import style
from gui.camera.feed import SourceFactory
from gui.engine_adapter import Engine

if TYPE_CHECKING:
    from gui.tabs.classify_live import LivePanel

#: Key of the camera mode's toggle.
CAMERA_KEY = "Ctrl+K"


class CameraMode(QWidget):
    """The camera mode of a tab that also lists classified images. The tab sets
    :attr:`engine` and calls :meth:`_camera_button` while building; its ``_update`` hides its
    list while :attr:`camera_button` is checked."""

    engine: Engine
    live: LivePanel | None = None  # the camera mode, made on first use
    camera_factory: SourceFactory | None = None  # tests: makes fake frame sources

    def _camera_button(self) -> QPushButton:
        """The Camera toggle (kept as :attr:`camera_button`)."""
        self.camera_button = QPushButton(style.icon("classify"), "Camera")
        self.camera_button.setCheckable(True)
        self.camera_button.setShortcut(CAMERA_KEY)
        self.camera_button.setToolTip(
            f"Classify what the camera sees, live ({CAMERA_KEY}); add wrongly answered "
            "frames to the right class"
        )
        self.camera_button.toggled.connect(self.show_camera)
        return self.camera_button

    def _live_threshold(self) -> Callable[[], float]:
        """How sure the model must be to answer, read when each answer comes (the tab's)."""
        raise NotImplementedError

    def _update(self) -> None:  # the tab's
        raise NotImplementedError

    def show_camera(self, shown: bool) -> None:
        """Switch to the camera mode (made, and Qt Multimedia imported, on first use) or back
        to the image list; the camera is released when the mode is left."""
        if shown and self.live is None:
            from gui.tabs.classify_live import LivePanel

            self.live = LivePanel(self.engine, self._live_threshold(), self, self.camera_factory)
            self.live.retrain_requested.connect(self.retrain_requested)  # type: ignore[attr-defined]
            self.layout().addWidget(self.live, 1)
        if self.live is not None:
            self.live.setVisible(shown)
            self.live.start() if shown else self.live.stop()
        if self.camera_button.isChecked() != shown:
            self.camera_button.setChecked(shown)
        self._update()

    def hideEvent(self, event: QHideEvent) -> None:
        """Leaving the tab turns the camera off (GUI thread)."""
        if self.camera_button.isChecked():
            self.show_camera(False)
        super().hideEvent(event)
