"""The worker thread and the task bookkeeping behind :class:`gui.engine_adapter.Engine`.

One Python thread (:class:`Worker`) runs the queued session calls one after another. Each
request is a :class:`Task` (Orange3's ``TaskState``): a newer request of a superseding kind
cancels the one before through its token, and whatever the replaced task still reports is
dropped on the GUI thread. :class:`TaskBook` is the Engine's share of that: queueing jobs,
superseding tasks, dropping stale results, and publishing the session's state with the
requests still queued.

Threads: :meth:`TaskBook._submit` and :meth:`TaskBook._new_task` are called on the GUI thread;
the jobs run on the worker thread; ``_on_session_changed``, ``_on_job_finished`` and
``_on_task_event`` are slots that Qt delivers on the GUI thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QTimer, Slot

from core.errors import CnnStudioError
from core.names import readable
from core.progress import CancelToken
from core.state import SessionState

log = logging.getLogger("cnnstudio.engine")

#: Kinds of task where a new request replaces the previous one.
SUPERSEDING = ("loading", "describing", "evaluating", "looking inside")


class Worker:
    """One Python thread that runs queued jobs, one after another, until told to stop."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="cnnstudio-engine", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float) -> bool:
        """Drop jobs not yet started, let the running one end, and join the thread."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._jobs.get_nowait()
        self._jobs.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()


class Task:
    """One request: its kind, a cancel token, and whether a newer request replaced it.

    Created on the GUI thread; the worker polls ``token`` and ``stale``.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.token = CancelToken()
        self._superseded = threading.Event()

    def supersede(self) -> None:
        """A newer request of the same kind arrived: cancel this one and drop its results."""
        self._superseded.set()
        self.token.cancel()

    @property
    def stale(self) -> bool:
        return self._superseded.is_set()


class TaskBook:
    """The Engine's task bookkeeping, mixed into :class:`gui.engine_adapter.Engine`.

    Uses the attributes the Engine creates: ``_worker``, ``_tasks`` (the latest task of each
    superseding kind), ``_queued`` and ``_state`` (GUI thread only), ``_publish_pending``,
    ``_classifying``; its signals ``state_changed``, ``operation_failed``, ``error`` and
    ``_job_finished``; and its ``_deliver``, which turns a task's event into a public signal.
    """

    # --- state (GUI thread) -----------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """The latest session state, with the requests still queued."""
        return dataclasses.replace(self._state, queued=tuple(self._queued))

    @Slot(object)
    def _on_session_changed(self, state: SessionState) -> None:
        self._state = state
        self._publish()

    @Slot(str)
    def _on_job_finished(self, kind: str) -> None:
        with contextlib.suppress(ValueError):
            self._queued.remove(kind)
        self._publish()

    def _publish(self) -> None:
        """Emit ``state_changed`` from the event loop, once for a burst of changes.

        Never synchronously: a widget reacting to the state may make a request, and a nested
        emission would reach the widgets connected after it in the wrong order.
        """
        if not self._publish_pending:
            self._publish_pending = True
            QTimer.singleShot(0, self._emit_state)

    def _emit_state(self) -> None:
        self._publish_pending = False
        self.state_changed.emit(self.state)

    @Slot(object, str, object)
    def _on_task_event(self, task: Task, event: str, payload: object) -> None:
        """GUI thread: forward a task's event unless it was cancelled or replaced meanwhile."""
        if task.stale:
            return
        if task.kind in SUPERSEDING and self._tasks.get(task.kind) is not task:
            return
        if event == "done":
            self._classifying.discard(task)
        else:
            self._deliver(event, payload)

    # --- plumbing ---------------------------------------------------------------------------

    def _submit(self, kind: str, what: str, job: Callable[[], None]) -> None:
        """Queue ``job`` for the worker; report failures as ``operation_failed`` (the user's
        files and folders) or ``error`` (an engine bug, logged with its traceback)."""
        self._queued.append(kind)
        self._publish()

        def guarded() -> None:
            try:
                job()
            except CnnStudioError as exc:
                self.operation_failed.emit(what, readable(str(exc)))
            except OSError as exc:  # a full disk, a read-only folder, a vanished file
                name = f"{exc.filename}: " if exc.filename else ""
                self.operation_failed.emit(what, readable(f"{name}{exc.strerror or exc}"))
            except Exception as exc:  # an engine bug: log it, tell the user, keep running
                log.error("%s failed:\n%s", what, traceback.format_exc())
                self.error.emit(what, readable(f"{type(exc).__name__}: {exc}"))
            finally:
                self._job_finished.emit(kind)

        self._worker.submit(guarded)

    def _new_task(self, kind: str) -> Task:
        """GUI thread: a task of ``kind`` that supersedes the previous one of that kind."""
        previous = self._tasks.get(kind)
        if previous is not None:
            previous.supersede()
        task = Task(kind)
        self._tasks[kind] = task
        return task

    @property
    def worker_alive(self) -> bool:
        return self._worker.alive
