"""Frame sources on Qt Multimedia: the camera (``QCamera``) and a video file (``QMediaPlayer``).

Both hand Qt's ``QVideoFrame`` to the same :func:`frame_pixels` (FFmpeg decodes both: a
webcam's MJPEG or YUV stream and a file's), so a video file exercises the camera's code path.
Imported only when a camera is first opened (:func:`gui.camera.frames.open_source`): Qt
Multimedia loads FFmpeg, which the window's start must not wait for. GUI thread only.

Faults become states with a message naming the device: no camera, permission denied (macOS
asks the user once; the packaged app carries ``NSCameraUsageDescription``), busy (another
program holds it), lost (unplugged while in use: what was captured is kept by the dialogs).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import (
    QCamera,
    QCameraDevice,
    QMediaCaptureSession,
    QMediaDevices,
    QMediaPlayer,
    QVideoFrame,
    QVideoSink,
)
from PySide6.QtWidgets import QApplication

from gui.camera.convert import frame_to_rgb
from gui.camera.frames import (
    BUSY,
    DENIED,
    ENDED,
    FAILED,
    LOST,
    NO_CAMERA,
    STARTING,
    STOPPED,
    CameraInfo,
    FrameSource,
)

#: The resolution asked of a camera: the largest format up to this many pixels wide (a
#: 224-pixel model needs no more, and bigger frames cost time to convert on every frame).
WANTED_WIDTH = 640


def cameras() -> list[CameraInfo]:
    """The cameras the system offers now, by name."""
    default = QMediaDevices.defaultVideoInput()
    return [
        CameraInfo(bytes(d.id().data()).hex(), d.description(), d.id() == default.id())
        for d in QMediaDevices.videoInputs()
    ]


def frame_pixels(frame: QVideoFrame) -> np.ndarray | None:
    """A decoded frame as uint8 RGB pixels (a private copy), or None for an empty frame."""
    if not frame.isValid():
        return None
    pixels = frame_to_rgb(frame)  # on the CPU: toImage() goes through the GPU driver
    if pixels is not None:
        return pixels
    image = frame.toImage()
    if image.isNull():
        return None
    return image_pixels(image)


def image_pixels(image: QImage) -> np.ndarray:
    """A ``QImage`` as uint8 RGB pixels (height x width x 3, a private copy)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    height, width, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()


def _best_format(device: QCameraDevice) -> object | None:
    """The format to ask of ``device``: the widest up to WANTED_WIDTH (else the smallest),
    preferring higher frame rates."""
    formats = list(device.videoFormats())
    if not formats:
        return None

    def width(f: object) -> int:
        return f.resolution().width()  # type: ignore[attr-defined]

    small = [f for f in formats if width(f) <= WANTED_WIDTH]
    pool = small or [min(formats, key=width)]
    return max(pool, key=lambda f: (width(f), f.maxFrameRate()))  # type: ignore[attr-defined]


class _SinkSource(FrameSource):
    """A source reading a ``QVideoSink``: the part the camera and a video file share."""

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(name, parent)
        self._sink = QVideoSink(self)
        self._sink.videoFrameChanged.connect(self._on_frame)

    def _on_frame(self, frame: QVideoFrame) -> None:
        """GUI thread: one decoded frame from the sink."""
        if self.state == STOPPED:
            return
        pixels = frame_pixels(frame)
        if pixels is not None:
            self._deliver(pixels)


class VideoFileSource(_SinkSource):
    """Frames of a video file at its own frame rate, as a camera would give them; ``loop``
    plays it again from the start when it ends (else the state becomes ``ended``)."""

    def __init__(self, path: str, loop: bool = False, parent: QObject | None = None) -> None:
        super().__init__(f"Video file {path}", parent)
        self.path = path
        self._player = QMediaPlayer(self)
        self._player.setVideoSink(self._sink)
        self._player.setLoops(QMediaPlayer.Loops.Infinite if loop else 1)
        self._player.mediaStatusChanged.connect(self._on_status)
        self._player.errorOccurred.connect(self._on_error)

    def start(self) -> None:
        self._set_state(STARTING, f"{self.name}: starting")
        self._player.setSource(QUrl.fromLocalFile(self.path))
        self._player.play()

    def stop(self) -> None:
        self._player.stop()
        super().stop()

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.EndOfMedia and self.state != STOPPED:
            self._set_state(ENDED, f"{self.name}: the video ended after {self.frames} frames")

    def _on_error(self, _error: QMediaPlayer.Error, text: str) -> None:
        self._set_state(FAILED, f"{self.name}: cannot be played ({text or 'unknown error'})")


class CameraSource(_SinkSource):
    """Frames of a camera, asked for at a sensible resolution (:data:`WANTED_WIDTH`)."""

    def __init__(self, camera: CameraInfo, parent: QObject | None = None) -> None:
        super().__init__(camera.name, parent)
        self.info = camera
        self._camera: QCamera | None = None
        self._session = QMediaCaptureSession(self)
        self._session.setVideoSink(self._sink)
        self._devices = QMediaDevices(self)
        self._devices.videoInputsChanged.connect(self._on_devices_changed)

    def _device(self) -> QCameraDevice | None:
        for device in QMediaDevices.videoInputs():
            if bytes(device.id().data()).hex() == self.info.key:
                return device
        return None

    def start(self) -> None:
        self._set_state(STARTING, f"{self.name}: starting")
        permission = _permission()
        if permission == Qt.PermissionStatus.Undetermined:
            from PySide6.QtCore import QCameraPermission

            QApplication.instance().requestPermission(  # type: ignore[union-attr]
                QCameraPermission(), self, lambda _p: self.start()
            )
            return
        if permission == Qt.PermissionStatus.Denied:
            self._set_state(
                DENIED,
                f"{self.name}: permission to use the camera was denied. Allow CNN Studio in "
                "the system settings (Privacy & Security → Camera), then try again.",
            )
            return
        device = self._device()
        if device is None:
            self._set_state(NO_CAMERA, f"{self.name} is not connected any more.")
            return
        self._camera = QCamera(device, self)
        chosen = _best_format(device)
        if chosen is not None:
            self._camera.setCameraFormat(chosen)  # type: ignore[arg-type]
        self._camera.errorOccurred.connect(self._on_error)
        self._session.setCamera(self._camera)
        self._camera.start()

    def stop(self) -> None:
        if self._camera is not None:
            self._camera.stop()
            self._camera.deleteLater()
            self._camera = None
        super().stop()

    def _on_error(self, _error: QCamera.Error, text: str) -> None:
        """GUI thread: the camera failed to start or stopped working."""
        lowered = text.lower()
        if any(word in lowered for word in ("busy", "in use", "resource")):
            self._set_state(BUSY, f"{self.name} is being used by another program ({text}).")
        elif "permission" in lowered or "denied" in lowered:
            self._set_state(DENIED, f"{self.name}: permission denied ({text}).")
        else:
            self._set_state(FAILED, f"{self.name} stopped working: {text or 'unknown error'}.")

    def _on_devices_changed(self) -> None:
        """GUI thread: a camera was plugged in or out; ours gone means lost."""
        if self.state not in (STOPPED, NO_CAMERA) and self._device() is None:
            if self._camera is not None:
                self._camera.stop()
            self._set_state(LOST, f"{self.name} was unplugged; the pictures taken are kept.")


def _permission() -> Qt.PermissionStatus:
    """Whether the app may use the camera (always granted on Linux and Windows)."""
    from PySide6.QtCore import QCameraPermission

    app = QApplication.instance()
    if app is None:
        return Qt.PermissionStatus.Granted
    return app.checkPermission(QCameraPermission())  # type: ignore[union-attr]


def backend_check() -> str:
    """What the frozen app's self-test prints: Qt Multimedia's backend loaded (its FFmpeg
    plugin: it lists the formats it decodes) and the cameras found. Needs no camera."""
    from PySide6.QtMultimedia import QMediaFormat

    decodes = QMediaFormat().supportedFileFormats(QMediaFormat.ConversionMode.Decode)
    if not decodes:
        raise RuntimeError("Qt Multimedia loaded no backend (no video format can be decoded)")
    found = cameras()
    return (
        f"Qt Multimedia's FFmpeg backend loaded ({len(decodes)} file formats), "
        f"{len(found)} camera(s) found"
    )
