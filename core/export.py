"""Exporting a trained model for use elsewhere (``.keras`` and TFLite), checked for parity.

Each export is written atomically and then re-loaded and run on a few held-out images; its
top-1 labels must match the app's own answers, or the export is deleted and an error raised.
The exported models take the same input as the app: raw 0..255 pixels of the model's input
size, shape (N, size, size, channels), float32.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from core.atomic import atomic_path
from core.classify import Classifier
from core.errors import CnnStudioError
from core.runtime import keras, tf

FORMATS = ("keras", "tflite")


def _parity(expected: np.ndarray, got: np.ndarray, what: str) -> None:
    same = np.argmax(expected, axis=1) == np.argmax(got, axis=1)
    if not same.all():
        raise CnnStudioError(
            f"{what} export disagrees with the app on {int((~same).sum())} of {len(same)} "
            "check images; it was not kept"
        )


def _tflite_bytes(model: keras.Model) -> bytes:
    folder = tempfile.mkdtemp(prefix="cnnstudio-export-")
    try:
        model.export(folder, format="tf_saved_model", verbose=False)
        return tf.lite.TFLiteConverter.from_saved_model(folder).convert()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_tflite(data: bytes, batch: np.ndarray) -> np.ndarray:
    """Run a TFLite model (bytes) on a float32 batch and return its outputs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter announces its deprecation
        interpreter = tf.lite.Interpreter(model_content=data)
    source = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(source["index"], list(batch.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], batch.astype(np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def export_model(
    classifier: Classifier, fmt: str, target: Path | str, check_images: np.ndarray
) -> Path:
    """Export ``classifier``'s model to ``target`` as ``fmt`` and verify it on ``check_images``.

    ``check_images`` is a uint8 batch of held-out inputs. Returns the written path.
    """
    if fmt not in FORMATS:
        raise CnnStudioError(f"unknown export format {fmt!r}; choose keras or tflite")
    target = Path(target)
    suffix = ".keras" if fmt == "keras" else ".tflite"
    if target.suffix != suffix:
        target = target.with_name(target.name + suffix)
    expected = classifier.probabilities(check_images)
    batch = check_images.astype(np.float32)
    with atomic_path(target, suffix=suffix) as tmp:
        if fmt == "keras":
            classifier.model.save(tmp)
            reloaded = keras.saving.load_model(tmp, compile=False, safe_mode=True)
            got = reloaded(batch, training=False)
            _parity(expected, np.asarray(got), "Keras")
        else:
            tmp.write_bytes(_tflite_bytes(classifier.model))
            _parity(expected, run_tflite(tmp.read_bytes(), batch), "TFLite")
    return target
