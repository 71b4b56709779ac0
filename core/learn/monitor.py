"""Watching a fit: what a trainer reports, and the Keras callback that reports it and checks
stop, cancel and divergence.

:class:`Bridge` turns Keras's callbacks into :class:`TrainingObserver` calls on the training
thread, with plain Python numbers. Stopping: :meth:`~core.progress.TrainingControl.stop` and
:meth:`~core.progress.TrainingControl.cancel` are checked after every training *and* validation
batch (:class:`StopRun` leaves ``fit`` at once), so control returns within a batch's time.
Divergence (:class:`Diverged`) is judged on the last :data:`DIVERGENCE_WINDOW` batch losses, on
any one batch loss or validation loss :data:`BLOWN_UP_FACTOR` times chance, and on a loss that
is not finite. :class:`core.learn.training.Trainer` turns both into what its caller sees.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

import numpy as np

from core.nets.runtime import keras
from core.progress import TrainingControl


class TrainingObserver(Protocol):
    """What a trainer reports. Every method runs on the training thread.

    An observer may also have ``curve_progress(fraction, message)``: after a pretrained head's
    run, the trainer reports its learning curve's fits there (:mod:`core.learn.learning_curve`).
    """

    def run_started(self, total_epochs: int, batches_per_epoch: int) -> None: ...

    def batch_ended(self, epoch: int, batch: int, loss: float) -> None: ...

    def epoch_ended(self, epoch: int, metrics: dict[str, float], seconds: float) -> None: ...


class NullObserver:
    """An observer that ignores everything."""

    def run_started(self, total_epochs: int, batches_per_epoch: int) -> None:
        pass

    def batch_ended(self, epoch: int, batch: int, loss: float) -> None:
        pass

    def epoch_ended(self, epoch: int, metrics: dict[str, float], seconds: float) -> None:
        pass


#: Batches whose mean loss the divergence check judges.
DIVERGENCE_WINDOW = 5
#: A single batch's loss, or an epoch's validation loss, this many times chance (ln of the
#: number of classes) is divergence at once, window or not. Healthy runs on the test sets, at
#: learning rates up to 0.03 with Adam and 0.01 with RMSprop, peaked at 7 times chance (a
#: spike in the first batches); a blown-up optimiser gives thousands to billions. Without it a
#: run shorter than the window (one batch an epoch, three epochs) was never judged, and its
#: last update, measured only by the validation loss, never at all.
BLOWN_UP_FACTOR = 25.0


class StopRun(Exception):
    """Raised inside Keras callbacks to leave ``fit`` at once."""


class Diverged(Exception):
    """Raised inside Keras callbacks when the loss diverges; its message says where."""


class Bridge(keras.callbacks.Callback):
    """Turns Keras callbacks into observer calls and checks stop, cancel and divergence."""

    def __init__(
        self,
        observer: TrainingObserver,
        control: TrainingControl,
        total: int,
        batches: int,
        num_classes: int,
    ) -> None:
        super().__init__()
        # Guessing at random costs ln(n); a running mean four times that (at least 3) means the
        # model is confidently wrong almost everywhere: the optimiser has blown it up. One value
        # far beyond anything a healthy run shows says the same without waiting for the window.
        chance = math.log(max(num_classes, 2))
        self.explode_at = max(4.0 * chance, 3.0)
        self.blown_up_at = BLOWN_UP_FACTOR * chance
        self.observer = observer
        self.control = control
        self.total = total
        self.batches = batches
        self.epoch = 0
        self.epoch_start = 0.0
        self.previous_mean = 0.0
        self.previous_batch = -1
        self.recent: list[float] = []  # the last DIVERGENCE_WINDOW batch losses, across epochs
        self.history: list[dict[str, float]] = []

    def _check(self) -> None:
        if self.control.cancel_requested or self.control.stop_requested:
            raise StopRun()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.observer.run_started(self.total, self.batches)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch
        self.epoch_start = time.perf_counter()
        self.previous_mean = 0.0
        self.previous_batch = -1

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        mean = float((logs or {}).get("loss", math.nan))
        # Keras reports the running mean over the epoch; recover the loss of the batches since
        # the previous call (one batch, or several when a call runs several steps).
        done = self.previous_mean * (self.previous_batch + 1)
        loss = (mean * (batch + 1) - done) / max(batch - self.previous_batch, 1)
        self.previous_mean, self.previous_batch = mean, batch
        # Judged on the last few batches whatever the epoch, so a tiny dataset (one or two
        # batches an epoch) is checked like a large one; a blown-up loss at once, so a run
        # shorter than the window is checked too.
        self.recent = [*self.recent, loss][-DIVERGENCE_WINDOW:]
        window_mean = sum(self.recent) / len(self.recent)
        if (
            not math.isfinite(mean)
            or loss > self.blown_up_at
            or (len(self.recent) == DIVERGENCE_WINDOW and window_mean > self.explode_at)
        ):
            raise Diverged(f"epoch {self.epoch + 1}, batch {batch + 1}")
        self.observer.batch_ended(self.epoch, batch, loss if math.isfinite(loss) else mean)
        self._check()

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._check()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        metrics = {k: float(v) for k, v in (logs or {}).items() if np.isscalar(v)}
        metrics.pop("learning_rate", None)
        # The validation loss is the only measure of the epoch's last update (a batch's loss
        # is taken before its update), so a run's final weights are judged too.
        validation = metrics.get("val_loss")
        if validation is not None and not validation <= self.blown_up_at:  # NaN fails too
            raise Diverged(f"epoch {epoch + 1}, validation")
        self.history.append(metrics)
        self.observer.epoch_ended(epoch, metrics, time.perf_counter() - self.epoch_start)
