"""Terminal output helpers for the command line: a progress bar and safe printing.

Windowed (frozen) builds set ``sys.stdout``/``sys.stderr`` to None; every helper here checks for
that and stays silent instead of crashing.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from core.names import readable


def _stream(name: str) -> TextIO | None:
    return getattr(sys, name, None)


def _print(text: str, stream: TextIO | None) -> None:
    if stream is None:
        return
    text = readable(text)
    try:
        print(text, file=stream, flush=True)
    except UnicodeEncodeError:  # a terminal or file in a legacy encoding
        encoding = stream.encoding or "ascii"
        print(text.encode(encoding, "replace").decode(encoding), file=stream, flush=True)


def out(text: str = "") -> None:
    """Print a line on stdout, if there is one (names that are not UTF-8 shown readably)."""
    _print(text, _stream("stdout"))


def err(text: str) -> None:
    """Print a line on stderr, if there is one (names that are not UTF-8 shown readably)."""
    _print(text, _stream("stderr"))


def silence_closed_stdout() -> None:
    """After stdout's reader went away (``cnn-studio ... | head``): point stdout at the null
    device so the interpreter's final flush does not report the broken pipe again."""
    stream = _stream("stdout")
    if stream is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError):
        pass


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """A one-line progress bar with ETA on stderr, drawn only when stderr is a terminal.

    Use it as a ``progress(fraction, message)`` callback. Called on the thread doing the work.
    """

    def __init__(self, label: str = "", width: int = 28, enabled: bool | None = None) -> None:
        stream = _stream("stderr")
        tty = stream is not None and hasattr(stream, "isatty") and stream.isatty()
        self.enabled = tty if enabled is None else enabled
        self.label = label
        self.width = width
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def __call__(self, fraction: float, message: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw < 0.1 and fraction < 1.0:
            return
        self._last_draw = now
        filled = int(self.width * min(max(fraction, 0.0), 1.0))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = now - self.start
        eta = ""
        if 0.02 < fraction < 1.0:
            eta = f" ETA {format_seconds(elapsed / fraction - elapsed)}"
        line = f"\r{self.label}[{bar}] {fraction * 100:5.1f}%{eta} {message}"
        stream = _stream("stderr")
        if stream is not None:
            stream.write(readable(line[:160]).ljust(100))
            stream.flush()
            self._drawn = True

    def close(self) -> None:
        """End the bar's line so following output starts on a fresh line."""
        stream = _stream("stderr")
        if self._drawn and stream is not None:
            stream.write("\n")
            stream.flush()
            self._drawn = False
