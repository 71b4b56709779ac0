"""Load an exported model in a fresh process and run it, as a user of the export would.

Run as ``python -m core.export_check FORMAT MODEL INPUT.npy OUTPUT.npy`` (the frozen app:
``cnn-studio --check-export FORMAT MODEL INPUT.npy OUTPUT.npy``). It imports only NumPy and
Keras/TensorFlow, never the rest of CNN Studio, so an export that needs our code to load
fails here exactly as it would for the user. Exit 0 with the outputs written, or 1 with the
reason on stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np


def run(fmt: str, model_path: str, batch: np.ndarray) -> np.ndarray:
    """The exported model's outputs for ``batch`` (float32 pixels 0..255)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if fmt == "keras":
        import keras

        model = keras.saving.load_model(model_path)  # plain Keras, default settings
        return np.asarray(model(batch, training=False))
    if fmt == "tflite":
        import warnings

        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tf.lite.Interpreter announces its deprecation
            interpreter = tf.lite.Interpreter(model_path=model_path)
        source = interpreter.get_input_details()[0]
        interpreter.resize_tensor_input(source["index"], list(batch.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(source["index"], batch)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    raise ValueError(f"unknown format {fmt!r}")


def main(argv: Sequence[str]) -> int:
    if len(argv) != 4:
        print("usage: export_check FORMAT MODEL INPUT.npy OUTPUT.npy", file=sys.stderr)
        return 2
    fmt, model_path, source, target = argv
    try:
        batch = np.load(source, allow_pickle=False).astype(np.float32)
        np.save(target, run(fmt, model_path, batch), allow_pickle=False)
    except Exception as exc:  # the parent reports this text to the user
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
