"""The one door from the GUI to the engine: session calls on one worker thread, Qt signals out.

:class:`Engine` wraps a :class:`core.session.Session` (which owns the dataset, the model and every
use case). Its public methods are called on the GUI thread and return at once: each queues a
task for the single worker thread, where every TensorFlow call happens (the import itself,
building, training, predicting, saving), because Keras is not thread-safe and the import takes
seconds. Results come back as the signals below. They are emitted on the worker thread and
delivered by Qt on the GUI thread (queued to this object's thread), and they carry plain data
or frozen objects (:mod:`core.state`), never the session's mutable dataset or model.

Tasks (the task-state pattern of Orange3's ``ConcurrentMixin``): a new dataset load or model
description supersedes the previous one of its kind. The superseded task is cancelled through
its token, and whatever it still reports is dropped on the GUI thread, so a stale result can
never overwrite a newer one. Classifications are tasks too, but a new drop queues behind the
previous one instead of replacing it (a user who drops two folders expects both);
:meth:`Engine.cancel_classifying` (Clear, or another model) cancels them all. Explanations
(where the model looked) supersede per requester: the Classify tab's new request replaces its
previous one, never the Results page's.

``state_changed`` carries the session's :class:`~core.state.SessionState` after every change,
with ``queued`` listing the requests not yet finished. Widgets derive what they show and enable
from it and keep no flags of their own.

The worker is a plain Python ``threading.Thread`` with a job queue, not a ``QThread``:
TensorFlow's pybind11 code caches Python thread states, and on a QThread (whose Python thread
state PySide creates and drops around each call) the first NumPy-to-tensor conversion crashed
the process with a stale thread state in about half the runs. A Python thread keeps one thread
state for its whole life.

Stop, cancel and cancel-loading requests do not queue: they set thread-safe flags that the
running task polls, so they take effect within a batch or a chunk of files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from core.data.images import InputSpec
from core.errors import Cancelled, CnnStudioError
from core.learn.config import TrainConfig
from core.names import readable
from core.progress import CancelToken, ProgressCallback, TrainingControl
from core.session import Session
from core.state import DatasetView, SessionState
from core.use.heatmap import Explanation

log = logging.getLogger("cnnstudio.engine")

#: Size in pixels of the previews sent with classification results.
THUMBNAIL_SIZE = 96
#: Kinds of task where a new request replaces the previous one.
SUPERSEDING = ("loading", "describing", "evaluating", "looking inside")
#: At most this many batch_ended signals a second reach the GUI.
BATCH_SIGNALS_PER_SECOND = 10


class _Worker:
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


class _SignalObserver:
    """Training observer that forwards to the adapter's signals, throttling batch updates.

    Runs on the worker thread (the training thread).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.interval = 1.0 / BATCH_SIGNALS_PER_SECOND
        self.last = 0.0
        self.losses: list[float] = []

    def run_started(self, total_epochs: int, batches_per_epoch: int) -> None:
        self.engine.training_started.emit(total_epochs, batches_per_epoch)

    def batch_ended(self, epoch: int, batch: int, loss: float) -> None:
        self.losses.append(loss)
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            mean = sum(self.losses) / len(self.losses)
            self.losses.clear()
            self.engine.batch_ended.emit(epoch, batch, mean)

    def epoch_ended(self, epoch: int, metrics: dict[str, float], seconds: float) -> None:
        self.losses.clear()
        self.engine.epoch_ended.emit(epoch, dict(metrics), seconds)


class Engine(QObject):
    """Qt-facing adapter around :class:`core.session.Session`; see the module docstring."""

    ready = Signal(dict)  # library versions and thread pools
    state_changed = Signal(object)  # core.state.SessionState
    error = Signal(str, str)  # (what failed, message): unexpected failures (engine bugs)
    operation_failed = Signal(str, str)  # (what, message) for user-caused failures
    dataset_progress = Signal(float, str)
    dataset_loaded = Signal(object)  # core.state.DatasetView
    dataset_failed = Signal(str)
    dataset_cancelled = Signal()
    model_described = Signal(list, int)  # rows of core.nets.models.describe, total parameters
    training_started = Signal(int, int)  # total epochs, batches per epoch
    batch_ended = Signal(int, int, float)  # epoch, batch, loss (mean since the last signal)
    epoch_ended = Signal(int, dict, float)  # epoch, metrics, seconds
    training_finished = Signal(dict)  # core.session.TrainingSummary.to_dict()
    training_failed = Signal(str)
    training_cancelled = Signal()
    model_opened = Signal(object)  # core.state.ModelView
    model_saved = Signal(str)
    model_exported = Signal(dict)  # core.share.check.ExportReport.to_dict()
    report_written = Signal(str)  # the model card's path (reproduce.py is beside it)
    cache_cleared = Signal(int, int)  # files and bytes freed
    dataset_edited = Signal(str)  # what a change to the dataset's folder (or its undo) did
    losses_computed = Signal(int, object, object)  # dataset generation, paths, float32 losses
    # Python objects, not Qt lists: Qt would drop the escaped bytes of names that are not UTF-8.
    classified = Signal(object, object)  # [Prediction.to_dict() + "thumbnail"], [(path, reason)]
    # Evaluating the current model on a labelled folder (Model → Evaluate on a folder…).
    evaluation_progress = Signal(float, str)
    # Evaluation.to_dict(with_mistakes=True) + "folder", "images", "seen_in_training",
    # "unseen" (core.use.evaluate.unseen_score, or None when the model lists no training images),
    # "model"
    folder_evaluated = Signal(object)
    evaluation_failed = Signal(str)
    evaluation_cancelled = Signal()
    # Inside the network: a core.use.network_views.NetworkView (frozen, read-only arrays).
    network_viewed = Signal(object)
    network_view_failed = Signal(str)
    # Where the model looked (Grad-CAM), for one requester ("classify", "results"): the
    # requester, [explanation_row(...)] (NumPy arrays inside), [(path, reason)].
    explained = Signal(str, object, object)
    explanation_failed = Signal(str, str)  # requester, message

    # Worker -> GUI thread: results of superseding tasks travel with their task, so the GUI
    # thread can drop those of a task that was replaced in the meantime.
    _task_event = Signal(object, str, object)  # task, event name, payload
    _session_changed = Signal(object)  # SessionState from the worker
    _job_finished = Signal(str)  # kind

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = _Worker()
        self._session = Session(listener=self._session_changed.emit)
        self._tasks: dict[str, Task] = {}  # the latest task of each superseding kind
        self._control: TrainingControl | None = None
        self._queued: list[str] = []  # GUI thread only
        self._state = SessionState()  # GUI thread only: the latest state from the worker
        self._publish_pending = False
        self._classifying: set[Task] = set()  # GUI thread only: classifications not finished
        self._session_changed.connect(self._on_session_changed)
        self._task_event.connect(self._on_task_event)
        self._job_finished.connect(self._on_job_finished)

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
        if event == "progress":
            self.dataset_progress.emit(*payload)  # type: ignore[misc]
        elif event == "loaded":
            self.dataset_loaded.emit(payload)
        elif event == "load-failed":
            self.dataset_failed.emit(readable(str(payload)))
        elif event == "load-cancelled":
            self.dataset_cancelled.emit()
        elif event == "classified":
            self.classified.emit(*payload)  # type: ignore[misc]
        elif event == "done":
            self._classifying.discard(task)
        elif event == "described":
            self.model_described.emit(*payload)  # type: ignore[misc]
        elif event == "eval-progress":
            self.evaluation_progress.emit(*payload)  # type: ignore[misc]
        elif event == "evaluated":
            self.folder_evaluated.emit(payload)
        elif event == "eval-failed":
            self.evaluation_failed.emit(readable(str(payload)))
        elif event == "eval-cancelled":
            self.evaluation_cancelled.emit()
        elif event == "network-viewed":
            self.network_viewed.emit(payload)
        elif event == "network-failed":
            self.network_view_failed.emit(readable(str(payload)))
        elif event == "explained":
            self.explained.emit(*payload)  # type: ignore[misc]
        elif event == "explain-failed":
            self.explanation_failed.emit(*payload)  # type: ignore[misc]

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

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop running work, end the worker thread and wait for it (GUI thread, on close)."""
        for task in self._tasks.values():
            task.supersede()
        self.cancel_classifying()
        self.cancel_training()
        return self._worker.stop(timeout_ms / 1000)

    @property
    def worker_alive(self) -> bool:
        return self._worker.alive

    # --- start-up ---------------------------------------------------------------------------

    def start(self, thread_limit: int = 0) -> None:
        """Import TensorFlow on the worker thread, capped at ``thread_limit`` CPU threads
        (0 = all); ``ready`` follows when it is done."""
        from core.threads import set_thread_limit

        set_thread_limit(thread_limit)  # before the import below starts TensorFlow's runtime

        def job() -> None:
            from core.nets.runtime import thread_pools, versions

            # TensorFlow brings ~300k long-lived Python objects; a full garbage collection then
            # takes 150-250 ms with the interpreter lock held, freezing the window whenever it
            # happens. Frozen objects are never scanned again, so collections stay short.
            gc.freeze()
            self.ready.emit({**versions(), **{k: str(v) for k, v in thread_pools().items()}})

        self._submit("starting", "Starting the engine", job)

    # --- datasets ---------------------------------------------------------------------------

    def load_dataset(self, folder: Path | str, spec: InputSpec | None = None) -> None:
        """Scan and decode ``folder`` (superseding any load in progress) at ``spec``, or at the
        input chosen for the data; emits progress, then loaded, failed or cancelled."""

        def run(progress: ProgressCallback, token: CancelToken) -> DatasetView:
            return self._session.load_dataset(folder, spec, progress, token)

        self._load(run)

    def load_demo(self, spec: InputSpec | None = None) -> None:
        """Load the built-in demo dataset, drawing it on the worker thread on first use."""

        def run(progress: ProgressCallback, token: CancelToken) -> DatasetView:
            return self._session.load_demo(spec, progress, token)

        self._load(run)

    def _load(self, run: Callable[..., object]) -> None:
        task = self._new_task("loading")

        def job() -> None:
            def progress(fraction: float, message: str) -> None:
                self._task_event.emit(task, "progress", (fraction, message))

            try:
                task.token.raise_if_cancelled()  # cancelled while it waited in the queue
                view = run(progress, task.token)
            except Cancelled:
                self._task_event.emit(task, "load-cancelled", None)
                return
            except CnnStudioError as exc:
                self._task_event.emit(task, "load-failed", str(exc))
                return
            except Exception as exc:  # an engine bug: end the load visibly, then report it
                self._task_event.emit(task, "load-failed", f"{type(exc).__name__}: {exc}")
                raise
            self._task_event.emit(task, "loaded", view)

        self._submit("loading", "Loading the dataset", job)

    def cancel_loading(self) -> None:
        """Cancel the latest dataset load (GUI thread)."""
        task = self._tasks.get("loading")
        if task is not None:
            task.token.cancel()

    # --- models and training ----------------------------------------------------------------

    def describe_model(self, preset: str, augment: bool) -> None:
        """Describe ``preset``'s layers for the loaded dataset (superseding earlier requests)."""
        task = self._new_task("describing")

        def job() -> None:
            if task.stale:
                return
            rows, total = self._session.describe(preset, augment)
            self._task_event.emit(task, "described", (rows, total))

        self._submit("describing", "Describing the model", job)

    def train(self, config: TrainConfig, preset: str, augment: bool) -> None:
        """Train a new model on the loaded dataset."""
        self._train(
            lambda observer, control: self._session.train(
                config, preset, augment, observer, control
            )
        )

    def continue_training(self, config: TrainConfig) -> None:
        """Train the current model ``config.epochs`` more epochs on the loaded dataset."""
        self._train(
            lambda observer, control: self._session.continue_training(config, observer, control)
        )

    def _train(self, run: Callable[..., object]) -> None:
        control = TrainingControl()
        self._control = control

        def job() -> None:
            try:
                summary = run(_SignalObserver(self), control)
            except Cancelled:
                self.training_cancelled.emit()
                return
            except CnnStudioError as exc:
                self.training_failed.emit(readable(str(exc)))
                return
            except Exception as exc:  # an engine bug (or a full disk): end the run visibly
                self.training_failed.emit(readable(f"{type(exc).__name__}: {exc}"))
                raise
            self.training_finished.emit(summary.to_dict())  # type: ignore[attr-defined]

        self._submit("training", "Training", job)

    def stop_training(self) -> None:
        """Finish after the current batch and keep the model (any thread)."""
        if self._control is not None:
            self._control.stop()

    def cancel_training(self) -> None:
        """Finish after the current batch and discard what this run did (any thread)."""
        if self._control is not None:
            self._control.cancel()

    # --- model files ------------------------------------------------------------------------

    def save_model(self, path: Path | str) -> None:
        """Save the current model (trained here or opened) to ``path``."""

        def job() -> None:
            self.model_saved.emit(str(self._session.save(path)))

        self._submit("saving", "Saving the model", job)

    def open_model(self, path: Path | str) -> None:
        """Open a .cnnmodel file as the current model."""

        def job() -> None:
            self.model_opened.emit(self._session.open(path))

        self._submit("opening", "Opening the model", job)

    def export_model(self, fmt: str, path: Path | str) -> None:
        """Export the current model as a folder (format ``fmt``) and check it by running the
        folder's classify.py in a fresh process; ``model_exported`` carries the check's report
        (its ``folder`` and its ``summary`` line among the keys)."""

        def job() -> None:
            self.model_exported.emit(self._session.export(fmt, path).to_dict())

        self._submit("exporting", "Exporting the model", job)

    def write_report(self, folder: Path | str) -> None:
        """Write the current model's card and reproduce.py into ``folder`` on the worker (it
        reads the model's weights); ``report_written`` carries the card's path."""

        def job() -> None:
            self.report_written.emit(str(self._session.write_report(folder).card))

        self._submit("reporting", "Writing the model report", job)

    def clear_cache(self) -> None:
        """Empty the cache on the worker (so no load is writing to it meanwhile)."""

        def job() -> None:
            self.cache_cleared.emit(*self._session.clear_cache())

        self._submit("clearing", "Clearing the cache", job)

    # --- editing the dataset folder ------------------------------------------------------------

    def edit_dataset(self, operation: str, *args: object) -> None:
        """Change the loaded dataset's folder on disk (``operation`` and ``args`` as in
        :meth:`core.session.Session.edit`: move a file to another class, exclude it, create
        or rename a class, copy files in) on the worker, since it changes the session's
        dataset; the new state follows, then ``dataset_edited`` with what was done, or
        ``operation_failed`` with why nothing was (the disk unchanged)."""

        def job() -> None:
            self.dataset_edited.emit(self._session.edit(operation, *args).description)

        self._submit("editing", "Changing the dataset folder", job)

    def undo_edit(self) -> None:
        """Undo the latest change to the dataset's folder (on the worker); ``dataset_edited``
        says what undoing did, ``operation_failed`` why it could not."""

        def job() -> None:
            self.dataset_edited.emit(self._session.undo_edit().description)

        self._submit("editing", "Undoing the change to the dataset folder", job)

    def compute_losses(self) -> None:
        """Each loaded image's loss under the current model (Session.losses) on the worker;
        ``losses_computed`` carries (the dataset's generation, its paths, the losses) so a
        widget can tell whether they still belong to the dataset it shows."""

        def job() -> None:
            losses = self._session.losses()
            view = self._session.state().dataset
            if view is not None:
                self.losses_computed.emit(view.generation, view.paths, losses)

        self._submit("scoring", "Scoring each image with the model", job)

    # --- evaluation -------------------------------------------------------------------------

    def evaluate_folder(self, folder: Path | str) -> None:
        """Score the current model on a labelled folder (superseding an evaluation in
        progress): ``evaluation_progress`` while its images are read, then
        ``folder_evaluated``, ``evaluation_failed`` or ``evaluation_cancelled``."""
        task = self._new_task("evaluating")

        def job() -> None:
            def progress(fraction: float, message: str) -> None:
                self._task_event.emit(task, "eval-progress", (fraction, message))

            try:
                task.token.raise_if_cancelled()  # cancelled while it waited in the queue
                evaluation = self._session.evaluate_folder(folder, progress, task.token)
                model = self._session.state().model
            except Cancelled:
                self._task_event.emit(task, "eval-cancelled", None)
                return
            except CnnStudioError as exc:
                self._task_event.emit(task, "eval-failed", str(exc))
                return
            except Exception as exc:  # an engine bug: end the evaluation visibly, then report
                self._task_event.emit(task, "eval-failed", f"{type(exc).__name__}: {exc}")
                raise
            result = {
                **evaluation.to_dict(with_mistakes=True),
                "folder": str(folder),
                "images": sum(map(sum, evaluation.confusion)),
                "seen_in_training": evaluation.seen_in_training,
                "unseen": evaluation.unseen,
                "model": model.display_name if model is not None else "",
            }
            self._task_event.emit(task, "evaluated", result)

        self._submit("evaluating", "Evaluating the model", job)

    def cancel_evaluating(self) -> None:
        """Cancel the latest evaluation of a folder (GUI thread); its result is dropped."""
        task = self._tasks.get("evaluating")
        if task is not None:
            task.token.cancel()

    # --- inside the network -----------------------------------------------------------------

    def view_network(
        self, image: str | np.ndarray, name: str | None = None, max_maps: int = 16
    ) -> None:
        """Compute what each layer of the current model makes of one image (a file path, or
        pixels from the loaded dataset) on the worker, superseding the previous request:
        ``network_viewed`` carries a :class:`core.use.network_views.NetworkView`, or
        ``network_view_failed`` says why not (a bad file, no model)."""
        task = self._new_task("looking inside")

        def job() -> None:
            if task.stale:
                return
            try:
                view = self._session.network_view(image, max_maps, name)
            except CnnStudioError as exc:
                self._task_event.emit(task, "network-failed", str(exc))
                return
            except Exception as exc:  # an engine bug: say so in the tab, then report it
                self._task_event.emit(task, "network-failed", f"{type(exc).__name__}: {exc}")
                raise
            self._task_event.emit(task, "network-viewed", view)

        self._submit("looking inside", "Looking inside the network", job)

    # --- classification ---------------------------------------------------------------------

    def classify(self, paths: list[str], top_k: int = 3) -> None:
        """Classify files and folders (expanded off the GUI thread) with the current model.

        Queues behind earlier classifications (and any training in progress, since the engine
        has one thread); :meth:`cancel_classifying` drops them all.
        """
        task = Task("classifying")
        self._classifying.add(task)

        def job() -> None:
            from core.data.images import thumbnail

            try:
                task.token.raise_if_cancelled()
                predictions, failures = self._session.classify(paths, top_k, task.token)
                # Previews are decoded here too: on the GUI thread a phone photo took ~12 ms.
                rows = []
                for p in predictions:
                    task.token.raise_if_cancelled()
                    rows.append({**p.to_dict(), "thumbnail": thumbnail(p.path, THUMBNAIL_SIZE)})
            except Cancelled:
                return
            finally:
                self._task_event.emit(task, "done", None)
            self._task_event.emit(task, "classified", (rows, failures))

        self._submit("classifying", "Classifying", job)

    def cancel_classifying(self) -> None:
        """Cancel every classification not yet finished; their results are dropped."""
        for task in self._classifying:
            task.supersede()
        self._classifying.clear()

    # --- explanations -----------------------------------------------------------------------

    def explain(self, paths: list[str], requester: str) -> None:
        """Find where the current model looked (Grad-CAM) on image files, for ``requester``
        (a name: "classify", "results"); a new request of the same requester supersedes the
        one before, whose result is dropped. Emits ``explained(requester, rows, failures)``
        with :func:`explanation_row` dicts, or ``explanation_failed(requester, message)``."""
        task = self._new_task(f"explaining:{requester}")

        def job() -> None:
            try:
                task.token.raise_if_cancelled()  # superseded while it waited in the queue
                explanations, failures = self._session.explain(paths, task.token)
            except Cancelled:
                return
            except CnnStudioError as exc:
                self._task_event.emit(task, "explain-failed", (requester, readable(str(exc))))
                return
            rows = [explanation_row(e) for e in explanations]
            self._task_event.emit(task, "explained", (requester, rows, failures))

        self._submit("explaining", "Finding where the model looked", job)

    def cancel_explaining(self, requester: str) -> None:
        """Cancel ``requester``'s explanation request, if any (GUI thread); its result is
        dropped."""
        task = self._tasks.pop(f"explaining:{requester}", None)
        if task is not None:
            task.supersede()


def explanation_row(explanation: Explanation) -> dict[str, object]:
    """One explanation as plain data for the GUI: ``path``, ``label`` and ``probability`` (the
    top answer the map explains), ``heatmap`` (float32 rows x columns, 0..1), ``peak`` (row,
    column) and ``image`` (uint8, the image as the model saw it)."""
    return {
        "path": explanation.path,
        "label": explanation.label,
        "probability": float(explanation.probability),
        "heatmap": explanation.heatmap,
        "peak": tuple(explanation.peak),
        "image": explanation.image,
    }
