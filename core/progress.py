"""Progress reporting and cancellation shared by every long-running engine task.

A task takes a plain ``progress(fraction, message)`` callable and a :class:`CancelToken`.
Callbacks run on the thread that does the work (a worker thread in the GUI); they must be quick
and must not touch widgets directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from core.errors import Cancelled

ProgressCallback = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """Progress sink that ignores everything."""


class CancelToken:
    """A thread-safe flag that a front end sets and long work polls."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop; safe to call from any thread, any number of times."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`Cancelled` when :meth:`cancel` has been called."""
        if self._event.is_set():
            raise Cancelled()


class Throttle:
    """Lets a progress report through only when it changed noticeably or time passed.

    Keeps a chatty loop (one report per file) from flooding a GUI with signals.
    """

    def __init__(
        self, callback: ProgressCallback, min_interval: float = 0.05, min_step: float = 0.01
    ) -> None:
        self._callback = callback
        self._min_interval = min_interval
        self._min_step = min_step
        self._last_time = 0.0
        self._last_fraction = -1.0

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if (
            fraction >= 1.0
            or fraction - self._last_fraction >= self._min_step
            or now - self._last_time >= self._min_interval
        ):
            self._last_time = now
            self._last_fraction = fraction
            self._callback(fraction, message)


class TrainingControl:
    """Thread-safe stop (keep the model) and cancel (discard it) requests."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._cancel = threading.Event()

    def stop(self) -> None:
        """End after the current batch and keep the model trained so far."""
        self._stop.set()

    def cancel(self) -> None:
        """End after the current batch and discard the model."""
        self._cancel.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()
