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

The Engine is one object with one API, assembled from :mod:`gui.engine`: the worker thread and
the task bookkeeping (:mod:`gui.engine.tasks`) and the requests grouped by use case (dataset,
training, model files, using the model), mixed in here. This module declares every signal,
creates the session, and is the only GUI module that imports :mod:`core.session` (and, for
start-up, the runtime).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, Signal

from core.names import readable
from core.progress import TrainingControl
from core.session import Session
from core.state import SessionState
from gui.engine.data import DatasetRequests
from gui.engine.live import LiveRequests
from gui.engine.model_files import ModelFileRequests
from gui.engine.tasks import Task, TaskBook, Worker
from gui.engine.training import TrainingRequests
from gui.engine.use import THUMBNAIL_SIZE, UseRequests, explanation_row

__all__ = ["THUMBNAIL_SIZE", "Engine", "Task", "explanation_row"]


class Engine(
    QObject,
    TaskBook,
    DatasetRequests,
    TrainingRequests,
    ModelFileRequests,
    UseRequests,
    LiveRequests,
):
    """Qt-facing adapter around :class:`core.session.Session`; see the module docstring.

    Its requests come from the mixins of :mod:`gui.engine`, one per use case; every signal is
    declared here, so this class lists the whole interface the widgets see.
    """

    ready = Signal(dict)  # library versions and thread pools
    state_changed = Signal(object)  # core.state.SessionState
    error = Signal(str, str)  # (what failed, message): unexpected failures (engine bugs)
    operation_failed = Signal(str, str)  # (what, message) for user-caused failures
    dataset_progress = Signal(float, str)
    # A load's folder is scanned, its images not yet decoded: core.state.ScanPreview (classes,
    # files per class, what the counts alone warn about). Before dataset_loaded/failed/cancelled.
    dataset_scanned = Signal(object)
    dataset_loaded = Signal(object)  # core.state.DatasetView
    dataset_failed = Signal(str)
    dataset_cancelled = Signal()
    model_described = Signal(list, int)  # rows of core.nets.models.describe, total parameters
    training_started = Signal(int, int)  # total epochs, batches per epoch
    batch_ended = Signal(int, int, float)  # epoch, batch, loss (mean since the last signal)
    epoch_ended = Signal(int, dict, float)  # epoch, metrics, seconds
    # After a pretrained head's run: its learning curve's fits (core.learn.learning_curve).
    curve_progress = Signal(float, str)  # fraction done, what is being fitted
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
    # The same images' answers, just before losses_computed: dataset generation, paths, one dict
    # per path (core.use.scoring.image_surprises: the arguments of core.plain.surprise_in_words)
    surprises_computed = Signal(int, object, object)
    # Python objects, not Qt lists: Qt would drop the escaped bytes of names that are not UTF-8.
    # One chunk of a classification's results, as it comes (a folder sends many).
    classified = Signal(object, object)  # [Prediction.to_dict() + "thumbnail"], [(path, reason)]
    classify_progress = Signal(float, str)  # share of the request's files done, "N of M images"
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
    # A camera frame's answer: ((label, probability), … best first), seconds it took.
    frame_classified = Signal(object, float)
    frame_failed = Signal(str)  # why a frame could not be classified (no model…)

    # Worker -> GUI thread: results of superseding tasks travel with their task, so the GUI
    # thread can drop those of a task that was replaced in the meantime.
    _task_event = Signal(object, str, object)  # task, event name, payload
    _session_changed = Signal(object)  # SessionState from the worker
    _job_finished = Signal(str)  # kind
    _frame_done = Signal(object, object)  # ranked pairs or None, seconds or the reason

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = Worker()
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
        # Camera frames (gui.engine.live): one being classified, at most one waiting.
        self._frame_busy = False
        self._frame_waiting: tuple[object, int] | None = None
        self.frames_classified = 0
        self.frames_dropped = 0
        self._frame_done.connect(self._on_frame_done)

    def _deliver(self, event: str, payload: object) -> None:
        """GUI thread: emit the public signal for a task's event (one still current: see
        :meth:`gui.engine.tasks.TaskBook._on_task_event`)."""
        if event == "progress":
            self.dataset_progress.emit(*payload)  # type: ignore[misc]
        elif event == "scanned":
            self.dataset_scanned.emit(payload)
        elif event == "loaded":
            self.dataset_loaded.emit(payload)
        elif event == "load-failed":
            self.dataset_failed.emit(readable(str(payload)))
        elif event == "load-cancelled":
            self.dataset_cancelled.emit()
        elif event == "classified":
            self.classified.emit(*payload)  # type: ignore[misc]
        elif event == "classify-progress":
            self.classify_progress.emit(*payload)  # type: ignore[misc]
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

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop running work, end the worker thread and wait for it (GUI thread, on close)."""
        for task in self._tasks.values():
            task.supersede()
        self.cancel_classifying()
        self.cancel_training()
        return self._worker.stop(timeout_ms / 1000)

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
