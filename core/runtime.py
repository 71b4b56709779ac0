"""Importing TensorFlow/Keras the way the app needs it, in one place.

Import this module (or any engine module that needs Keras) only on the thread that will run all
TensorFlow work: the GUI imports it on its worker thread, so the window appears before the
seconds-long TensorFlow import. It selects the TensorFlow backend, silences TensorFlow's C++ log
spam and sets thread pools once, before the runtime starts.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

_configured = False


def configure_threads(intra_op: int | None = None, inter_op: int | None = None) -> None:
    """Set TensorFlow's thread pools once (later calls, or calls after start-up, are ignored).

    Defaults use every core for the math inside an op and two threads to run ops side by side,
    which keeps a desktop responsive without slowing training measurably.
    """
    global _configured
    if _configured:
        return
    _configured = True
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op or 0)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op or 2)
    except RuntimeError:
        pass  # the runtime was already initialised: keep what it has


def versions() -> dict[str, str]:
    """Library versions recorded in model files and the self-test report."""
    import numpy
    import PIL

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
    }


__all__ = ["configure_threads", "keras", "tf", "versions"]
