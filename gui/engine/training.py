"""The Engine's training requests: describe a preset's layers, train, continue, stop, cancel.

A mixin of :class:`gui.engine_adapter.Engine` (its ``_session``, ``_submit``, ``_new_task``,
``_control`` and signals). ``describe_model``, ``train`` and ``continue_training`` are called
on the GUI thread and queue a job for the worker thread; the run reports through
:class:`SignalObserver` on the worker thread, whose signals Qt delivers on the GUI thread.
``stop_training`` and ``cancel_training`` only set flags, so any thread may call them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.errors import Cancelled, CnnStudioError
from core.learn.config import TrainConfig
from core.names import readable
from core.progress import TrainingControl

if TYPE_CHECKING:
    from gui.engine_adapter import Engine

#: At most this many batch_ended signals a second reach the GUI.
BATCH_SIGNALS_PER_SECOND = 10


class SignalObserver:
    """Training observer that forwards to the adapter's signals, throttling batch updates.

    Runs on the worker thread (the training thread). At most
    :data:`BATCH_SIGNALS_PER_SECOND` ``batch_ended`` signals a second go out, each carrying
    the mean loss of every batch since the previous one (weighted by the batches each loss
    covers) at the index of the latest batch, so the receiver can tell how many batches it
    sums up. What is still pending at an epoch's end (or the run's, :meth:`flush`) goes out
    before the epoch's signal: no batch is dropped and the last one is always drawn.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.interval = 1.0 / BATCH_SIGNALS_PER_SECOND
        self.last = -math.inf
        self._epoch = -1
        self._last_batch = -1  # the latest batch reported in this epoch
        self._loss_sum = 0.0  # of the batches not yet sent, each loss times its batches
        self._pending = 0  # batches not yet sent

    def run_started(self, total_epochs: int, batches_per_epoch: int) -> None:
        self.engine.training_started.emit(total_epochs, batches_per_epoch)

    def batch_ended(self, epoch: int, batch: int, loss: float) -> None:
        if epoch != self._epoch:
            self.flush()
            self._epoch, self._last_batch = epoch, -1
        # One call may run several steps: its loss is then the mean of that many batches.
        covered = max(batch - self._last_batch, 1)
        self._last_batch = batch
        self._loss_sum += loss * covered
        self._pending += covered
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self.flush()

    def flush(self) -> None:
        """Send the mean loss of the batches not yet sent, if any (worker thread)."""
        if self._pending:
            mean = self._loss_sum / self._pending
            self._loss_sum, self._pending = 0.0, 0
            self.engine.batch_ended.emit(self._epoch, self._last_batch, mean)

    def epoch_ended(self, epoch: int, metrics: dict[str, float], seconds: float) -> None:
        self.flush()  # the epoch's last batches, however soon after the previous signal
        self._epoch, self._last_batch = -1, -1
        self.engine.epoch_ended.emit(epoch, dict(metrics), seconds)

    def curve_progress(self, fraction: float, message: str) -> None:
        """The learning curve's fits after a pretrained head's run (a few, seconds each)."""
        self.flush()
        self.engine.curve_progress.emit(fraction, message)


class TrainingRequests:
    """Training and describing models (a mixin of :class:`gui.engine_adapter.Engine`)."""

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
            observer = SignalObserver(self)
            try:
                summary = run(observer, control)
            except Cancelled:
                self.training_cancelled.emit()
                return
            except CnnStudioError as exc:
                self.training_failed.emit(readable(str(exc)))
                return
            except Exception as exc:  # an engine bug (or a full disk): end the run visibly
                self.training_failed.emit(readable(f"{type(exc).__name__}: {exc}"))
                raise
            observer.flush()  # a stopped run's last batches are drawn too
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
