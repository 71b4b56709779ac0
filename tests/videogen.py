"""Writing small Motion-JPEG AVI videos for the camera tests and the live benchmark.

Every frame is a JPEG (Pillow), wrapped in the plainest AVI container (one video stream, an
``idx1`` index), which FFmpeg — behind Qt Multimedia, the app's camera backend — decodes as it
decodes a webcam's MJPEG stream. Standard library, NumPy and Pillow only.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    pad = b"\0" if len(data) % 2 else b""
    return fourcc + struct.pack("<I", len(data)) + data + pad


def _list(kind: bytes, data: bytes) -> bytes:
    return b"LIST" + struct.pack("<I", len(data) + 4) + kind + data


def write_mjpeg_avi(path: Path, frames: Sequence[np.ndarray], fps: int = 30) -> Path:
    """Write ``frames`` (uint8 RGB, all the same size) as an MJPEG AVI at ``fps``: ``path``."""
    height, width = frames[0].shape[:2]
    jpegs = []
    for frame in frames:
        out = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(frame)).convert("RGB").save(out, "JPEG", quality=90)
        jpegs.append(out.getvalue())
    biggest = max(len(j) for j in jpegs)
    avih = struct.pack(
        "<IIIIIIIIII16x",
        1_000_000 // fps, biggest * fps, 0, 0x10, len(jpegs), 0, 1, biggest, width, height,
    )  # fmt: skip
    strh = b"vidsMJPG" + struct.pack(
        "<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, fps, 0, len(jpegs), biggest, 0xFFFFFFFF, 0,
        0, 0, width, height,
    )  # fmt: skip
    strf = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3,
                       0, 0, 0, 0)  # fmt: skip
    hdrl = _list(b"hdrl", _chunk(b"avih", avih) + _list(b"strl", _chunk(b"strh", strh)
                 + _chunk(b"strf", strf)))  # fmt: skip
    movi_data = b""
    index = b""
    for jpeg in jpegs:
        index += b"00dc" + struct.pack("<III", 0x10, len(movi_data) + 4, len(jpeg))
        movi_data += _chunk(b"00dc", jpeg)
    body = b"AVI " + hdrl + _list(b"movi", movi_data) + _chunk(b"idx1", index)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path
