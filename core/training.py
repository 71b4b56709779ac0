"""Training a model on a loaded dataset, with progress, stop/cancel and divergence checks.

The :class:`Trainer` runs on whichever thread calls :meth:`Trainer.run` (the GUI's worker
thread, or the main thread of the CLI); every observer method is called on that same thread,
with plain Python numbers and strings, so a front end can forward them as it likes.

Stopping: :meth:`TrainingControl.stop` ends the run after the current batch and keeps the model
so far; :meth:`TrainingControl.cancel` ends it and discards the model. Both are checked after
every training *and* validation batch, so control returns within a batch's time.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np

from core.dataset import LoadedDataset, require_trainable
from core.errors import Cancelled, TrainingError
from core.models import DEFAULT_PRESET, ModelSpec, build_model
from core.runtime import configure_threads, keras, tf

OPTIMIZERS = ("adam", "sgd", "rmsprop")


@dataclass
class TrainConfig:
    """Hyperparameters of one training run (stored in the model file)."""

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    val_split: float = 0.2
    seed: int = 42
    early_stopping: bool = True
    patience: int = 3
    augment: bool = False
    preset: str = DEFAULT_PRESET

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError("epochs must be at least 1")
        if self.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        if not 0 < self.learning_rate < 10:
            raise ValueError("learning rate must be between 0 and 10")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        if not 0 <= self.val_split < 1:
            raise ValueError("validation split must be between 0 and 1")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class TrainingObserver(Protocol):
    """What a trainer reports. Every method runs on the training thread."""

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


@dataclass
class TrainingResult:
    """A finished or stopped run: the model and everything needed to save it."""

    model: keras.Model
    spec: ModelSpec
    config: TrainConfig
    history: list[dict[str, float]]
    outcome: str  # "finished", "stopped" (by the user) or "early-stopped"
    train_paths: list[str] = field(default_factory=list)
    val_paths: list[str] = field(default_factory=list)
    train_hashes: list[str] = field(default_factory=list)
    val_hashes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def epochs_done(self) -> int:
        return len(self.history)


class _StopRun(Exception):
    """Raised inside Keras callbacks to leave ``fit`` at once."""


class _Diverged(Exception):
    pass


class _Bridge(keras.callbacks.Callback):
    """Turns Keras callbacks into observer calls and checks stop, cancel and divergence."""

    def __init__(
        self, observer: TrainingObserver, control: TrainingControl, total: int, batches: int
    ) -> None:
        super().__init__()
        self.observer = observer
        self.control = control
        self.total = total
        self.batches = batches
        self.epoch = 0
        self.epoch_start = 0.0
        self.previous_mean = 0.0
        self.first_loss: float | None = None
        self.history: list[dict[str, float]] = []

    def _check(self) -> None:
        if self.control.cancel_requested or self.control.stop_requested:
            raise _StopRun()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.observer.run_started(self.total, self.batches)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch
        self.epoch_start = time.perf_counter()
        self.previous_mean = 0.0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        mean = float((logs or {}).get("loss", math.nan))
        # Keras reports the running mean over the epoch; recover this batch's own loss.
        loss = mean * (batch + 1) - self.previous_mean * batch
        self.previous_mean = mean
        if self.first_loss is None:
            self.first_loss = mean
        if not math.isfinite(mean) or mean > max(50.0, 20.0 * (self.first_loss or 1.0)):
            raise _Diverged(f"epoch {self.epoch + 1}, batch {batch + 1}")
        self.observer.batch_ended(self.epoch, batch, loss if math.isfinite(loss) else mean)
        self._check()

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._check()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        metrics = {k: float(v) for k, v in (logs or {}).items() if np.isscalar(v)}
        metrics.pop("learning_rate", None)
        self.history.append(metrics)
        self.observer.epoch_ended(epoch, metrics, time.perf_counter() - self.epoch_start)


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(config.learning_rate, momentum=0.9)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(config.learning_rate)
    return keras.optimizers.Adam(config.learning_rate)


def compile_model(model: keras.Model, config: TrainConfig) -> None:
    model.compile(
        optimizer=make_optimizer(config),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def make_dataset(
    images: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int
) -> tf.data.Dataset:
    """A tf.data pipeline over uint8 images: shuffle indices each epoch, gather, cast, prefetch.

    The pixels stay uint8 in memory (a quarter of float32's size); the cast to float happens in
    the graph, batch by batch. Scaling to 0..1 happens inside the model.
    """
    x = tf.constant(images)
    y = tf.constant(labels.astype(np.int32))
    indices = tf.data.Dataset.range(len(labels))
    if shuffle:
        indices = indices.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size)

    def gather(idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(tf.gather(x, idx), tf.float32), tf.gather(y, idx)

    return batches.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


class Trainer:
    """Trains a new model on a dataset, or continues training an existing one."""

    def __init__(
        self,
        dataset: LoadedDataset,
        config: TrainConfig,
        observer: TrainingObserver | None = None,
        control: TrainingControl | None = None,
    ) -> None:
        self.dataset = dataset
        self.config = config
        self.observer = observer or NullObserver()
        self.control = control or TrainingControl()

    def run(
        self,
        model: keras.Model | None = None,
        spec: ModelSpec | None = None,
        history: list[dict[str, float]] | None = None,
    ) -> TrainingResult:
        """Train and return the result; pass ``model``/``spec``/``history`` to continue.

        Raises :class:`Cancelled` when cancelled and :class:`TrainingError` when the data
        cannot be trained on or the loss diverges (the diverged model is discarded).
        """
        require_trainable(self.dataset)
        configure_threads()
        config = self.config
        data = self.dataset
        keras.utils.set_random_seed(config.seed)
        train_idx, val_idx, warnings = data.split(config.val_split, config.seed)
        if spec is None:
            spec = ModelSpec(config.preset, data.spec, len(data.class_names), config.augment)
        if spec.num_classes != len(data.class_names) or spec.input != data.spec:
            raise TrainingError("the model's classes or input size do not match this dataset")
        if model is None:
            model = build_model(spec)
            compile_model(model, config)
        elif model.optimizer is None:
            compile_model(model, config)
        else:
            model.optimizer.learning_rate.assign(config.learning_rate)
        earlier = list(history or [])

        batch_size = min(config.batch_size, len(train_idx))
        train_ds = make_dataset(
            data.images[train_idx], data.labels[train_idx], batch_size, True, config.seed
        )
        val_ds = None
        if len(val_idx):
            val_ds = make_dataset(
                data.images[val_idx], data.labels[val_idx], max(batch_size, 256), False, 0
            )
        batches = math.ceil(len(train_idx) / batch_size)
        total = len(earlier) + config.epochs
        bridge = _Bridge(self.observer, self.control, total, batches)
        callbacks: list[keras.callbacks.Callback] = [bridge]
        early = None
        if config.early_stopping:
            early = keras.callbacks.EarlyStopping(
                monitor="val_loss" if val_ds is not None else "loss",
                patience=config.patience,
                restore_best_weights=True,
            )
            callbacks.append(early)
        outcome = "finished"
        try:
            model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=total,
                initial_epoch=len(earlier),
                callbacks=callbacks,
                verbose=0,
            )
        except _StopRun:
            if self.control.cancel_requested:
                raise Cancelled("training cancelled") from None
            outcome = "stopped"
        except _Diverged as exc:
            raise TrainingError(
                f"training diverged (the loss became too large or NaN at {exc}); "
                "try a lower learning rate"
            ) from None
        except tf.errors.ResourceExhaustedError as exc:
            raise TrainingError(
                "out of memory while training; try a smaller batch size or image size"
            ) from exc
        if early is not None and early.stopped_epoch > 0:
            outcome = "early-stopped"
        if not all(np.isfinite(w).all() for w in model.get_weights()):
            raise TrainingError("training diverged (weights are not finite); nothing was kept")
        return TrainingResult(
            model=model,
            spec=spec,
            config=config,
            history=earlier + bridge.history,
            outcome=outcome,
            train_paths=[data.paths[i] for i in train_idx],
            val_paths=[data.paths[i] for i in val_idx],
            train_hashes=[data.hashes[i] for i in train_idx],
            val_hashes=[data.hashes[i] for i in val_idx],
            warnings=warnings,
        )
