"""Classify images with the model in this folder, exactly as CNN Studio does.

Usage:  python classify.py IMAGE [IMAGE ...]

Prints one line per image: its path, the likeliest label and that label's probability,
separated by tabs. Unreadable images are reported on stderr (and the exit status is 1).

Needs only Pillow, NumPy and the model's own runtime (named in preprocessing.json); it does not
need CNN Studio. Each image is turned into model input by the steps listed in
preprocessing.json, the same steps the app uses, so this script gives the app's answers.
Copy the functions into your own program if you like: ``load_model`` and ``to_input``.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
#: The preprocessing recipe this script implements (preprocessing.json must name it).
RECIPE = "cnnstudio-preprocess-1"
#: Images classified per call of the model.
BATCH = 64

Model = Callable[[np.ndarray], np.ndarray]


def read_settings(folder: Path = HERE) -> tuple[dict, list[str]]:
    """The folder's preprocessing.json and its labels (labels.txt, one per line, in order)."""
    settings = json.loads((folder / "preprocessing.json").read_text(encoding="utf-8"))
    if settings.get("recipe") != RECIPE:
        raise SystemExit(
            f"preprocessing.json names recipe {settings.get('recipe')!r}, not {RECIPE}"
        )
    labels = (folder / "labels.txt").read_text(encoding="utf-8").split("\n")
    return settings, labels[: settings["model"]["classes"]]


# --- image file -> model input (the steps of preprocessing.json) ----------------------------


def image_format(head: bytes) -> str:
    """The image format, judged by the file's first bytes (never by its name)."""
    signatures = (
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"\xff\xd8\xff", "JPEG"),
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
    )
    for magic, name in signatures:
        if head.startswith(magic):
            return name
    if head.startswith(b"BM") and len(head) >= 26:
        return "BMP"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    raise ValueError("not a PNG, JPEG, GIF, BMP, WebP or TIFF image")


def open_image(path: Path | str, size: int, mode: str) -> Image.Image:
    """Decode the first frame of an image file.

    A colour or grey JPEG is decoded at reduced scale (Pillow's draft mode: 1/2, 1/4 or 1/8,
    the smallest that keeps both sides at least ``size``), and a colour JPEG for a grayscale
    model straight to grey by the decoder.
    """
    data = Path(path).read_bytes()
    image = Image.open(io.BytesIO(data), formats=[image_format(data[:1024])])
    if image.format == "JPEG" and image.mode in ("RGB", "L"):
        image.draft("L" if mode == "L" and image.mode == "RGB" else None, (size, size))
    image.load()
    return image


def to_mode(image: Image.Image, mode: str, background: int) -> Image.Image:
    """Colour conversion: 16-bit grey keeps its top 8 bits, transparency is composited onto
    an opaque ``background`` grey level, then Pillow's ``convert`` to ``mode`` (L or RGB)."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        wide = np.asarray(image).astype(np.uint32)
        if image.mode == "I" and wide.max(initial=0) <= 255:
            narrow = wide.astype(np.uint8)
        else:
            narrow = (np.minimum(wide, 65535) >> 8).astype(np.uint8)
        image = Image.fromarray(narrow, "L")
    elif image.mode == "F":
        image = Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (background, background, background, 255))
        image = Image.alpha_composite(flat, rgba).convert("RGB")
    if image.mode != mode:
        try:
            image = image.convert(mode)
        except ValueError:  # no direct conversion (LAB or HSV to grayscale): by way of RGB
            image = image.convert("RGB").convert(mode)
    return image


def to_input(path: Path | str, settings: dict) -> np.ndarray:
    """One image file as model input: float32 array (size, size, channels), values 0..255."""
    size = settings["resize"]["size"][0]
    mode = settings["color"]["mode"]
    image = open_image(path, size, mode)
    if image.format in (None, "JPEG", "TIFF", "WEBP") or "exif" in image.info:
        image = ImageOps.exif_transpose(image)  # EXIF orientation: turn the image upright
    image = to_mode(image, mode, settings["transparency"]["background"])
    if settings["crop"]["centre_square"] and image.width != image.height:
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    pixels = np.asarray(image, dtype=np.uint8).reshape(size, size, len(mode))
    return pixels.astype(np.float32)  # 0..255: the model scales the values itself


# --- the model ----------------------------------------------------------------------------


def load_model(settings: dict, folder: Path = HERE) -> Model:
    """The exported model as a function: float32 batch (N, size, size, channels) ->
    probabilities (N, classes). Imports only the runtime of the model's format."""
    kind, path = settings["model"]["format"], str(folder / settings["model"]["file"])
    if kind == "keras":
        import keras

        model = keras.saving.load_model(path, compile=False)
        return lambda batch: np.asarray(model(batch, training=False))
    if kind == "savedmodel":
        import tensorflow as tf

        loaded = tf.saved_model.load(path)
        return lambda batch: loaded.serve(tf.constant(batch)).numpy()
    if kind in ("tflite", "tflite-int8"):
        return _tflite(path)
    if kind == "onnx":
        return _onnx(path)
    raise SystemExit(f"unknown model format {kind!r} in preprocessing.json")


def _onnx(path: str) -> Model:
    """An ONNX model run by ONNX Runtime, else by the onnx package's reference runtime (plain
    NumPy: the same answers, many times slower; the packaged CNN Studio checks its ONNX exports
    with it, as it does not carry ONNX Runtime)."""
    try:
        import onnxruntime
    except ImportError:
        import onnx
        from onnx.reference import ReferenceEvaluator

        graph = onnx.load(path)
        evaluator = ReferenceEvaluator(graph)
        source = graph.graph.input[0].name
        return lambda batch: np.asarray(evaluator.run(None, {source: batch})[0])
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {name: batch})[0]


def _tflite(path: str) -> Model:
    """A TFLite model run by LiteRT's interpreter, else by TensorFlow's (deprecated) one."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import warnings

        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tf.lite.Interpreter announces its deprecation
            interpreter = tf.lite.Interpreter(model_path=path)
    else:
        interpreter = Interpreter(model_path=path)
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]

    def run(batch: np.ndarray) -> np.ndarray:
        interpreter.resize_tensor_input(source, list(batch.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(source, batch)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(target))

    return run


# --- the command ----------------------------------------------------------------------------


def classify(paths: Sequence[str], folder: Path = HERE) -> int:
    """Print ``path<TAB>label<TAB>probability`` for each image; 1 if any image failed."""
    settings, labels = read_settings(folder)
    model = load_model(settings, folder)
    failed = 0
    pending: list[tuple[str, np.ndarray]] = []

    def flush() -> None:
        if pending:
            probabilities = model(np.stack([pixels for _, pixels in pending]))
            for (path, _), row in zip(pending, probabilities):  # noqa: B905 (Python 3.9)
                best = int(np.argmax(row))
                print(f"{path}\t{labels[best]}\t{float(row[best]):.6f}")
            pending.clear()

    for path in paths:
        try:
            pending.append((path, to_input(path, settings)))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            print(f"{path}: cannot read the image ({exc})", file=sys.stderr)
            failed += 1
        if len(pending) == BATCH:
            flush()
    flush()
    return 1 if failed else 0


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[1])
        return 0 if argv else 2
    if hasattr(sys.stdout, "reconfigure"):  # a label the console cannot show is escaped
        sys.stdout.reconfigure(errors="backslashreplace")
    return classify(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
