"""Training a model on a loaded dataset, with progress, stop/cancel and divergence checks.

The :class:`Trainer` runs on whichever thread calls :meth:`Trainer.run` (the GUI's worker
thread, or the main thread of the CLI); every observer method is called on that same thread,
with plain Python numbers and strings, so a front end can forward them as it likes.

Stopping: :meth:`TrainingControl.stop` ends the run after the current batch and keeps the model
so far; :meth:`TrainingControl.cancel` ends it and discards the model. Both are checked after
every training *and* validation batch, so control returns within a batch's time.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from core.data.dataset import LoadedDataset, require_trainable
from core.errors import Cancelled, TrainingError
from core.learn.batchnorm import Recalibration, batchnorm_layers, recalibrate
from core.learn.config import FINE_TUNE_RATE, LABEL_SMOOTHING, TrainConfig
from core.learn.features import FeatureCache
from core.nets.devices import gpu_count, placement
from core.nets.models import (
    BACKBONE_ID,
    ModelSpec,
    build_model,
    extract_features,
    feature_extractor,
    head_model,
    rebuilt,
)
from core.nets.precision import KERAS_POLICY, native_bfloat16, resolve
from core.nets.presets import DEFAULT_PRESET
from core.nets.runtime import keras, tf
from core.progress import TrainingControl


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


@dataclass
class TrainingResult:
    """A finished or stopped run: the model and everything needed to save it.

    ``config`` is the configuration of this run only; ``history`` spans every run of the model.
    """

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
    optimizer_state: OptimizerState | None = None
    #: The devices the run trained on (several: data-parallel, one replica each).
    devices: tuple[str, ...] = ()

    @property
    def epochs_done(self) -> int:
        return len(self.history)


#: Batches whose mean loss the divergence check judges.
DIVERGENCE_WINDOW = 5
#: A single batch's loss, or an epoch's validation loss, this many times chance (ln of the
#: number of classes) is divergence at once, window or not. Healthy runs on the test sets, at
#: learning rates up to 0.03 with Adam and 0.01 with RMSprop, peaked at 7 times chance (a
#: spike in the first batches); a blown-up optimiser gives thousands to billions. Without it a
#: run shorter than the window (one batch an epoch, three epochs) was never judged, and its
#: last update, measured only by the validation loss, never at all.
BLOWN_UP_FACTOR = 25.0
#: Early stopping waits at least this many optimizer steps without improvement (so with one
#: batch an epoch it does not give up after three steps), and never during the warm-up.
MIN_PATIENCE_STEPS = 10


def early_stopping_epochs(patience: int, batches: int, warmup_steps: int) -> tuple[int, int]:
    """(patience, first epoch judged) for early stopping, both in epochs of ``batches`` steps:
    at least :data:`MIN_PATIENCE_STEPS` steps of patience, and no judging while the learning
    rate is still warming up (a rising validation loss then says nothing)."""
    batches = max(batches, 1)
    return max(patience, math.ceil(MIN_PATIENCE_STEPS / batches)), math.ceil(warmup_steps / batches)


#: Layers at the top of the pretrained backbone that fine-tuning trains (its last two blocks
#: and the final convolution); the rest stays as ImageNet taught it.
FINE_TUNE_LAYERS = 20


class _StopRun(Exception):
    """Raised inside Keras callbacks to leave ``fit`` at once."""


class _Diverged(Exception):
    pass


class _Bridge(keras.callbacks.Callback):
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
            raise _StopRun()

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
            raise _Diverged(f"epoch {self.epoch + 1}, batch {batch + 1}")
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
            raise _Diverged(f"epoch {epoch + 1}, validation")
        self.history.append(metrics)
        self.observer.epoch_ended(epoch, metrics, time.perf_counter() - self.epoch_start)


def warmup_steps(total_steps: int) -> int:
    """Steps of linear warm-up in a run of ``total_steps``: the first 10 % (at least one)."""
    return max(1, int(total_steps) // 10)


def make_schedule(
    peak: float, total_steps: int, start_step: int = 0
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Linear warm-up over the first 10 % of steps to ``peak``, then cosine decay to zero,
    counted from optimizer step ``start_step`` (a continued run's step counter).

    Keras's own ``CosineDecay``; exports are uncompiled copies, so no schedule ever travels.
    """
    total = max(int(total_steps), 1)
    warmup = warmup_steps(total)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / (warmup + 1),
        decay_steps=max(total - warmup, 1),
        alpha=0.0,
        warmup_target=peak,
        warmup_steps=warmup,
    )
    return _StartingAt(schedule, start_step) if start_step else schedule


class _StartingAt(keras.optimizers.schedules.LearningRateSchedule):
    """``schedule`` counted from optimizer step ``start`` on (for continued runs).

    A continued run keeps the optimizer's step counter, which Adam's bias correction needs to
    match its carried-over moments, yet gets a warm-up and decay of its own. Lives only in the
    training session: model files store arrays and exports are uncompiled.
    """

    def __init__(
        self, schedule: keras.optimizers.schedules.LearningRateSchedule, start: int
    ) -> None:
        self.schedule = schedule
        self.start = int(start)

    def __call__(self, step: tf.Tensor) -> tf.Tensor:
        return self.schedule(tf.maximum(tf.cast(step, tf.float32) - float(self.start), 0.0))

    def get_config(self) -> dict[str, object]:
        return {"start": self.start, "schedule": self.schedule.get_config()}


def make_optimizer(
    config: TrainConfig, total_steps: int, start_step: int = 0
) -> keras.optimizers.Optimizer:
    schedule = make_schedule(config.learning_rate, total_steps, start_step)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=0.9)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(schedule)
    return keras.optimizers.Adam(schedule)


def compile_model(
    model: keras.Model,
    config: TrainConfig,
    total_steps: int = 1,
    start_step: int = 0,
    steps_per_execution: int = 1,
) -> None:
    """Compile with a new optimizer and label-smoothed cross-entropy (``config`` as resolved by
    :meth:`Trainer.run`: its label smoothing is set).

    Compiling again drops Keras's traced train step, so a new schedule always takes effect.
    Labels are fed one-hot (see :func:`make_dataset`), which label smoothing needs.
    ``steps_per_execution`` runs that many batches in one call (callbacks see every call).
    """
    model.compile(
        optimizer=make_optimizer(config, total_steps, start_step),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )


@dataclass(frozen=True)
class OptimizerState:
    """An optimizer's variables as arrays, to carry its momentum into a continued run."""

    name: str
    variables: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, model: keras.Model, name: str) -> OptimizerState | None:
        """The state of ``model``'s optimizer (None when it has none or never stepped)."""
        optimizer = getattr(model, "optimizer", None)  # an uncompiled model has none
        if optimizer is None or not optimizer.built:
            return None
        values = [np.asarray(v.numpy()) for v in optimizer.variables]
        values = [v.astype(np.float32) if v.dtype.kind == "f" else v for v in values]
        return cls(name, tuple(values))

    @property
    def steps(self) -> int:
        """Optimizer steps taken so far (Keras keeps the counter as the first variable)."""
        first = self.variables[0] if self.variables else None
        if first is None or first.ndim != 0 or first.dtype.kind not in "iu":
            return 0
        return int(first)


def restore_optimizer_state(model: keras.Model, state: OptimizerState) -> bool:
    """Load ``state`` (step counter and moment estimates) into ``model``'s new optimizer;
    False when it does not fit. The run's schedule is offset by the counter (see
    :class:`_StartingAt`), so the continued run still warms up and decays."""
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    variables = optimizer.variables
    if len(state.variables) != len(variables) or any(
        tuple(v.shape) != s.shape for v, s in zip(variables, state.variables, strict=True)
    ):
        return False
    for variable, value in zip(variables, state.variables, strict=True):
        variable.assign(value)
    return True


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    shuffle: bool,
    seed: int,
    num_classes: int,
    passes: int = 1,
) -> tf.data.Dataset:
    """A tf.data pipeline over uint8 images: shuffle indices each epoch, gather, cast, prefetch;
    ``passes`` epochs in one pipeline (for ``fit`` with a step count per epoch).

    The pixels stay uint8 in memory (a quarter of float32's size); the cast to float and the
    one-hot labels are made in the graph, batch by batch. Scaling to 0..1 happens inside the
    model.
    """
    x = tf.constant(images)
    y = tf.constant(labels.astype(np.int32))
    indices = tf.data.Dataset.range(len(labels))
    if shuffle:
        indices = indices.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size)

    def gather(idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(tf.gather(x, idx), tf.float32), tf.one_hot(tf.gather(y, idx), num_classes)

    # The training pipeline holds every pass of the run, fitted with a step count per epoch,
    # so Keras keeps one iterator for the whole run: a new iterator each epoch stalled the
    # first batch of every epoch after the first by seconds. It is finite: dropping an endless
    # one at the end of fit stalled for up to 10 s. The validation pipeline is one pass: Keras
    # makes a new iterator for each validation pass.
    if passes > 1:
        batches = batches.repeat(passes)
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
        spec: ModelSpec | None = None,
        model: keras.Model | None = None,
        history: list[dict[str, float]] | None = None,
        optimizer_state: OptimizerState | None = None,
    ) -> TrainingResult:
        """Train a new network for ``spec`` (default: the article's CNN for this dataset), or
        continue ``model`` (with its ``history``).

        Continuing compiles the model afresh with this run's settings (so they really take
        effect) and carries ``optimizer_state`` over when it belongs to the same optimizer;
        otherwise the optimizer starts fresh and a warning says so.

        Raises :class:`~core.errors.DatasetError` when the data cannot be trained on,
        :class:`Cancelled` when cancelled, and :class:`TrainingError` when the loss diverges
        (the diverged model is discarded) or memory runs out.
        """
        require_trainable(self.dataset)
        config = self.config
        data = self.dataset
        keras.utils.set_random_seed(config.seed)
        train_idx, val_idx, warnings = data.split(config.val_split, config.seed)
        if spec is None:
            spec = ModelSpec(DEFAULT_PRESET, data.spec, max(len(data.class_names), 2))
        if spec.num_classes != len(data.class_names) or spec.input != data.spec:
            raise TrainingError("the model's classes or input size do not match this dataset")
        if config.label_smoothing is None:  # the preset's own; the result records the value
            smoothing = 0.0 if spec.pretrained else LABEL_SMOOTHING
            config = self.config = dataclasses.replace(config, label_smoothing=smoothing)
        where = placement(config.devices)
        # The result records the precision really used. The pretrained head alone is one dense
        # layer on cached float32 features: nothing to gain, and the features stay exact.
        gpus = gpu_count()
        precision = resolve(config.precision, gpus)
        if spec.pretrained and not config.fine_tune:
            precision = "float32"
        if precision == "bfloat16" and not gpus and not native_bfloat16():
            warnings.append(
                "this CPU has no native bfloat16: it is emulated and slower than float32 "
                "(automatic precision would choose float32)"
            )
        config = self.config = dataclasses.replace(config, precision=precision)
        earlier = list(history or [])
        batch_size = min(config.batch_size, len(train_idx))
        batches = math.ceil(len(train_idx) / batch_size)
        steps = batches * config.epochs
        with where.strategy.scope():
            result = self._run_in_scope(
                spec,
                model,
                earlier,
                optimizer_state,
                warnings,
                where.devices,
                (train_idx, val_idx, batch_size, batches, steps),
            )
        if precision != "float32" or where.replicas > 1:
            # Outside the strategy: what the app keeps is an ordinary float32 model.
            result.model = rebuilt(result.model, spec)
        return result

    def _run_in_scope(
        self,
        spec: ModelSpec,
        model: keras.Model | None,
        earlier: list[dict[str, float]],
        optimizer_state: OptimizerState | None,
        warnings: list[str],
        devices: tuple[str, ...],
        plan: tuple[np.ndarray, np.ndarray, int, int, int],
    ) -> TrainingResult:
        """The run itself, inside the placement's strategy scope: every variable (model and
        optimizer) is created here, so a multi-device strategy mirrors it."""
        config, data = self.config, self.dataset
        train_idx, val_idx, batch_size, batches, steps = plan
        multi = len(devices) > 1
        if model is None:
            model = build_model(spec, pretrained=spec.pretrained, precision=config.precision)
        elif multi or model.dtype_policy.name != KERAS_POLICY[config.precision]:
            model = rebuilt(model, spec, config.precision)  # its variables made in this scope
        inputs, fit_model = self._what_to_fit(spec, model)
        same = optimizer_state is not None and optimizer_state.name == config.optimizer
        # The pretrained head alone is one small dense layer: a step takes microseconds and
        # Keras's per-call overhead milliseconds, so a whole epoch runs in one call.
        per_call = batches if fit_model is not model else 1
        compile_model(
            fit_model,
            self._fit_config(spec),
            steps,
            optimizer_state.steps if same else 0,
            per_call,
        )
        if optimizer_state is not None and not same:
            warnings.append(
                f"the optimizer changed from {optimizer_state.name} to {config.optimizer}; "
                "it starts without the earlier run's momentum"
            )
        elif optimizer_state is not None and not restore_optimizer_state(
            fit_model, optimizer_state
        ):
            compile_model(fit_model, self._fit_config(spec), steps, steps_per_execution=per_call)
            warnings.append("the saved optimizer state did not fit; it starts afresh")
        n = spec.num_classes
        train_ds = make_dataset(
            inputs[train_idx],
            data.labels[train_idx],
            batch_size,
            True,
            config.seed,
            n,
            passes=config.epochs,
        )
        val_ds, val_batch, checked = None, max(batch_size, 256), val_idx
        if multi:
            # MirroredStrategy cannot split a validation batch unevenly between replicas, so
            # the few images (fewer than the replicas) that would make it uneven are left out
            # of the per-epoch check; the final evaluation still sees every one.
            checked = val_idx[: len(val_idx) - len(val_idx) % len(devices)]
            val_batch -= val_batch % len(devices)
        if len(checked):
            val_ds = make_dataset(inputs[checked], data.labels[checked], val_batch, False, 0, n)
        total = len(earlier) + config.epochs
        bridge = _Bridge(self.observer, self.control, total, batches, n)
        callbacks: list[keras.callbacks.Callback] = [bridge]
        calibrate = bool(batchnorm_layers(fit_model))
        if calibrate and val_ds is not None:
            callbacks.append(Recalibration(fit_model, inputs[train_idx], config.seed))
        early = None
        if config.early_stopping:
            patience, warmup_epochs = early_stopping_epochs(
                config.patience, batches, warmup_steps(steps)
            )
            early = keras.callbacks.EarlyStopping(
                monitor="val_loss" if val_ds is not None else "loss",
                patience=patience,
                restore_best_weights=True,
                start_from_epoch=len(earlier) + warmup_epochs,
            )
            callbacks.append(early)
        outcome = "finished"
        try:
            fit_model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=total,
                steps_per_epoch=batches,
                shuffle=False,  # the tf.data pipeline shuffles, reproducibly
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
        finally:
            if spec.pretrained:
                model.get_layer("backbone").trainable = False  # fine-tuning is per run
        if early is not None and early.stopped_epoch > 0:
            outcome = "early-stopped"
        if calibrate and (val_ds is None or outcome == "stopped"):
            recalibrate(fit_model, inputs[train_idx], config.seed)  # weights since validation
        if not all(np.isfinite(w).all() for w in model.get_weights()):
            raise TrainingError("training diverged (weights are not finite); nothing was kept")
        optimizer_after = OptimizerState.of(fit_model, config.optimizer)
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
            optimizer_state=optimizer_after,
            devices=devices,
        )

    def _fit_config(self, spec: ModelSpec) -> TrainConfig:
        """The config the optimizer gets: fine-tuning a pretrained backbone runs slower."""
        config = self.config
        if spec.pretrained and config.fine_tune:
            rate = config.learning_rate * FINE_TUNE_RATE
            return dataclasses.replace(config, learning_rate=rate)
        return config

    def _what_to_fit(self, spec: ModelSpec, model: keras.Model) -> tuple[np.ndarray, keras.Model]:
        """(inputs, model to fit). The pretrained preset without fine-tuning fits its head on
        cached backbone features; with fine-tuning, the top of the backbone is unfrozen."""
        data = self.dataset
        if not spec.pretrained:
            return data.images, model
        if self.config.fine_tune:
            backbone = model.get_layer("backbone")
            backbone.trainable = True
            for layer in backbone.layers[:-FINE_TUNE_LAYERS]:
                layer.trainable = False
            return data.images, model
        extractor = feature_extractor(model)
        cache = FeatureCache(BACKBONE_ID, spec.input.size)

        def compute(rows: np.ndarray) -> np.ndarray:
            return extract_features(extractor, data.images[rows])

        return cache.features(data.hashes, compute), head_model(model)
