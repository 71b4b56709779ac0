"""The one door from the GUI to the engine: all engine work on one worker thread, Qt signals out.

Every TensorFlow call (the import itself, building, training, predicting, saving) runs on the
single worker thread owned by :class:`Engine`, because Keras is not thread-safe and the import
takes seconds. Methods of :class:`Engine` are called on the GUI thread and return at once; they
queue a job for the worker. Results come back as the signals below, which Qt delivers on the GUI
thread (they are emitted from the worker thread and queued to this object's thread). Signals
carry plain data or read-only engine objects; no widget is ever touched off the GUI thread.

The worker is a Python ``threading.Thread`` with a job queue, not a ``QThread``: TensorFlow's
pybind11 code caches Python thread states, and on a QThread (whose Python thread state PySide
creates and drops around each call) the first NumPy-to-tensor conversion crashed the process
with a stale thread state in about half the runs. A Python thread keeps one thread state for
its whole life.

Stop, cancel and cancel-loading requests do not queue: they set thread-safe flags that the
running job polls, so they take effect within a batch or a chunk of files.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from core.config import TrainConfig
from core.errors import Cancelled, CnnStudioError
from core.images import InputSpec
from core.progress import CancelToken, TrainingControl

log = logging.getLogger("cnnstudio.engine")

#: Size in pixels of the previews sent with classification results.
THUMBNAIL_SIZE = 72
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
    """Qt-facing adapter around :mod:`core`; see the module docstring for the threading rules."""

    ready = Signal(dict)  # library versions
    busy_changed = Signal(bool)
    error = Signal(str, str)  # (what failed, message): unexpected failures
    dataset_progress = Signal(float, str)
    dataset_loaded = Signal(object)  # core.dataset.LoadedDataset (treat as read-only)
    dataset_failed = Signal(str)
    dataset_cancelled = Signal()
    model_described = Signal(list, int)  # rows of core.models.describe, total parameters
    training_started = Signal(int, int)  # total epochs, batches per epoch
    batch_ended = Signal(int, int, float)  # epoch, batch, loss (mean since the last signal)
    epoch_ended = Signal(int, dict, float)  # epoch, metrics, seconds
    training_finished = Signal(dict)  # {"outcome", "history", "evaluation", "class_names"}
    training_failed = Signal(str)
    training_cancelled = Signal()
    model_opened = Signal(dict)  # {"path", "class_names", "size", "color", "preset", ...}
    model_saved = Signal(str)
    model_exported = Signal(str)
    classified = Signal(list, list)  # [Prediction.to_dict() + "thumbnail"], [(path, reason)]
    operation_failed = Signal(str, str)  # (what, message) for user-caused failures
    _job_finished = Signal()  # worker -> GUI thread, so the job counter is only touched there

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = _Worker()
        self._load_token: CancelToken | None = None
        self._control: TrainingControl | None = None
        self._pending = 0
        # Engine state, touched on the worker thread only.
        self._dataset: Any = None
        self._classifier: Any = None
        self._evaluation: dict[str, Any] = {}  # scores of the current model, saved with it
        self._result: Any = None
        self._opened: Any = None  # the ModelBundle last opened from a file
        self._job_finished.connect(self._on_job_finished)

    # --- plumbing ---------------------------------------------------------------------------

    def _submit(self, name: str, job: Callable[[], None]) -> None:
        """Queue ``job`` for the worker thread, reporting unexpected exceptions as ``error``."""
        self._pending += 1
        self.busy_changed.emit(True)

        def guarded() -> None:
            try:
                job()
            except CnnStudioError as exc:
                self.operation_failed.emit(name, str(exc))
            except Exception as exc:  # an engine bug: log it, tell the user, keep running
                log.error("%s failed:\n%s", name, traceback.format_exc())
                self.error.emit(name, f"{type(exc).__name__}: {exc}")
            finally:
                self._job_finished.emit()

        self._worker.submit(guarded)

    @Slot()
    def _on_job_finished(self) -> None:
        """GUI thread: one queued job is done."""
        self._pending -= 1
        if self._pending == 0:
            self.busy_changed.emit(False)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop running work, end the worker thread and wait for it (GUI thread, on close)."""
        self.cancel_loading()
        self.cancel_training()
        return self._worker.stop(timeout_ms / 1000)

    # --- start-up ---------------------------------------------------------------------------

    def start(self) -> None:
        """Import TensorFlow on the worker thread; ``ready`` follows when it is done."""

        def job() -> None:
            from core.runtime import configure_threads, versions

            configure_threads()
            # TensorFlow brings ~300k long-lived Python objects; a full garbage collection then
            # takes 150-250 ms with the interpreter lock held, freezing the window whenever it
            # happens. Frozen objects are never scanned again, so collections stay short.
            gc.freeze()
            self.ready.emit(versions())

        self._submit("Starting the engine", job)

    # --- datasets ---------------------------------------------------------------------------

    def load_dataset(self, folder: Path | str, spec: InputSpec) -> None:
        """Scan and decode ``folder``; emits progress then loaded, failed or cancelled."""
        token = CancelToken()
        self._load_token = token

        def job() -> None:
            from core.cache import DatasetCache
            from core.dataset import load_dataset
            from core.scan import scan_folder

            def progress(fraction: float, message: str) -> None:
                self.dataset_progress.emit(fraction, message)

            try:
                index = scan_folder(folder, progress=progress, cancel=token)
                dataset = load_dataset(
                    index, spec, progress=progress, cancel=token, cache=DatasetCache()
                )
            except Cancelled:
                self.dataset_cancelled.emit()
                return
            except CnnStudioError as exc:
                self.dataset_failed.emit(str(exc))
                return
            self._dataset = dataset
            self.dataset_loaded.emit(dataset)

        self._submit("Loading the dataset", job)

    def cancel_loading(self) -> None:
        if self._load_token is not None:
            self._load_token.cancel()

    # --- models and training ----------------------------------------------------------------

    def describe_model(self, preset: str, spec: InputSpec, classes: int, augment: bool) -> None:
        def job() -> None:
            from core.models import ModelSpec, build_model, describe

            model = build_model(ModelSpec(preset, spec, max(classes, 2), augment))
            self.model_described.emit(describe(model), int(model.count_params()))

        self._submit("Describing the model", job)

    def train(self, config: TrainConfig, continue_current: bool = False) -> None:
        """Train on the loaded dataset (or continue the current model for more epochs)."""
        control = TrainingControl()
        self._control = control

        def job() -> None:
            from core.training import Trainer

            if self._dataset is None:
                raise CnnStudioError("load a dataset first")
            trainer = Trainer(self._dataset, config, _SignalObserver(self), control)
            try:
                if continue_current and self._result is not None:
                    r = self._result
                    result = trainer.run(r.model, r.spec, r.history)
                elif continue_current and self._opened is not None:
                    result = self._continue_opened(trainer)
                else:
                    result = trainer.run()
            except Cancelled:
                self.training_cancelled.emit()
                return
            except CnnStudioError as exc:
                self.training_failed.emit(str(exc))
                return
            self._adopt_result(result)

        self._submit("Training", job)

    def _continue_opened(self, trainer: Any) -> Any:
        """Worker thread: continue training the model opened from a file (optimizer kept)."""
        from core.classify import model_from_bundle, spec_of

        bundle = self._opened
        if bundle.class_names != self._dataset.class_names or bundle.input != self._dataset.spec:
            raise CnnStudioError(
                "the opened model's classes or input size differ from the loaded dataset's; "
                "load the dataset it was trained on (same image size and colour)"
            )
        model = model_from_bundle(bundle, with_optimizer=True)
        return trainer.run(model, spec_of(bundle), bundle.training.get("history", []))

    def _adopt_result(self, result: Any) -> None:
        """Worker thread: make a finished run the current model and report it."""
        from core.classify import Classifier
        from core.evaluate import evaluate_result

        evaluation = evaluate_result(result, self._dataset)
        self._result = result
        self._classifier = Classifier(result.model, self._dataset.class_names, self._dataset.spec)
        self._evaluation = evaluation
        self.training_finished.emit(
            {
                "outcome": result.outcome,
                "history": list(result.history),
                "evaluation": evaluation,
                "class_names": list(self._dataset.class_names),
            }
        )

    def stop_training(self) -> None:
        """Finish after the current batch and keep the model (any thread)."""
        if self._control is not None:
            self._control.stop()

    def cancel_training(self) -> None:
        """Finish after the current batch and discard the model (any thread)."""
        if self._control is not None:
            self._control.cancel()

    # --- model files ------------------------------------------------------------------------

    def save_model(self, path: Path | str) -> None:
        def job() -> None:
            from core.bundle import save_bundle
            from core.classify import bundle_from_result

            if self._result is None:
                raise CnnStudioError("there is no trained model to save")
            bundle = bundle_from_result(self._result, self._dataset.class_names, self._evaluation)
            bundle.files["root"] = str(Path(self._dataset.root).resolve())
            self.model_saved.emit(str(save_bundle(bundle, path)))

        self._submit("Saving the model", job)

    def open_model(self, path: Path | str) -> None:
        def job() -> None:
            from core.bundle import read_bundle
            from core.classify import Classifier, model_from_bundle

            bundle = read_bundle(path)
            model = model_from_bundle(bundle)
            self._classifier = Classifier(model, bundle.class_names, bundle.input)
            self._result = None
            self._opened = bundle
            self._evaluation = bundle.metrics
            self.model_opened.emit(
                {
                    "path": str(path),
                    "class_names": bundle.class_names,
                    "size": bundle.input.size,
                    "color": bundle.input.color,
                    "preset": bundle.preset,
                    "metrics": bundle.metrics,
                    "training": bundle.training,
                }
            )

        self._submit("Opening the model", job)

    def export_model(self, fmt: str, path: Path | str) -> None:
        def job() -> None:
            import numpy as np

            from core.export import export_model

            if self._classifier is None:
                raise CnnStudioError("there is no model to export")
            spec = self._classifier.spec
            if self._dataset is not None and len(self._dataset) and self._dataset.spec == spec:
                checks = self._dataset.images[-32:]
            else:
                rng = np.random.default_rng(0)
                checks = rng.integers(0, 256, (16, *spec.shape), dtype=np.uint8)
            self.model_exported.emit(str(export_model(self._classifier, fmt, path, checks)))

        self._submit("Exporting the model", job)

    # --- classification ---------------------------------------------------------------------

    def classify(self, paths: list[str], top_k: int = 3) -> None:
        """Classify files and folders (expanded here, off the GUI thread) with the current model.

        Runs after any training in progress, since the engine has one thread.
        """

        def job() -> None:
            from core.images import thumbnail
            from core.scan import image_files

            if self._classifier is None:
                raise CnnStudioError("train a model or open a .cnnmodel file first")
            files = [str(p) for p in image_files(paths)]
            predictions, failures = self._classifier.classify_paths(files, top_k)
            # Previews are decoded here too: on the GUI thread a phone photo took ~12 ms each.
            rows = [
                {**p.to_dict(), "thumbnail": thumbnail(p.path, THUMBNAIL_SIZE)} for p in predictions
            ]
            self.classified.emit(rows, failures)

        self._submit("Classifying", job)
