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
import sys
import threading
import warnings
from collections.abc import Iterator

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


def _stderr_fd() -> int:
    """The process's file descriptor 2 as Python knows it; -1 when there is none (windowed)."""
    try:
        return sys.__stderr__.fileno() if sys.__stderr__ is not None else -1
    except (OSError, ValueError, AttributeError):
        return -1


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

    File descriptor 2 goes through a pipe for the block; a thread passes each line on as it
    comes, holding back only TensorFlow's chatter. So our own lines and error lines show at
    once, even if the native code then aborts the process. If the block fails, the held-back
    lines are shown too: the converter's reasons may be in there. Without a usable descriptor
    2 (a windowed app) the block just runs.
    """
    fd = _stderr_fd()
    try:
        read_end, write_end = os.pipe() if fd >= 0 else (-1, -1)
    except OSError:  # out of descriptors: let the lines through
        read_end = write_end = -1
    if read_end < 0:
        yield
        return
    _flush_python_stderr()
    saved = _redirect(fd, write_end)
    os.close(write_end)  # fd is now the pipe's only writer: restoring it ends the pump
    if saved < 0:
        os.close(read_end)
        yield
        return
    level = _min_log_level()
    held: list[bytes] = []

    def pump() -> None:
        with os.fdopen(read_end, "rb") as reader:
            for line in reader:
                if drop_chatter(line.decode("utf-8", "replace"), level):
                    _write_fd(saved, line)
                else:
                    held.append(line)

    thread = threading.Thread(target=pump, name="tf-log-filter", daemon=True)
    thread.start()
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        _flush_python_stderr()
        os.dup2(saved, fd)  # closes the pipe's write end: the pump reads to the end
        thread.join(timeout=10)
        if failed:
            _write_fd(saved, b"".join(held))
        os.close(saved)


def _redirect(fd: int, target: int) -> int:
    """Point ``fd`` at ``target``; returns a copy of the old ``fd`` to restore, or -1 (and
    ``fd`` unchanged) when the descriptors refuse."""
    try:
        saved = os.dup(fd)
    except OSError:
        return -1
    try:
        os.dup2(target, fd)
    except OSError:
        os.close(saved)
        return -1
    return saved


def _flush_python_stderr() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()  # type: ignore[union-attr]


def _write_fd(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(fd, data) :]


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hide what TensorFlow's C++ start-up writes straight to file descriptor 2.

    Those lines (oneDNN notes, "could not find cuda drivers") are printed before TensorFlow's
    log level applies, so the variable above cannot stop them. Python-level errors still show.
    """
    fd = _stderr_fd()
    with open(os.devnull, "wb") as devnull:
        saved = _redirect(fd, devnull.fileno()) if fd >= 0 else -1
        try:
            yield
        finally:
            if saved >= 0:
                os.dup2(saved, fd)
                os.close(saved)


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
