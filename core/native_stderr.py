"""What native code writes straight to file descriptor 2: the one way the app takes it off the
terminal.

Native libraries print to the process's descriptor 2 themselves, past ``sys.stderr``, Python's
warnings and logging: TensorFlow's C++ start-up and the TFLite converter (see
:mod:`core.nets.runtime`), and libtiff inside Pillow when it reads a damaged TIFF (see
:mod:`core.data.images`). The only way to keep those lines off the terminal is to point descriptor 2
somewhere else for the block and restore it afterwards.

Descriptor 2 is one per process, so every redirect holds :data:`FD2_LOCK`. Two redirects
overlapping in different threads would otherwise undo each other: the second saves the first's
target as "the terminal" and restores it last, leaving descriptor 2 on a closed pipe and every
later message lost. The lock is re-entrant, so a redirect inside another one in the same thread
(the int8 quantiser's inside the converter's) nests correctly. Needs only the standard library:
image decoding imports it without TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: Held by every redirect of descriptor 2 for as long as it lasts (see the module's docstring).
FD2_LOCK = threading.RLock()
#: Bytes of one capture kept; native code gone wild must not fill the memory.
MAX_CAPTURED = 256 * 1024

_free_sinks: list[int] = []  # descriptors of files captures go to, emptied after each use


def _after_fork_in_child() -> None:
    """A forked child starts with a lock no thread of its own holds and a capture file of its
    own (sharing the parent's would mix their offsets)."""
    global FD2_LOCK, _free_sinks
    FD2_LOCK = threading.RLock()
    for sink in _free_sinks:
        with contextlib.suppress(OSError):
            os.close(sink)
    _free_sinks = []


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def stderr_fd() -> int:
    """The process's file descriptor 2 as Python knows it; -1 when there is none (windowed)."""
    try:
        return sys.__stderr__.fileno() if sys.__stderr__ is not None else -1
    except (OSError, ValueError, AttributeError):
        return -1


def redirect(fd: int, target: int) -> int:
    """Point ``fd`` at ``target``; returns a copy of the old ``fd`` to restore, or -1 (and
    ``fd`` unchanged) when the descriptors refuse. Call it holding :data:`FD2_LOCK`."""
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


def flush_python_stderr() -> None:
    """Write out what Python holds in its stderr buffers, so it lands where descriptor 2
    points now, not where it will point after the next redirect."""
    for stream in (sys.stderr, sys.__stderr__):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()  # type: ignore[union-attr]


def write_fd(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``, quietly giving up if the descriptor refuses."""
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(fd, data) :]


def show(text: str) -> None:
    """Put ``text`` on descriptor 2 as it was written (lines a capture took by the way)."""
    fd = stderr_fd()
    if text and fd >= 0:
        flush_python_stderr()
        write_fd(fd, text.encode("utf-8", "surrogateescape"))


@contextlib.contextmanager
def filtered(hidden: Callable[[str], bool]) -> Iterator[None]:
    """Run a block whose native code writes many lines to descriptor 2 (the TFLite converter),
    passing each line on as it comes unless ``hidden(line)``.

    Descriptor 2 goes through a pipe that a thread reads, so the lines kept show at once, even
    if the native code then aborts the process. If the block fails, the hidden lines are shown
    too (the reasons may be in there). Holds :data:`FD2_LOCK` throughout. Without a usable
    descriptor 2 (a windowed app) the block just runs.
    """
    with FD2_LOCK:
        fd = stderr_fd()
        try:
            read_end, write_end = os.pipe() if fd >= 0 else (-1, -1)
        except OSError:  # out of descriptors: let the lines through
            read_end = write_end = -1
        if read_end < 0:
            yield
            return
        flush_python_stderr()
        saved = redirect(fd, write_end)
        os.close(write_end)  # fd is now the pipe's only writer: restoring it ends the pump
        if saved < 0:
            os.close(read_end)
            yield
            return
        held: list[bytes] = []

        def pump() -> None:
            with os.fdopen(read_end, "rb") as reader:
                for line in reader:
                    if hidden(line.decode("utf-8", "replace")):
                        held.append(line)
                    else:
                        write_fd(saved, line)

        thread = threading.Thread(target=pump, name="fd2-filter", daemon=True)
        thread.start()
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            flush_python_stderr()
            os.dup2(saved, fd)  # closes the pipe's write end: the pump reads to the end
            thread.join(timeout=10)
            if failed:
                write_fd(saved, b"".join(held))
            os.close(saved)


@dataclass
class Captured:
    """What descriptor 2 received during a :func:`captured` block, once the block has ended."""

    text: str = ""


@contextlib.contextmanager
def captured() -> Iterator[Captured]:
    """Run a block with descriptor 2 pointing at a file; afterwards the yielded
    :class:`Captured` holds what was written (even when the block raised).

    For short blocks whose native code may print (one TIFF decoded): a file, unlike a pipe,
    never blocks the writer and needs no reading thread, and it is made once per process, so a
    capture costs a few system calls. Holds :data:`FD2_LOCK` throughout. Everything written to
    descriptor 2 meanwhile is taken, another thread's lines too: the caller decides what to
    pass on (:func:`show`). Without a usable descriptor 2 (a windowed app) the block just runs.
    """
    held = Captured()
    with FD2_LOCK:
        fd = stderr_fd()
        sink = _capture_file() if fd >= 0 else -1
        saved = -1
        if sink >= 0:
            flush_python_stderr()
            saved = redirect(fd, sink)
        if saved < 0:
            if sink >= 0:
                _free_sinks.append(sink)
            yield held
            return
        try:
            yield held
        finally:
            flush_python_stderr()
            os.dup2(saved, fd)
            os.close(saved)
            held.text = _take(sink)
            _free_sinks.append(sink)


def _capture_file() -> int:
    """The descriptor of a capture file not in use (one per nesting level, kept open for the
    process's life); the null device where no temporary file can be made (the lines are then
    dropped, not shown); -1 when neither opens. Call it holding :data:`FD2_LOCK`."""
    if _free_sinks:
        return _free_sinks.pop()
    try:
        with tempfile.TemporaryFile() as handle:  # already unlinked where the system allows
            return os.dup(handle.fileno())
    except OSError:
        try:
            return os.open(os.devnull, os.O_WRONLY)
        except OSError:
            return -1


def _take(sink: int) -> str:
    """What the capture file holds, which then empties it for the next capture."""
    try:
        size = os.lseek(sink, 0, os.SEEK_END)
        if not size:
            return ""
        os.lseek(sink, 0, os.SEEK_SET)
        data = b""
        while len(data) < min(size, MAX_CAPTURED):
            chunk = os.read(sink, min(size, MAX_CAPTURED) - len(data))
            if not chunk:
                break
            data += chunk
        os.ftruncate(sink, 0)
        os.lseek(sink, 0, os.SEEK_SET)
    except OSError:
        return ""
    more = f"\n[{size - len(data)} more bytes not kept]\n" if size > len(data) else ""
    return data.decode("utf-8", "replace") + more
