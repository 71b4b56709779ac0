"""Terminal output helpers for the command line: a progress bar and safe printing.

Windowed (frozen) builds set ``sys.stdout``/``sys.stderr`` to None; every helper here checks for
that and stays silent instead of crashing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from core.names import display_width, one_line, readable

#: How much the command line says: -1 quiet (results, warnings and errors only), 0 normal,
#: 1 verbose (the engine's log lines too), 2 very verbose (TensorFlow's own log as well).
_verbosity = 0

#: Widest name (in terminal columns) a table keeps on its row; a longer one gets a line of its
#: own, so one long class name does not push every number off a normal terminal.
MAX_NAME_COLUMNS = 40


def _stream(name: str) -> TextIO | None:
    return getattr(sys, name, None)


def _print(text: str, stream: TextIO | None, end: str = "\n") -> None:
    if stream is None:
        return
    text = readable(text)
    try:
        print(text, file=stream, end=end, flush=True)
    except UnicodeEncodeError:  # a terminal or file in a legacy encoding
        encoding = stream.encoding or "ascii"
        print(text.encode(encoding, "replace").decode(encoding), file=stream, end=end, flush=True)


def out(text: str = "", end: str = "\n") -> None:
    """Print a line on stdout, if there is one (names that are not UTF-8 shown readably);
    ``end=""`` prints part of a line (a long result written as it comes)."""
    _print(text, _stream("stdout"), end)


class JsonArray:
    """Prints a JSON array on stdout one element at a time, exactly as ``json.dumps(list,
    indent=indent, ensure_ascii=False)`` prints it whole, so a long list of results is never
    held (each element is printed when the next arrives or at :meth:`close`). Main thread."""

    def __init__(self, indent: int | None = None) -> None:
        self._indent = indent
        self._count = 0

    def add(self, item: Any) -> None:
        """Print ``item`` as the array's next element."""
        text = json.dumps(item, indent=self._indent, ensure_ascii=False)
        if self._indent is None:
            out(("[" if not self._count else ", ") + text, end="")
        else:  # json's own layout: each line of an element indented once more
            pad = " " * self._indent
            lines = "\n".join(pad + line for line in text.split("\n"))
            out(("[\n" if not self._count else ",\n") + lines, end="")
        self._count += 1

    def close(self) -> None:
        """End the array (``[]`` when it has no element) and its line."""
        if not self._count:
            out("[]")
        else:
            out("\n]" if self._indent is not None else "]")


def err(text: str) -> None:
    """Print a line on stderr, if there is one (names that are not UTF-8 shown readably)."""
    _print(text, _stream("stderr"))


def set_verbosity(level: int) -> None:
    """Set how much the command line says (``-q`` gives -1, each ``-v`` adds one).

    Verbose levels also send the app's log records (``cnnstudio.*``: which files were skipped
    and why, what the engine did) to stderr; level 2 lets TensorFlow's C++ log through, which
    only works before :mod:`core.nets.runtime` is imported. Called on the main thread at start-up.
    """
    global _verbosity
    _verbosity = max(-1, min(2, level))
    if _verbosity >= 1:
        import logging

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.DEBUG if _verbosity >= 2 else logging.INFO)
    if _verbosity >= 2:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"


def verbosity() -> int:
    """The level set by :func:`set_verbosity` (0 unless ``-q`` or ``-v`` was given)."""
    return _verbosity


def note(text: str) -> None:
    """An informational line on stderr (what was chosen, what is happening); ``-q`` hides it.

    Results go to stdout with :func:`out`; warnings and errors with :func:`err`, always shown.
    """
    if _verbosity >= 0:
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


def table(
    rows: Sequence[Sequence[str]],
    header: Sequence[str] | None = None,
    indent: str = "",
    max_name: int = MAX_NAME_COLUMNS,
) -> list[str]:
    """The lines of a table: a name column, left-aligned, then value columns, right-aligned.

    Widths are measured in terminal columns (a CJK name takes two per character) on the name as
    it is shown (:func:`core.names.one_line`), so the header lines up with the numbers whatever
    the names. A name wider than ``max_name`` is printed on a line of its own and its values on
    the next, under their headings, the way ``--help`` lays out a long option.
    """
    shown = [[one_line(cell) for cell in row] for row in rows]
    heading = [one_line(cell) for cell in header] if header is not None else None
    every = [*shown, heading] if heading is not None else shown
    columns = max((len(row) for row in every), default=0)
    widths = [
        max((display_width(row[k]) for row in every if k < len(row)), default=0)
        for k in range(1, columns)
    ]
    names = (display_width(row[0]) for row in every if row)
    widths.insert(0, max((w for w in names if w <= max_name), default=0))

    def line(cells: Sequence[str]) -> str:
        parts = [_pad(cells[0], widths[0], left=True)] if cells else []
        parts += [_pad(cell, widths[k], left=False) for k, cell in enumerate(cells) if k]
        return (indent + "  ".join(parts)).rstrip()

    lines = [line(heading)] if heading is not None else []
    for row in shown:
        if row and display_width(row[0]) > widths[0]:
            lines.append(indent + row[0])
            row = ["", *row[1:]]
        lines.append(line(row))
    return lines


def _pad(text: str, width: int, left: bool) -> str:
    """``text`` padded with spaces to ``width`` terminal columns (on the right when ``left``)."""
    gap = " " * max(0, width - display_width(text))
    return text + gap if left else gap + text


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
        self.enabled = (tty if enabled is None else enabled) and _verbosity >= 0
        self.label = label
        self.width = width
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False
        self._last: tuple[float, str] | None = None  # the latest report, to draw it again
        self._drawn_chars = 0

    def __call__(self, fraction: float, message: str) -> None:
        if not self.enabled:
            return
        self._last = (fraction, message)
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
            text = readable(line[:160]).ljust(100)
            stream.write(text)
            stream.flush()
            self._drawn = True
            self._drawn_chars = len(text) - 1  # without the "\r"

    @contextlib.contextmanager
    def hidden(self) -> Iterator[None]:
        """Erase the bar while the block prints lines (results as they come), then draw it
        again below them."""
        stream = _stream("stderr")
        shown = False
        if stream is not None and self._drawn:
            stream.write("\r" + " " * self._drawn_chars + "\r")
            stream.flush()
            self._drawn, shown = False, True
        try:
            yield
        finally:
            if shown and self._last is not None:
                self._last_draw = 0.0
                self(*self._last)

    def close(self) -> None:
        """End the bar's line so following output starts on a fresh line."""
        stream = _stream("stderr")
        if self._drawn and stream is not None:
            stream.write("\n")
            stream.flush()
            self._drawn = False
