"""The frame-source seam: what the capture dialog and the live classifier read frames from.

A :class:`FrameSource` is a ``QObject`` living on the GUI thread. ``frame_arrived`` carries each
new frame as uint8 RGB pixels (height x width x 3, a private copy); ``state_changed`` carries
(state, message) whenever the state changes, the message naming the device and the reason.
Sources: the real camera and a video file (:mod:`gui.camera.qt_source`, imported lazily by
:func:`open_source`), and tests' fakes (:class:`ManualSource` here: frames pushed by hand).

The environment variable ``CNN_STUDIO_CAMERA_VIDEO`` (a video file's path) makes every camera
choice play that file instead, looping: how the screenshots and the live benchmark show real
frames on machines without a camera.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

#: States of a source (``FrameSource.state``).
STARTING, LIVE, NO_CAMERA, BUSY, DENIED, LOST, ENDED, FAILED, STOPPED = (
    "starting", "live", "no camera", "busy", "denied", "lost", "ended", "failed", "stopped",
)  # fmt: skip
#: The states in which no more frames come (until started again).
DEAD = (NO_CAMERA, BUSY, DENIED, LOST, ENDED, FAILED, STOPPED)
VIDEO_VARIABLE = "CNN_STUDIO_CAMERA_VIDEO"


@dataclass(frozen=True)
class CameraInfo:
    """A camera the system offers: ``key`` identifies it to the backend, ``name`` is what the
    user sees (and what settings remember), ``default`` the system's default camera."""

    key: str
    name: str
    default: bool = False


class FrameSource(QObject):
    """Frames from somewhere, on the GUI thread; see the module docstring."""

    frame_arrived = Signal(object)  # np.ndarray uint8 (H, W, 3), GUI thread
    state_changed = Signal(str, str)  # (state, message), GUI thread

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.state = STOPPED
        self.message = ""
        self.frames = 0  # frames delivered since start

    def start(self) -> None:
        """Begin delivering frames (GUI thread)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop delivering frames and release the device (GUI thread)."""
        self._set_state(STOPPED, f"{self.name}: stopped")

    def _set_state(self, state: str, message: str) -> None:
        if (state, message) != (self.state, self.message):
            self.state, self.message = state, message
            self.state_changed.emit(state, message)

    def _deliver(self, pixels: np.ndarray) -> None:
        """Hand on one frame (GUI thread); the first one makes the source live."""
        if self.state != LIVE:
            self._set_state(LIVE, f"{self.name}: live")
        self.frames += 1
        self.frame_arrived.emit(pixels)


class ManualSource(FrameSource):
    """A source whose frames and faults are pushed by hand (tests, and the no-camera state)."""

    def start(self) -> None:
        self._set_state(STARTING, f"{self.name}: starting")

    def push(self, pixels: np.ndarray) -> None:
        self._deliver(np.asarray(pixels, np.uint8))

    def fail(self, state: str, message: str) -> None:
        self._set_state(state, message)


def video_override() -> str | None:
    """The video file that stands in for the camera (``CNN_STUDIO_CAMERA_VIDEO``), or None."""
    return os.environ.get(VIDEO_VARIABLE) or None


def list_cameras() -> list[CameraInfo]:
    """The cameras the system offers now (imports Qt Multimedia on first use: GUI thread)."""
    if video_override():
        return [CameraInfo("video", f"Video file {Path(video_override() or '').name}")]
    try:
        from gui.camera.qt_source import cameras
    except ImportError:  # said by open_source, which is asked next
        return []
    return cameras()


def open_source(camera: CameraInfo | None, parent: QObject | None = None) -> FrameSource:
    """A source for ``camera`` (None: no camera; a :class:`ManualSource` that says so), or
    the video file of ``CNN_STUDIO_CAMERA_VIDEO``. Not started yet."""
    try:
        from gui.camera.qt_source import CameraSource, VideoFileSource
    except ImportError as exc:  # Qt Multimedia or a library it needs (libpulse) is missing
        source = ManualSource("Camera support", parent)
        source._set_state(
            FAILED,
            f"Camera support could not be loaded ({exc}). On Linux, Qt Multimedia needs the "
            "PulseAudio client library (package libpulse0 or pulseaudio-libs).",
        )
        return source
    video = video_override()
    if video:
        return VideoFileSource(video, loop=True, parent=parent)
    if camera is None:
        source = ManualSource("No camera", parent)
        source._set_state(NO_CAMERA, "No camera was found. Plug one in, then choose it here.")
        return source
    return CameraSource(camera, parent)
