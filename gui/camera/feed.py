"""The camera row every camera view shares: a choice of camera by name, the live picture, and
the camera's state in words. It owns the frame source and hands each frame on. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.camera.frames import DEAD, LIVE, CameraInfo, FrameSource, list_cameras, open_source
from gui.widgets.live_view import LiveView

#: Makes the source for a camera (None: no camera). Tests pass one giving fakes.
SourceFactory = Callable[[CameraInfo | None], FrameSource]


class CameraFeed(QWidget):
    """Camera choice + preview. ``frame_arrived`` re-emits each frame (uint8 RGB, as the camera
    saw it: the preview alone is mirrored); ``state_changed`` the source's (state, message).
    The source opens on :meth:`start` (Qt Multimedia is imported then, not before)."""

    frame_arrived = Signal(object)
    state_changed = Signal(str, str)

    def __init__(
        self,
        parent: QWidget | None = None,
        source_factory: SourceFactory | None = None,
        cameras: Callable[[], list[CameraInfo]] | None = None,
    ) -> None:
        super().__init__(parent)
        self._factory = source_factory or (lambda camera: open_source(camera, self))
        self._list = cameras or list_cameras
        self._cameras: list[CameraInfo] = []
        self.source: FrameSource | None = None
        self.camera_box = QComboBox()
        self.camera_box.setAccessibleName("Camera")
        self.camera_box.setToolTip("The camera to use, by the name the system gives it")
        self.camera_box.activated.connect(lambda _index: self.start())
        self.view = LiveView()
        self.status = QLabel()
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Camera:"))
        row.addWidget(self.camera_box, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)

    @property
    def live(self) -> bool:
        return self.source is not None and self.source.state == LIVE

    def chosen(self) -> CameraInfo | None:
        index = self.camera_box.currentIndex()
        return self._cameras[index] if 0 <= index < len(self._cameras) else None

    def refresh(self) -> None:
        """List the cameras again, keeping the chosen one (by name) or the system's default."""
        before = self.chosen()
        self._cameras = self._list()
        self.camera_box.clear()
        self.camera_box.addItems([c.name for c in self._cameras] or ["No camera found"])
        self.camera_box.setEnabled(bool(self._cameras))
        names = [c.name for c in self._cameras]
        defaults = [k for k, c in enumerate(self._cameras) if c.default]
        if before is not None and before.name in names:
            self.camera_box.setCurrentIndex(names.index(before.name))
        elif defaults:
            self.camera_box.setCurrentIndex(defaults[0])

    def start(self) -> None:
        """Open the chosen camera (stopping the one before); frames follow."""
        self.stop()
        if not self._cameras:
            self.refresh()
        self.source = self._factory(self.chosen())
        self.source.frame_arrived.connect(self._on_frame)
        self.source.state_changed.connect(self._on_state)
        if self.source.state in DEAD and self.source.message:  # e.g. no camera at all
            self._on_state(self.source.state, self.source.message)
        else:
            self.source.start()

    def stop(self) -> None:
        """Release the camera (on close, and before another one opens)."""
        if self.source is not None:
            source, self.source = self.source, None
            source.frame_arrived.disconnect(self._on_frame)
            source.state_changed.disconnect(self._on_state)
            source.stop()
            source.deleteLater()
            self.view.show_message("The camera is off.")

    def _on_frame(self, pixels: np.ndarray) -> None:
        """GUI thread: show the frame, then hand it on."""
        self.view.show_frame(pixels)
        self.frame_arrived.emit(pixels)

    def _on_state(self, state: str, message: str) -> None:
        """GUI thread: say what the camera is doing; a dead camera's message covers the view."""
        self.status.setText(message if state != LIVE else f"{message}.")
        if state in DEAD:
            self.view.show_message(message)
        self.state_changed.emit(state, message)
