"""What an export folder holds besides the model: labels, the preprocessing it needs, a script.

An export is a folder a user can hand to someone without CNN Studio: ``labels.txt`` (one class
per line, in the order of the model's outputs), ``preprocessing.json`` (exactly how an image
file becomes the model's input, the steps of :func:`core.data.images.to_model_input` with their
parameters), ``classify.py`` (those steps in Pillow and NumPy, and the format's own runtime;
a copy of ``core/share/export_files/classify.py``), ``README.md`` and ``parity.json`` (how the
export compared with the app, written by :mod:`core.share.export`).

:func:`write_support_files` writes the first three; :func:`write_readme` the README once the
check has run. Needs only the standard library (no TensorFlow, no NumPy): the app's Export
dialog and the tests read these definitions too.
"""

from __future__ import annotations

import importlib.resources
import json
import string
from pathlib import Path
from typing import Any

from core.data.images import BACKGROUND, PREPROCESSING_VERSION, SUPPORTED_FORMATS, InputSpec
from core.errors import CnnStudioError
from core.share.formats import FORMATS, ExportFormat

#: Names ``preprocessing.json`` with this, so an earlier export can be recognised (and replaced).
EXPORT_KIND = "cnn-studio-export"
EXPORT_VERSION = 1
LABELS, PREPROCESSING, SCRIPT, README, PARITY = (
    "labels.txt",
    "preprocessing.json",
    "classify.py",
    "README.md",
    "parity.json",
)


def template(name: str) -> str:
    """The text of a file shipped in ``core/share/export_files`` (package data; bundled by the
    frozen app's build)."""
    try:
        return (importlib.resources.files("core.share") / "export_files" / name).read_text("utf-8")
    except OSError as exc:
        raise CnnStudioError(
            f"the export template {name} is missing from this installation ({exc}); "
            "reinstall CNN Studio"
        ) from exc


def labels_text(class_names: list[str]) -> str:
    """``labels.txt``: one class per line in output order, UTF-8, ending with a newline.

    A name with a line break cannot be one line, and a tab would be taken for the separator
    of classify.py's output, so such names are refused (naming the class).
    """
    for name in class_names:
        if any(c in name for c in "\n\r\t") or not name.strip():
            raise CnnStudioError(
                f"the class name {name!r} cannot be written to labels.txt (one name per line, "
                "no tabs); rename its folder and train again"
            )
    return "".join(f"{name}\n" for name in class_names)


def preprocessing(spec: InputSpec, fmt: ExportFormat, classes: int) -> dict[str, Any]:
    """The ``preprocessing.json`` document: how an image file becomes the model's input.

    Every step of :func:`core.data.images.to_model_input`, in order, with its parameters; the
    generated ``classify.py`` reads the parameters from here.
    """
    size, mode = spec.size, spec.mode
    draft_mode = "L" if mode == "L" else "the JPEG's own (RGB or L)"
    draft_arg = "'L'" if mode == "L" else "None"
    return {
        "format": EXPORT_KIND,
        "version": EXPORT_VERSION,
        "recipe": PREPROCESSING_VERSION,
        "model": {
            "file": fmt.model_file,
            "format": fmt.name,
            "runtime": fmt.runtime_words,
            "classes": classes,
            "output": "softmax probabilities, shape (N, classes), in the order of labels.txt",
        },
        "input": {
            "layout": "NHWC",
            "shape": [None, size, size, spec.channels],
            "dtype": "float32",
            "value_range": [0, 255],
            "scaling": "none: give raw 0..255 pixel values; the model scales them itself "
            "(values already divided by 255 give wrong answers)",
        },
        "steps": [
            "decode",
            "jpeg_draft",
            "exif_orientation",
            "transparency",
            "color",
            "crop",
            "resize",
            "input",
        ],
        "decode": {
            "library": "Pillow",
            "formats": list(SUPPORTED_FORMATS),
            "format_from": "the file's first bytes, not its name",
            "frame": "the first frame of animated or multi-page files",
        },
        "jpeg_draft": {
            "used": True,
            "applies_to": "JPEG files whose mode is RGB or L",
            "requested_size": [size, size],
            "mode": draft_mode,
            "how": f"Pillow Image.draft({draft_arg}, ({size}, {size})) "
            "before decoding: the decoder scales by 1/2, 1/4 or 1/8, the smallest scale that "
            f"keeps both sides at least {size} pixels"
            + (
                "; a colour JPEG is decoded straight to grey (the decoder's own luma channel)"
                if mode == "L"
                else ""
            ),
        },
        "exif_orientation": {
            "applied": True,
            "applies_to": "JPEG, TIFF and WebP files, and any image carrying EXIF data",
            "how": "PIL.ImageOps.exif_transpose, right after decoding",
        },
        "color": {
            "mode": mode,
            "channels": spec.channels,
            "how": f"Pillow Image.convert({mode!r})"
            + (
                " (ITU-R 601-2 luma: L = R*299/1000 + G*587/1000 + B*114/1000)"
                if mode == "L"
                else ""
            )
            + ", after the transparency step; 16-bit images keep their top 8 bits; modes "
            "without a direct conversion go by way of RGB",
        },
        "transparency": {
            "background": BACKGROUND,
            "background_rgb": [BACKGROUND] * 3,
            "applies_to": "modes RGBA, LA, PA, La, RGBa and images with a transparent colour",
            "how": "Image.alpha_composite onto an opaque white image, then RGB",
        },
        "crop": {
            "centre_square": spec.crop,
            "how": "the centre square of a non-square image ((width - side) // 2, "
            "(height - side) // 2), before resizing"
            if spec.crop
            else "none: the whole image is resized",
        },
        "resize": {
            "size": [size, size],
            "filter": "bilinear",
            "antialias": True,
            "reducing_gap": 2.0,
            "aspect_ratio": "kept (centre square)" if spec.crop else "not kept (stretched)",
            "how": f"Pillow Image.resize(({size}, {size}), Image.Resampling.BILINEAR, "
            "reducing_gap=2.0), skipped when the image already has that size; Pillow's filter "
            "widens when shrinking (antialiased), unlike tf.image.resize without antialias or "
            "keras.utils.load_img (nearest)",
        },
    }


def write_support_files(
    folder: Path, spec: InputSpec, fmt_name: str, class_names: list[str]
) -> None:
    """Write ``labels.txt``, ``preprocessing.json`` and ``classify.py`` into ``folder``."""
    fmt = FORMATS[fmt_name]
    document = preprocessing(spec, fmt, len(class_names))
    (folder / LABELS).write_text(
        labels_text(class_names), encoding="utf-8", errors="replace", newline="\n"
    )
    (folder / PREPROCESSING).write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8", newline="\n"
    )
    (folder / SCRIPT).write_text(template(SCRIPT), encoding="utf-8", newline="\n")


def write_readme(
    folder: Path, spec: InputSpec, fmt_name: str, class_names: list[str], parity_line: str
) -> None:
    """Write ``README.md``: what the folder holds, how to run it, what input it needs."""
    fmt = FORMATS[fmt_name]
    packages = f"pillow numpy {fmt.pip_line}"
    text = string.Template(template("README.md")).substitute(
        title=fmt.title,
        model_file=fmt.model_file,
        classes=len(class_names),
        size=spec.size,
        channels=spec.channels,
        color="RGB colour" if spec.color else "grayscale",
        shape=(
            f"cropped to its centre square and resized to {spec.size} x {spec.size} pixels"
            if spec.crop
            else f"stretched to {spec.size} x {spec.size} pixels (aspect ratio not kept)"
        ),
        runtime=fmt.runtime_words,
        packages=packages,
        parity=parity_line,
    )
    (folder / README).write_text(text, encoding="utf-8", newline="\n")


def is_export(folder: Path) -> bool:
    """True when ``folder`` holds a CNN Studio export (its ``preprocessing.json`` says so)."""
    try:
        document = json.loads((folder / PREPROCESSING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and document.get("format") == EXPORT_KIND
