"""Image files generated in code for the tests (no binary fixtures are checked in)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def gradient(size: tuple[int, int] = (40, 30), mode: str = "RGB") -> Image.Image:
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    rgb = np.stack([x, y, 255 - x], axis=2).astype(np.uint8)
    return Image.fromarray(rgb, "RGB").convert(mode)


def png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def raw_png(
    width: int, height: int, bit_depth: int, color_type: int, rows: bytes, idat: bytes | None = None
) -> bytes:
    """A PNG built by hand (for formats Pillow cannot write, like 16-bit RGB)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(rows) if idat is None else idat)
        + png_chunk(b"IEND", b"")
    )


def png16_rgb(width: int, height: int, value: int) -> bytes:
    row = b"\x00" + struct.pack(">H", value) * 3 * width
    return raw_png(width, height, 16, 2, row * height)


def png16_gray(width: int, height: int, value: int) -> bytes:
    row = b"\x00" + struct.pack(">H", value) * width
    return raw_png(width, height, 16, 0, row * height)


def bomb_png(side: int = 20000) -> bytes:
    """A one-colour PNG of side x side pixels that compresses to well under 1 MB."""
    row = b"\x00" + b"\x00" * side
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return raw_png(side, side, 8, 0, b"", idat=data)


def jpeg_with_size(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims ``width`` x ``height`` pixels."""
    data = bytearray(encode(gradient((16, 16)), "JPEG"))
    marker = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, marker + 5, height, width)
    return bytes(data)


def with_exif_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif.tobytes(), quality=95)


def animated_gif(frames: int = 300, size: tuple[int, int] = (32, 32)) -> bytes:
    images = [Image.new("L", size, 255 if i == 0 else (i * 7) % 200) for i in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=10)


def animated_png(frames: int = 200, size: tuple[int, int] = (32, 32)) -> bytes:
    images = [Image.new("L", size, 255 if i == 0 else (i * 5) % 200) for i in range(frames)]
    return encode(images[0], "PNG", save_all=True, append_images=images[1:])


def draw_clean(
    shape: str, box: tuple[int, int, int, int], filled: bool, dark_ink: bool
) -> Image.Image:
    """A shape as a person draws it in a paint program: one colour, straight, 64x64."""
    paper, ink = (255, 0) if dark_ink else (0, 255)
    image = Image.new("L", (64, 64), paper)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    fill = ink if filled else None
    if shape == "circle":
        draw.ellipse(box, fill=fill, outline=ink, width=4)
    elif shape == "square":
        draw.rectangle(box, fill=fill, outline=ink, width=4)
    elif shape == "triangle":
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=fill, outline=ink, width=4)
    elif filled:  # an upright cross: a plus sign
        draw.line((cx, y0, cx, y1), fill=ink, width=6)
        draw.line((x0, cy, x1, cy), fill=ink, width=6)
    else:
        draw.line((x0, y0, x1, y1), fill=ink, width=6)
        draw.line((x0, y1, x1, y0), fill=ink, width=6)
    return image


def damaged_tiff(compression: str = "tiff_lzw", damage: str = "past-end") -> bytes:
    """A TIFF written by Pillow in strips, then damaged so that libtiff, which decodes it,
    complains on file descriptor 2 by itself: ``past-end`` points every strip past the end of
    the file, ``long-strips`` claims each strip holds 5000 bytes more than it does."""
    data = bytearray(encode(gradient((40, 30)), "TIFF", compression=compression))
    tag, change = {"past-end": (273, len(data)), "long-strips": (279, 5000)}[damage]
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(endian + "I", data, 4)
    (entries,) = struct.unpack_from(endian + "H", data, ifd)
    for entry in range(ifd + 2, ifd + 2 + 12 * entries, 12):
        found, kind, count, value = struct.unpack_from(endian + "HHII", data, entry)
        if found != tag:
            continue
        code, width = {3: ("H", 2), 4: ("I", 4)}[kind]
        first = entry + 8 if count * width <= 4 else value
        for at in range(first, first + count * width, width):
            (old,) = struct.unpack_from(endian + code, data, at)
            struct.pack_into(endian + code, data, at, old + change)
    return bytes(data)
