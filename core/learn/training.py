"""Training a model on a loaded dataset, with progress, stop/cancel and divergence checks.

The :class:`Trainer` runs on whichever thread calls :meth:`Trainer.run` (the GUI's worker
thread, or the main thread of the CLI); every observer method is called on that same thread,
with plain Python numbers and strings, so a front end can forward them as it likes.

Stopping: :meth:`TrainingControl.stop` ends the run after the current batch and keeps the model
so far; :meth:`TrainingControl.cancel` ends it and discards the model. Both are checked after
every training *and* validation batch, so control returns within a batch's time.

This module holds the run itself (the split, the precision and devices, the input pipeline,
early stopping, the pretrained head fitted on cached features) and what it gives; the observer
and the Keras callback that checks stop, cancel and divergence are :mod:`core.learn.monitor`,
the optimizer with its schedule and carried-over state :mod:`core.learn.optimizer`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from core.data.dataset import LoadedDataset, require_trainable
from core.data.pixels import DiskPixels, Pixels, take
from core.errors import Cancelled, TrainingError
from core.learn.batchnorm import Recalibration, batchnorm_layers, recalibrate
from core.learn.config import FINE_TUNE_RATE, LABEL_SMOOTHING, TrainConfig
from core.learn.features import FeatureCache
from core.learn.learning_curve import CurveStopped, HeadShape, learning_curve
from core.learn.monitor import Bridge, Diverged, NullObserver, StopRun, TrainingObserver
from core.learn.optimizer import (
    OptimizerState,
    compile_model,
    restore_optimizer_state,
    warmup_steps,
)
from core.nets.devices import gpu_count, placement
from core.nets.models import (
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
from core.progress import TrainingControl, no_progress


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
    #: The epoch (from 1, over the whole history) whose weights early stopping restored at
    #: the end of the run, its validation loss being the lowest; None when the model has the
    #: weights it ended with (stopped by the user, early stopping off or never judging).
    best_epoch: int | None = None
    #: A pretrained head's learning curve (:mod:`core.learn.learning_curve`): [images,
    #: validation accuracy] at 25, 50, 75 and 100 % of the training images; empty for other runs.
    learning_curve: list[list[int | float]] = field(default_factory=list)

    @property
    def epochs_done(self) -> int:
        return len(self.history)


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


def make_dataset(
    images: Pixels,
    labels: np.ndarray,
    batch_size: int,
    shuffle: bool,
    seed: int,
    num_classes: int,
    passes: int = 1,
) -> tf.data.Dataset:
    """A tf.data pipeline over uint8 images: shuffle indices each epoch, gather, cast, prefetch;
    ``passes`` epochs in one pipeline (for ``fit`` with a step count per epoch).

    The pixels stay uint8 (a quarter of float32's size); the cast to float and the one-hot
    labels are made in the graph, batch by batch. Scaling to 0..1 happens inside the model.
    Images in memory become one constant the graph gathers from; images kept in a file
    (:class:`~core.data.pixels.DiskPixels`, a large dataset) are read a batch at a time as the
    pipeline asks for them, so a run over any number of photos holds a few batches, never the
    dataset.
    """
    y = tf.constant(labels.astype(np.int32))
    indices = tf.data.Dataset.range(len(labels))
    if shuffle:
        indices = indices.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size)
    if isinstance(images, DiskPixels):
        shape = images.shape[1:]

        def read(idx: np.ndarray) -> np.ndarray:
            return images[idx]

        def pixels_of(idx: tf.Tensor) -> tf.Tensor:
            batch = tf.numpy_function(read, [idx], tf.uint8, stateful=False)
            return tf.ensure_shape(batch, [None, *shape])
    else:
        x = tf.constant(images)

        def pixels_of(idx: tf.Tensor) -> tf.Tensor:
            return tf.gather(x, idx)

    def gather(idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(pixels_of(idx), tf.float32), tf.one_hot(tf.gather(y, idx), num_classes)

    # The training pipeline holds every pass of the run, fitted with a step count per epoch,
    # so Keras keeps one iterator for the whole run: a new iterator each epoch stalled the
    # first batch of every epoch after the first by seconds. It is finite: dropping an endless
    # one at the end of fit stalled for up to 10 s. The validation pipeline is one pass: Keras
    # makes a new iterator for each validation pass.
    if passes > 1:
        batches = batches.repeat(passes)
    return batches.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


#: A validation batch's float32 input is at most about this many bytes (a 224 px photo's takes
#: 0.6 MB, and the backbone's activations for it many times more); small images keep 256.
VALIDATION_BATCH_BYTES = 20 * 1024**2


def validation_batch(batch_size: int, shape: tuple[int, ...]) -> int:
    """Images per validation batch: 256 small images, fewer large ones (never fewer than a
    training batch), so checking 224 px photos does not take gigabytes of activations."""
    image_bytes = 4 * int(np.prod(shape[1:]))
    return max(batch_size, min(256, VALIDATION_BATCH_BYTES // max(image_bytes, 1)))


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
        #: What the learning curve needs from a head run: (features, train rows, val rows, head).
        self._head: tuple[np.ndarray, np.ndarray, np.ndarray, keras.Model] | None = None

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
        result.learning_curve = self._learning_curve(result)
        return result

    def _learning_curve(self, result: TrainingResult) -> list[list[int | float]]:
        """The learning curve of a pretrained head run that was not stopped (empty for any
        other run, or when the user stops while it is measured: the model is kept). Progress
        goes to the observer's optional ``curve_progress(fraction, message)``."""
        head = self._head
        self._head = None
        if head is None or result.outcome == "stopped":
            return []
        inputs, train_idx, val_idx, template = head
        shape = HeadShape(int(template.output.shape[-1]), float(template.get_layer("dropout").rate))
        labels = self.dataset.labels
        report = getattr(self.observer, "curve_progress", no_progress)
        try:
            points = learning_curve(
                inputs[train_idx],
                labels[train_idx],
                inputs[val_idx],
                labels[val_idx],
                shape,
                self._fit_config(result.spec),
                report,
                self.control,
            )
        except CurveStopped:
            return []
        except MemoryError:  # the model is fine: keep it, without a curve
            result.warnings.append("out of memory while measuring the learning curve; left out")
            return []
        return [point.to_list() for point in points]

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
            take(inputs, train_idx),
            data.labels[train_idx],
            batch_size,
            True,
            config.seed,
            n,
            passes=config.epochs,
        )
        val_ds, val_batch, checked = None, validation_batch(batch_size, inputs.shape), val_idx
        if multi:
            # MirroredStrategy cannot split a validation batch unevenly between replicas, so
            # the few images (fewer than the replicas) that would make it uneven are left out
            # of the per-epoch check; the final evaluation still sees every one.
            checked = val_idx[: len(val_idx) - len(val_idx) % len(devices)]
            val_batch -= val_batch % len(devices)
        if len(checked):
            val_ds = make_dataset(
                take(inputs, checked), data.labels[checked], val_batch, False, 0, n
            )
        total = len(earlier) + config.epochs
        bridge = Bridge(self.observer, self.control, total, batches, n)
        callbacks: list[keras.callbacks.Callback] = [bridge]
        calibrate = bool(batchnorm_layers(fit_model))
        if calibrate and val_ds is not None:
            callbacks.append(Recalibration(fit_model, take(inputs, train_idx), config.seed))
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
        except StopRun:
            if self.control.cancel_requested:
                raise Cancelled("training cancelled") from None
            outcome = "stopped"
        except Diverged as exc:
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
        # Keras gives the best epoch's weights back when fit ends (stopped early or not);
        # a run the user stopped leaves fit before that, with the weights it had.
        restored = early is not None and early.best_weights is not None and outcome != "stopped"
        best_epoch = early.best_epoch + 1 if restored else None
        if calibrate and (val_ds is None or outcome == "stopped"):
            recalibrate(fit_model, take(inputs, train_idx), config.seed)  # since validation
        if not all(np.isfinite(w).all() for w in model.get_weights()):
            raise TrainingError("training diverged (weights are not finite); nothing was kept")
        optimizer_after = OptimizerState.of(fit_model, config.optimizer)
        if fit_model is not model:  # a pretrained head on features: its learning curve follows
            self._head = (inputs, train_idx, val_idx, fit_model)
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
            best_epoch=best_epoch,
        )

    def _fit_config(self, spec: ModelSpec) -> TrainConfig:
        """The config the optimizer gets: fine-tuning a pretrained backbone runs slower."""
        config = self.config
        if spec.pretrained and config.fine_tune:
            rate = config.learning_rate * FINE_TUNE_RATE
            return dataclasses.replace(config, learning_rate=rate)
        return config

    def _what_to_fit(self, spec: ModelSpec, model: keras.Model) -> tuple[Pixels, keras.Model]:
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
        cache = FeatureCache(str(spec.backbone_id), spec.input.size)

        def compute(rows: np.ndarray) -> np.ndarray:
            return extract_features(extractor, take(data.images, rows))

        return cache.features(data.hashes, compute), head_model(model)
