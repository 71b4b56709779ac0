"""Ctrl-C during start-up: end at once, quietly, with exit code 130.

Python turns Ctrl-C into a ``KeyboardInterrupt`` wherever the main thread happens to be. In the
first second of a command that is inside numpy's or TensorFlow's imports, where a C extension
reports it as an ``ImportError`` (numpy's "PyCapsule_Import could not import module datetime")
and the user sees a long traceback instead of the one line they get later on. Nothing has been
read or written yet at that point, so ending the process at once loses nothing.

Only the standard library is imported here, so that the handler is in place before anything
heavy starts importing. Both functions must be called on the main thread.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

MESSAGE = "cnn-studio: interrupted\n"
EXIT_CODE = 130


def _exit_now(signum: int, frame: FrameType | None) -> None:
    stream = sys.stderr
    try:
        if stream is not None:
            stream.write(MESSAGE)
            stream.flush()
    except (OSError, ValueError):  # a closed or broken stderr: the exit code still says it
        pass
    os._exit(EXIT_CODE)


def exit_on_ctrl_c() -> None:
    """Until :func:`restore_ctrl_c`, Ctrl-C ends the process at once (see the module docstring).

    A process started with Ctrl-C ignored (``nohup``, some job runners) keeps ignoring it.
    """
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _exit_now)


def restore_ctrl_c() -> None:
    """Give Ctrl-C back to Python (``KeyboardInterrupt``), once the imports are done, so that
    the program's own handling (stop training, keep the model) takes over."""
    if signal.getsignal(signal.SIGINT) is _exit_now:
        signal.signal(signal.SIGINT, signal.default_int_handler)
