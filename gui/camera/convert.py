"""A decoded video frame to RGB pixels on the CPU, with NumPy.

``QVideoFrame.toImage()`` converts through Qt's graphics layer (a thread-local RHI, OpenGL on
Linux), which crashed the process under an X server without a working GPU driver (Xvfb). The
formats cameras and FFmpeg deliver are converted here instead: planar and semi-planar YUV 4:2:0
and 4:2:2, packed YUYV/UYVY, and 32-bit RGB; anything else goes through ``toImage()``. YUV is
BT.601, video range unless the frame says full range, as Qt's own conversion reads it (within
one level of ``toImage()``, checked by the tests).
GUI thread (where the sink delivers frames).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtMultimedia import QVideoFrame, QVideoFrameFormat

PF = QVideoFrameFormat.PixelFormat
#: 32-bit RGB formats: which bytes hold R, G and B.
RGB32 = {
    PF.Format_ARGB8888: (1, 2, 3), PF.Format_ARGB8888_Premultiplied: (1, 2, 3),
    PF.Format_XRGB8888: (1, 2, 3), PF.Format_BGRA8888: (2, 1, 0),
    PF.Format_BGRA8888_Premultiplied: (2, 1, 0), PF.Format_BGRX8888: (2, 1, 0),
    PF.Format_ABGR8888: (3, 2, 1), PF.Format_XBGR8888: (3, 2, 1),
    PF.Format_RGBA8888: (0, 1, 2), PF.Format_RGBX8888: (0, 1, 2),
}  # fmt: skip
PLANAR = {PF.Format_YUV420P: (2, 2), PF.Format_YUV422P: (2, 1), PF.Format_YV12: (2, 2)}
SEMI_PLANAR = {PF.Format_NV12: False, PF.Format_NV21: True}
PACKED = {PF.Format_YUYV: (0, 1, 3), PF.Format_UYVY: (1, 0, 2)}  # (Y, U, V) byte positions


def _plane(frame: QVideoFrame, index: int, rows: int, width: int) -> np.ndarray:
    stride = frame.bytesPerLine(index)
    data = np.frombuffer(frame.bits(index), np.uint8, count=stride * rows)
    return data.reshape(rows, stride)[:, :width]


def yuv_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, video_range: bool) -> np.ndarray:
    """BT.601 YUV (chroma already at full size) to uint8 RGB."""
    luma = y.astype(np.float32)
    cb = u.astype(np.float32) - 128
    cr = v.astype(np.float32) - 128
    if video_range:
        luma = (luma - 16) * (255 / 219)
        cb *= 255 / 224
        cr *= 255 / 224
    rgb = np.empty((*y.shape, 3), np.float32)
    rgb[..., 0] = luma + 1.402 * cr
    rgb[..., 1] = luma - 0.344136 * cb - 0.714136 * cr
    rgb[..., 2] = luma + 1.772 * cb
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def _upsample(plane: np.ndarray, sx: int, sy: int, height: int, width: int) -> np.ndarray:
    return plane.repeat(sy, axis=0).repeat(sx, axis=1)[:height, :width]


def frame_to_rgb(frame: QVideoFrame) -> np.ndarray | None:
    """``frame`` as uint8 RGB pixels (a private copy); None when it cannot be read."""
    fmt = frame.pixelFormat()
    known = fmt in RGB32 or fmt in PLANAR or fmt in SEMI_PLANAR or fmt in PACKED
    if not known or frame.handleType() != QVideoFrame.HandleType.NoHandle:
        return None
    if not frame.map(QVideoFrame.MapMode.ReadOnly):
        return None
    try:
        return _convert(frame, fmt)
    finally:
        frame.unmap()


def _convert(frame: QVideoFrame, fmt: PF) -> np.ndarray:
    width, height = frame.width(), frame.height()
    # Qt's own conversion reads an unstated range as video range (FFmpeg hands JPEG's full
    # range over converted to it): so does this one.
    ranged = frame.surfaceFormat().colorRange() != QVideoFrameFormat.ColorRange.ColorRange_Full
    if fmt in RGB32:
        pixels = _plane(frame, 0, height, width * 4).reshape(height, width, 4)
        return np.ascontiguousarray(pixels[..., list(RGB32[fmt])])
    y = _plane(frame, 0, height, width)
    if fmt in PLANAR:
        sx, sy = PLANAR[fmt]
        cw, ch = -(-width // sx), -(-height // sy)
        u, v = _plane(frame, 1, ch, cw), _plane(frame, 2, ch, cw)
        if fmt == PF.Format_YV12:
            u, v = v, u
        u, v = (_upsample(p, sx, sy, height, width) for p in (u, v))
        return yuv_to_rgb(y, u, v, ranged)
    if fmt in SEMI_PLANAR:
        cw, ch = -(-width // 2), -(-height // 2)
        uv = _plane(frame, 1, ch, cw * 2).reshape(ch, cw, 2)
        u, v = (uv[..., 1], uv[..., 0]) if SEMI_PLANAR[fmt] else (uv[..., 0], uv[..., 1])
        u, v = (_upsample(p, 2, 2, height, width) for p in (u, v))
        return yuv_to_rgb(y, u, v, ranged)
    iy, iu, iv = PACKED[fmt]
    packed = _plane(frame, 0, height, (width // 2) * 4).reshape(height, width // 2, 4)
    luma = np.stack([packed[..., iy], packed[..., iy + 2]], axis=-1).reshape(height, -1)
    u = packed[..., iu].repeat(2, axis=1)
    v = packed[..., iv].repeat(2, axis=1)
    return yuv_to_rgb(luma, u, v, ranged)
