"""The optimizer a run trains with: its learning-rate schedule, compiling the model with it,
and its state carried into a continued run.

A warm-up then cosine decay, counted from the optimizer's own step counter so a continued run
gets a warm-up and decay of its own while Adam's bias correction still matches its carried-over
moments (:class:`OptimizerState`, saved in model files). Used by
:class:`core.learn.training.Trainer`; exports are uncompiled copies, so none of it travels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.learn.config import TrainConfig
from core.nets.runtime import keras, tf


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
    :meth:`~core.learn.training.Trainer.run`: its label smoothing is set).

    Compiling again drops Keras's traced train step, so a new schedule always takes effect.
    Labels are fed one-hot (see :func:`~core.learn.training.make_dataset`), which label
    smoothing needs. ``steps_per_execution`` runs that many batches in one call (callbacks see
    every call).
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
