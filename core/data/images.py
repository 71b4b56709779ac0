"""Turning image files into model input: the one place that decides how a file is seen.

:func:`to_model_input` is the one function that decides how an image becomes model input.
Training, evaluation, classification, the self-test and export checks all call it (files go
through :func:`load_input`, which it uses), so a file gives the same pixels whether it is passed
as a path, as its bytes or as a freshly opened Pillow image: JPEGs are decoded at reduced scale
(Pillow's draft mode) in every one of those cases.

Decoding is defensive. The format is judged by the file's content against an allowlist, never by
its extension; Pillow is only ever asked to open that one format (so EPS, which Pillow would hand
to Ghostscript, is never opened); the pixel count is checked from the header before any pixels
are decoded; truncated files and PNGs with bad checksums are refused. Every refusal is an
:class:`~core.errors.ImageError` whose ``reason`` a person can read.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from PIL import Image, ImageFile, ImageOps

from core import native_stderr
from core.data.safe_io import FileRefused, read_bounded
from core.errors import ImageError

# Pillow's global switch must stay off: a cut-off JPEG is an error, not a grey half image.
ImageFile.LOAD_TRUNCATED_IMAGES = False

#: Where Pillow's warnings about odd files go (with the file's path), instead of the terminal.
CODEC_LOG = logging.getLogger("cnnstudio.codecs")
_reading = threading.local()  # the file this thread is decoding, for the log line


def _route_codec_warnings() -> None:
    """Send every warning raised inside Pillow (damaged TIFF or EXIF metadata, codec notes)
    to :data:`CODEC_LOG`, naming the file being read, instead of printing it on stderr; a
    folder of odd TIFFs must not flood the terminal. Other warnings are shown as before."""
    previous = warnings.showwarning
    if getattr(previous, "routes_codec_warnings", False):
        return

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if Path(filename).parent.name == "PIL":
            where = getattr(_reading, "path", None) or "an image"
            CODEC_LOG.info("%s: %s: %s", where, category.__name__, message)
            return
        previous(message, category, filename, lineno, file, line)

    show.routes_codec_warnings = True  # type: ignore[attr-defined]
    warnings.showwarning = show
    warnings.filterwarnings("always", module=r"PIL(\.|$)")  # every one logged, not the first


_route_codec_warnings()

#: A line of libtiff's own error and warning handlers: ``Module: text.`` or ``Module: Warning,
#: text.``, the module being a C function (``TIFFFillStrip``, ``_tiffReadProc``) or the name
#: Pillow opens the data under (``tempfile.tif``): one word, no spaces, a colon, and the whole
#: line ends with the full stop the handlers add. What we print while images decode (progress
#: bars, ``-v`` log lines starting with their level) does not look like that.
_LIBTIFF_LINE = re.compile(r"[A-Za-z_][\w.]*: .*\.")


@contextlib.contextmanager
def _libtiff_messages_logged(image: Image.Image) -> Iterator[None]:
    """Decode a TIFF with what libtiff prints going to :data:`CODEC_LOG`, naming the file.

    libtiff (which Pillow uses for compressed TIFFs) writes its complaints about damaged files
    (``_tiffReadProc: Invalid Read at loc 3309, eof: 2529.``) straight to file descriptor 2,
    where no Python warning filter reaches, so a folder of odd TIFFs printed hundreds of lines.
    The decode runs inside :func:`core.native_stderr.captured`, the app's one way of taking
    descriptor 2 off the terminal. Other formats' decoders (and Pillow's own reader of
    uncompressed TIFFs) print nothing, so they run as they are, at no cost.

    Descriptor 2 is one per process and decoding may run on a pool of threads, so the capture
    holds the process-wide lock: libtiff decodes wait for each other (and for TensorFlow's
    start-up, which also redirects descriptor 2), other formats never do; 16 large LZW TIFFs
    took 0.50 s instead of 0.40 s on two threads, the price of knowing which file said what:
    with one libtiff decode at a time, every libtiff line in a capture is that file's.

    Whatever another thread wrote to descriptor 2 meanwhile (a progress bar, a ``-v`` log line,
    an error) was taken too: every line that is not in libtiff's format is written out again
    at once, so no message of ours is lost, only delayed by one decode. Whole lines are judged,
    so the one case a line can be misfiled is another thread's bytes landing between the
    pieces libtiff writes a message in (module, text, full stop), microseconds apart: that
    line then mixes both, and shows on the terminal unless it ends in a full stop (then it
    goes to the log, which ``-v`` shows).
    """
    if image.format != "TIFF" or not getattr(image, "use_load_libtiff", True):
        yield  # uncompressed TIFFs are read by Pillow itself: no libtiff, nothing printed
        return
    held = native_stderr.Captured()
    try:
        with native_stderr.captured() as held:
            yield
    finally:
        _route_native_text(held.text)


def _route_native_text(text: str) -> None:
    """Log libtiff's lines from ``text`` naming the file being read; show the rest as it was."""
    where = getattr(_reading, "path", None) or "an image"
    others = []
    for line in text.split("\n"):
        if _LIBTIFF_LINE.fullmatch(line.rstrip("\r")):
            CODEC_LOG.info("%s: libtiff: %s", where, line.strip())
        else:
            others.append(line)
    native_stderr.show("\n".join(others))


#: Formats we decode, keyed by the name Pillow uses for them.
SUPPORTED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
#: Images with more pixels than this are refused before decoding (decompression bombs).
MAX_PIXELS = 64_000_000
#: Files larger than this are refused without reading them whole.
MAX_FILE_BYTES = 256 * 1024 * 1024
#: Transparent pixels are composited onto this grey level (white).
BACKGROUND = 255
#: Version of the preprocessing recipe; stored in model files and cache keys.
PREPROCESSING_VERSION = "cnnstudio-preprocess-1"


@dataclass(frozen=True)
class InputSpec:
    """Size and colour of the model input: ``size`` x ``size`` pixels, grayscale or RGB.

    ``crop`` takes the centre square of each image before resizing (what photo models expect:
    objects keep their shape); without it the whole image is squeezed to a square.
    """

    size: int = 28
    color: bool = False
    crop: bool = False

    def __post_init__(self) -> None:
        if not 8 <= self.size <= 512:
            raise ValueError(f"image size must be between 8 and 512 pixels, not {self.size}")

    @property
    def channels(self) -> int:
        return 3 if self.color else 1

    @property
    def mode(self) -> str:
        return "RGB" if self.color else "L"

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.size, self.size, self.channels)

    def key(self) -> str:
        """A short string naming this spec and the preprocessing recipe (for cache keys)."""
        return f"{PREPROCESSING_VERSION}:{self.size}:{self.mode}{':crop' if self.crop else ''}"

    @property
    def resize_words(self) -> str:
        """How images are brought to the input size, in words (model files, exports)."""
        if self.crop:
            return "centre square cropped, then resized bilinear"
        return "bilinear, aspect ratio not kept"


def sniff_format(head: bytes) -> str:
    """Return the Pillow format name for the file whose first bytes are ``head``.

    Raises :class:`ImageError` naming what the file is when it is not a supported image.
    """
    if not head:
        return _refuse("empty file (0 bytes)")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"BM") and len(head) >= 26:
        return "BMP"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    return _refuse(_describe_unsupported(head))


def _refuse(reason: str) -> str:
    raise ImageError(reason)


def _describe_unsupported(head: bytes) -> str:
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith(b"avi"):
            return "unsupported format (AVIF)"
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "unsupported format (HEIC/HEIF); convert it to JPEG or PNG"
        return "unsupported format (a video or ISO media file)"
    if head.startswith(b"8BPS"):
        return "unsupported format (Photoshop PSD)"
    if head.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6")):
        return "unsupported format (EPS/PostScript)"
    if head.startswith(b"%PDF"):
        return "unsupported format (PDF)"
    text = head[:1024].lstrip().lower()
    if b"<svg" in text or (text.startswith(b"<?xml") and b"svg" in text):
        return "unsupported format (SVG vector image)"
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text:
        return "not an image: it is an HTML page (a web page saved with an image's name?)"
    if _looks_like_text(head):
        return "not an image: it is a text file"
    return "not a recognised image format"


def _looks_like_text(head: bytes) -> bool:
    sample = head[:512]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_png_chunks(data: bytes) -> None:
    """Verify every PNG chunk's CRC and that the file ends with IEND.

    Pillow checks the CRC of some chunks only; a flipped bit in image data would otherwise decode
    to silently wrong pixels.
    """
    view = memoryview(data)
    pos, size = 8, len(data)
    while pos + 8 <= size:
        length, ctype = struct.unpack_from(">I4s", view, pos)
        end = pos + 12 + length
        if end > size:
            raise ImageError("PNG file is truncated (cut off part-way)")
        (stored,) = struct.unpack_from(">I", view, end - 4)
        if zlib.crc32(view[pos + 4 : end - 4]) != stored:
            name = ctype.decode("latin-1", "replace")
            raise ImageError(f"PNG file is corrupt (checksum error in its {name} chunk)")
        if ctype == b"IEND":
            return
        pos = end
    raise ImageError("PNG file is truncated (no end marker)")


def decode(data: bytes, target_size: int | None = None, mode: str | None = None) -> Image.Image:
    """Decode image bytes to a loaded Pillow image (first frame only).

    ``target_size`` and ``mode`` let JPEGs decode at reduced scale (Pillow's draft mode), which
    makes large photos several times faster to load when the model input is small.
    """
    fmt = sniff_format(data[:1024])
    if fmt == "PNG":
        check_png_chunks(data)
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise ImageError(f"image is too large to open safely ({exc})") from exc
    except Exception as exc:  # Pillow raises many types for a broken header
        raise ImageError(f"cannot read {fmt} header ({_short(exc)})") from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"image is {width}x{height} pixels, over the {MAX_PIXELS // 1_000_000}-megapixel "
            "limit (refused before decoding: possible decompression bomb)"
        )
    if width < 2 or height < 2:
        raise ImageError(f"image is only {width}x{height} pixels")
    if target_size:
        _reduced_decoding(image, target_size, mode)
    try:
        with _libtiff_messages_logged(image):
            image.load()
    except Exception as exc:
        raise ImageError(f"{fmt} data is damaged or truncated ({_short(exc)})") from exc
    return image


def _reduced_decoding(image: Image.Image, target_size: int, mode: str | None) -> None:
    """Ask a not yet decoded JPEG to decode at reduced scale (part of the recipe).

    The scale is the smallest that keeps the image at least ``target_size`` on both sides, so
    the bilinear resize that follows still has the pixels it needs; decoding a phone photo
    for a 28-pixel model this way is several times faster.
    """
    if image.format == "JPEG" and image.mode in ("RGB", "L"):
        draft_mode = "L" if mode == "L" and image.mode == "RGB" else None
        image.draft(draft_mode, (target_size, target_size))


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def to_model_input(
    source: Path | str | bytes | Image.Image | np.ndarray, spec: InputSpec
) -> np.ndarray:
    """The one way an image becomes model input: uint8 array of shape ``spec.shape``.

    ``source`` is a file path, the bytes of an image file, a Pillow image or a pixel array.
    Paths and bytes are checked and decoded by :func:`decode`; a Pillow image that has been
    opened but not yet decoded (``Image.open(path)``) gets the same reduced-scale JPEG decoding,
    so it gives exactly the pixels its path gives. Raises :class:`ImageError` with the reason.
    """
    if isinstance(source, (str, Path)):
        return load_input(source, spec)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return preprocess(decode(bytes(source), spec.size, spec.mode), spec)
    if isinstance(source, Image.Image):
        if getattr(source, "_im", None) is None and getattr(source, "tile", None):
            _reduced_decoding(source, spec.size, spec.mode)
        try:
            with _libtiff_messages_logged(source):
                source.load()
        except Exception as exc:  # Pillow raises many types for damaged data
            raise ImageError(f"image data is damaged or truncated ({_short(exc)})") from exc
        return preprocess(source, spec)
    if isinstance(source, np.ndarray):
        return preprocess(source, spec)
    raise ImageError(f"cannot use a {type(source).__name__} as an image")


def preprocess(image: Image.Image | np.ndarray, spec: InputSpec) -> np.ndarray:
    """Turn a decoded image into one model input: uint8 array of shape ``spec.shape``.

    A step of :func:`to_model_input`; call that instead, so files are decoded by the recipe.

    Applies EXIF orientation, flattens transparency onto :data:`BACKGROUND`, maps 16-bit and
    other modes to 8 bits without clipping, converts to the spec's colour mode, takes the centre
    square when ``spec.crop`` and resizes (bilinear) to ``spec.size`` square. Pixel values stay
    0..255; scaling to 0..1 happens inside the model, once.
    """
    if isinstance(image, np.ndarray):
        image = _array_to_image(image)
    image = _to_mode(_upright(image), spec.mode)
    if spec.crop and image.width != image.height:
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (spec.size, spec.size):
        image = image.resize((spec.size, spec.size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    array = np.asarray(image, dtype=np.uint8)
    return array.reshape(spec.shape)


def _upright(image: Image.Image) -> Image.Image:
    """Apply EXIF orientation (it costs time, so only where EXIF can be)."""
    if image.format in (None, "JPEG", "TIFF", "WEBP") or "exif" in image.info:
        return ImageOps.exif_transpose(image)
    return image


def thumbnail(path: Path | str, size: int) -> np.ndarray | None:
    """A small upright RGB preview of an image file, aspect ratio kept; None if unreadable.

    For showing a file to the user (the Classify tab), with the same safety checks as
    :func:`load_input`; JPEGs decode at reduced scale, so phone photos are cheap.
    """
    _reading.path = Path(path)  # names the file in the codec log
    try:
        image = _to_mode(_upright(decode(read_file(Path(path)), size, "RGB")), "RGB")
        image.thumbnail((size, size), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8)
    except (ImageError, OSError, ValueError, SyntaxError, MemoryError):
        return None
    finally:
        _reading.path = None


def _array_to_image(array: np.ndarray) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.size and float(array.max()) <= 1.0:
            array = array * 255.0
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"array of shape {array.shape} is not an image")
    return Image.fromarray(array)


def _to_mode(image: Image.Image, mode: str) -> Image.Image:
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        wide = np.asarray(image).astype(np.uint32)
        if image.mode == "I" and wide.max(initial=0) <= 255:
            narrow = wide.astype(np.uint8)
        else:
            narrow = (np.minimum(wide, 65535) >> 8).astype(np.uint8)
        image = Image.fromarray(narrow, "L")
    elif image.mode == "F":
        image = Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8), "L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (BACKGROUND, BACKGROUND, BACKGROUND, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode != mode:
        try:
            image = image.convert(mode)
        except ValueError:  # no direct conversion (LAB or HSV to grayscale): by way of RGB
            image = image.convert("RGB").convert(mode)
    return image


def read_file(path: Path) -> bytes:
    """Read a whole file, refusing empty, oversized and non-regular ones (devices, pipes,
    folders) with a plain reason; the read is capped whatever size the file claims."""
    try:
        data = read_bounded(path, MAX_FILE_BYTES)
    except FileRefused as exc:
        raise ImageError(exc.reason, path) from None
    except OSError as exc:
        raise ImageError(f"cannot read file ({exc.strerror or exc})", path) from exc
    if not data:
        raise ImageError("empty file (0 bytes)", path)
    return data


def load_input(path: Path | str, spec: InputSpec, data: bytes | None = None) -> np.ndarray:
    """Read, check and preprocess one image file into model input (see :func:`preprocess`).

    Any problem is raised as :class:`ImageError` carrying the path.
    """
    path = Path(path)
    if data is None:
        data = read_file(path)
    _reading.path = path  # names the file in the codec log (warnings and libtiff's lines)
    try:
        image = decode(data, spec.size, spec.mode)
        return preprocess(image, spec)
    except ImageError as exc:
        raise ImageError(exc.reason, path) from None
    except (OSError, ValueError, SyntaxError, MemoryError) as exc:
        raise ImageError(f"cannot decode image ({_short(exc)})", path) from exc
    finally:
        _reading.path = None
