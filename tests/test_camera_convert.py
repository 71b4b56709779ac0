"""Camera frames to RGB on the CPU (gui.camera.convert) agree with Qt's own conversion
(``QVideoFrame.toImage()``, which goes through the GPU driver and crashed under Xvfb) for the
formats cameras and FFmpeg deliver."""

from __future__ import annotations

import numpy as np
import pytest

QtMultimedia = pytest.importorskip("PySide6.QtMultimedia")
from PySide6.QtCore import QSize  # noqa: E402
from PySide6.QtMultimedia import QVideoFrame, QVideoFrameFormat  # noqa: E402

from gui.camera.convert import frame_to_rgb  # noqa: E402
from gui.camera.qt_source import image_pixels  # noqa: E402

PF = QVideoFrameFormat.PixelFormat
W, H = 64, 48


#: Where the alpha byte of a 32-bit format is (opaque frames, as a camera gives).
ALPHA = {PF.Format_BGRA8888: 3, PF.Format_RGBX8888: 3, PF.Format_XRGB8888: 0}


def filled(fmt: PF, seed: int = 0) -> QVideoFrame:
    """A frame of ``fmt`` whose every byte is random (smooth enough: runs of 16 bytes; 32-bit
    formats: each pixel's own colour, opaque)."""
    frame = QVideoFrame(QVideoFrameFormat(QSize(W, H), fmt))
    assert frame.map(QVideoFrame.MapMode.WriteOnly)
    rng = np.random.default_rng(seed)
    for plane in range(frame.planeCount()):
        size = frame.mappedBytes(plane)
        values = rng.integers(40, 216, size // 16 + 1, dtype=np.uint8).repeat(16)[:size]
        if fmt in ALPHA:
            values = rng.integers(40, 216, size, dtype=np.uint8)
            values[ALPHA[fmt] :: 4] = 255
        view = np.frombuffer(frame.bits(plane), np.uint8, count=size)
        view.setflags(write=True)
        view[:] = values
    frame.unmap()
    return frame


@pytest.mark.parametrize(
    "fmt",
    [PF.Format_YUV420P, PF.Format_YUV422P, PF.Format_NV12, PF.Format_NV21, PF.Format_YUYV,
     PF.Format_UYVY, PF.Format_BGRA8888, PF.Format_RGBX8888, PF.Format_XRGB8888],
)  # fmt: skip
def test_the_cpu_conversion_matches_qts(qapp, fmt: PF) -> None:
    frame = filled(fmt)
    mine = frame_to_rgb(frame)
    assert mine is not None and mine.shape == (H, W, 3) and mine.dtype == np.uint8
    reference = image_pixels(frame.toImage())
    difference = np.abs(mine.astype(int) - reference.astype(int))
    assert np.percentile(difference, 99) <= 3, fmt  # rounding; chroma edges may differ more
    assert difference.mean() < 1.5


def test_an_unknown_format_is_left_to_qt(qapp) -> None:
    frame = filled(PF.Format_P010)
    assert frame_to_rgb(frame) is None
