"""The export formats as plain data: names, descriptions, files and the packages each needs.

Both front ends show these (the CLI's ``--format`` help, the app's Export dialog), so the table
lives here, importing neither TensorFlow nor Qt. :func:`missing_packages` says which Python
packages a format still lacks on this computer, found without importing them, so the dialog
can say so (with the ``pip install`` line) before the user starts an export that would fail.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Package:
    """A Python package: the module name code imports and the name ``pip`` installs."""

    module: str
    pip: str


@dataclass(frozen=True)
class ExportFormat:
    """One export format.

    ``converters`` are needed to write the format (in the app); ``runtimes`` are what the
    export's ``classify.py`` imports to run it, in order of preference: any one of them does;
    ``pip_line`` is what a user of the export installs for it (besides Pillow and NumPy).
    ``float_model`` is False for the quantised format, which is not held to the float parity
    threshold but reported.
    """

    name: str
    title: str
    description: str
    model_file: str
    runtime_words: str
    runtimes: tuple[Package, ...]
    pip_line: str
    converters: tuple[Package, ...] = ()
    float_model: bool = True


TENSORFLOW = Package("tensorflow", "tensorflow")
KERAS = Package("keras", "keras")
LITERT = Package("ai_edge_litert", "ai-edge-litert")
ONNXRUNTIME = Package("onnxruntime", "onnxruntime")
ONNX = Package("onnx", "onnx")
TF2ONNX = Package("tf2onnx", "tf2onnx")

FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "keras",
            "Keras (.keras)",
            "for Python programs that use Keras 3; the easiest to train further",
            "model.keras",
            "Keras 3 with TensorFlow (pip install keras tensorflow)",
            (KERAS,),
            "keras tensorflow",
        ),
        ExportFormat(
            "savedmodel",
            "TensorFlow SavedModel",
            "for TensorFlow Serving, TensorFlow.js converters and other TensorFlow tools",
            "saved_model",
            "TensorFlow (pip install tensorflow)",
            (TENSORFLOW,),
            "tensorflow",
        ),
        ExportFormat(
            "tflite",
            "TensorFlow Lite / LiteRT (.tflite)",
            "for phones, a Raspberry Pi and other small devices; same answers as the app",
            "model.tflite",
            "LiteRT (pip install ai-edge-litert), or TensorFlow's tf.lite",
            (LITERT, TENSORFLOW),
            "ai-edge-litert",
        ),
        ExportFormat(
            "tflite-int8",
            "TensorFlow Lite, 8-bit (.tflite)",
            "about 4 times smaller and faster on small devices; answers may differ slightly",
            "model_int8.tflite",
            "LiteRT (pip install ai-edge-litert), or TensorFlow's tf.lite",
            (LITERT, TENSORFLOW),
            "ai-edge-litert",
            float_model=False,
        ),
        ExportFormat(
            "onnx",
            "ONNX (.onnx)",
            "for ONNX Runtime in C#, C++, Java, JavaScript or Python, without TensorFlow",
            "model.onnx",
            "ONNX Runtime (pip install onnxruntime), or the onnx package's slower reference "
            "runtime",
            (ONNXRUNTIME, ONNX),
            "onnxruntime",
            converters=(ONNX, TF2ONNX),
        ),
    )
}


def _installed(package: Package) -> bool:
    try:
        return importlib.util.find_spec(package.module) is not None
    except (ImportError, ValueError):
        return False


def missing_packages(name: str) -> list[str]:
    """The ``pip`` names of packages format ``name`` still needs here (empty: ready).

    Needed are all its converters and at least one of its runtimes (the app runs the export's
    ``classify.py`` to check it, so it needs the runtime too).
    """
    fmt = FORMATS[name]
    missing = [p.pip for p in fmt.converters if not _installed(p)]
    if not any(_installed(p) for p in fmt.runtimes):
        missing.append(fmt.runtimes[0].pip)
    return missing


def install_hint(name: str) -> str:
    """Why format ``name`` cannot be exported here and how to fix it; empty when it can."""
    missing = missing_packages(name)
    if not missing:
        return ""
    return (
        f"exporting to {FORMATS[name].title} needs the Python package(s) {', '.join(missing)}, "
        f"which are not installed; install them with: pip install {' '.join(missing)}"
    )
