"""Importing TensorFlow/Keras the way the app needs it, in one place.

Import this module (or any engine module that needs Keras) only on the thread that will run all
TensorFlow work: the GUI imports it on its worker thread, so the window appears before the
seconds-long TensorFlow import. It selects the TensorFlow backend, silences TensorFlow's log
chatter and sizes the thread pools from :mod:`core.threads` before the runtime starts.

TensorFlow talks on four channels, each quietened here: its C++ log (``TF_CPP_MIN_LOG_LEVEL``,
set before the import; warnings and info hidden, errors kept), what its C++ start-up writes
before that level applies (silenced around the import), its and absl's Python loggers (errors
only) and Python warnings raised inside Keras/TensorFlow (hidden). The TFLite converter writes
its log from native code straight to the terminal, and a build whose converter does not honour
the level would print it anyway, so the export runs inside :func:`native_logs_filtered`. Set
``TF_CPP_MIN_LOG_LEVEL=0`` to see TensorFlow's C++ log when debugging: an explicit value wins.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterator

from core import native_stderr
from core.threads import pool_sizes

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: One line of TensorFlow's C++ log, in absl's format (``W0000 00:00:1796068953.388 7953
#: file.cc:364] text``) or the older one (``2024-12-26 15:17:07.215039: I path/file.cc:193]
#: text``); group 1 or 2 is the severity letter.
_LOG_LINE = re.compile(
    r"^(?:([IWEF])\d{4} \S+\s+\d+ |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) )\S+:\d+\] "
)
#: absl's notice before its first log line, and TensorFlow Lite's own ``INFO:`` lines.
_LOG_NOTICES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "INFO: ",
)
_SEVERITIES = "IWEF"  # TF_CPP_MIN_LOG_LEVEL 1 hides I, 2 also W, 3 also E


def _min_log_level() -> int:
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    except ValueError:
        return 2


def drop_chatter(text: str, level: int | None = None) -> str:
    """``text`` without TensorFlow's log lines below ``level`` (default: the
    ``TF_CPP_MIN_LOG_LEVEL`` in force); every other line is kept as it was."""
    level = _min_log_level() if level is None else level
    kept = []
    for line in text.splitlines(keepends=True):
        match = _LOG_LINE.match(line)
        if match:
            if _SEVERITIES.index(match.group(1) or match.group(2)) >= level:
                kept.append(line)
        elif not (level >= 1 and line.startswith(_LOG_NOTICES)):
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def native_logs_filtered() -> Iterator[None]:
    """Run a block whose native code logs straight to file descriptor 2 (the TFLite converter)
    without TensorFlow's info and warning lines reaching the terminal.

    :func:`core.native_stderr.filtered` passes every other line on as it comes, so our own
    lines and error lines show at once, even if the native code then aborts the process. If the
    block fails, the held-back lines are shown too: the converter's reasons may be in there.
    """
    level = _min_log_level()
    with native_stderr.filtered(lambda line: not drop_chatter(line, level)):
        yield


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hide what TensorFlow's C++ start-up writes straight to file descriptor 2.

    Those lines (oneDNN notes, "could not find cuda drivers") are printed before TensorFlow's
    log level applies, so the variable above cannot stop them. They are captured by
    :func:`core.native_stderr.captured` and dropped; Python-level errors still show.
    """
    with native_stderr.captured():
        yield


with _native_stderr_silenced():
    import keras
    import tensorflow as tf
    from absl import logging as absl_logging

    # Thread pools can only be sized before the runtime starts, so do it here, from the limit
    # the front end recorded (core.threads), and only then initialise the runtime.
    _intra, _inter = pool_sizes()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(_intra)
        tf.config.threading.set_inter_op_parallelism_threads(_inter)
    except RuntimeError:
        pass  # another library started TensorFlow first; thread_pools() says what it has
    tf.constant(0)  # initialise the runtime (and its start-up chatter) while silenced

# TensorFlow's Python logger warns about retracing and deprecations in terms users cannot act on;
# absl's logger (Keras and TensorFlow log through it too) likewise. Errors still show.
tf.get_logger().setLevel("ERROR")
absl_logging.set_verbosity(absl_logging.ERROR)
# Python warnings raised inside Keras/TensorFlow are about their internals, not the user's data.
warnings.filterwarnings("ignore", module=r"(keras|tensorflow|absl)(\.|$)")


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


__all__ = ["drop_chatter", "keras", "native_logs_filtered", "tf", "thread_pools", "versions"]
