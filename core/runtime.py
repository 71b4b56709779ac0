"""Importing TensorFlow/Keras the way the app needs it, in one place.

Import this module (or any engine module that needs Keras) only on the thread that will run all
TensorFlow work: the GUI imports it on its worker thread, so the window appears before the
seconds-long TensorFlow import. It selects the TensorFlow backend, silences TensorFlow's C++ log
spam and sizes the thread pools from :mod:`core.threads` before the runtime starts.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from core.threads import pool_sizes

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hide what TensorFlow's C++ start-up writes straight to file descriptor 2.

    Those lines (oneDNN notes, "could not find cuda drivers") are printed before TensorFlow's
    log level applies, so the variable above cannot stop them. Python-level errors still show.
    """
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else -1
        saved = os.dup(fd) if fd >= 0 else -1
    except (OSError, ValueError, AttributeError):
        saved = -1
    if saved < 0:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


with _native_stderr_silenced():
    import keras
    import tensorflow as tf

    # Thread pools can only be sized before the runtime starts, so do it here, from the limit
    # the front end recorded (core.threads), and only then initialise the runtime.
    _intra, _inter = pool_sizes()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(_intra)
        tf.config.threading.set_inter_op_parallelism_threads(_inter)
    except RuntimeError:
        pass  # another library started TensorFlow first; thread_pools() says what it has
    tf.constant(0)  # initialise the runtime (and its start-up chatter) while silenced

# TensorFlow's Python logger warns about retracing and deprecations in terms users cannot act on.
tf.get_logger().setLevel("ERROR")


def thread_pools() -> dict[str, int]:
    """The pool sizes TensorFlow actually uses (0 = TensorFlow's automatic choice)."""
    return {
        "intra_op": int(tf.config.threading.get_intra_op_parallelism_threads()),
        "inter_op": int(tf.config.threading.get_inter_op_parallelism_threads()),
    }


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


__all__ = ["keras", "tf", "thread_pools", "versions"]
