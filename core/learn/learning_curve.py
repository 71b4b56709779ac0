"""The learning curve of a pretrained head: "how much would more photos help?".

After a pretrained preset's head is trained on cached backbone features (no fine-tuning), a
fresh head of the same architecture is fitted on 25 %, 50 %, 75 % and 100 % of the run's
training images, with the run's own settings and seed, and scored on the run's validation
images. The 100 % point is refitted too rather than taken from the trained model, so the four
points come from one recipe (same initialisation, no calibration) and a continued run's curve
still compares like with like; it therefore differs from the model's own validation accuracy
by a point or so. Each head is one dense layer on about a thousand features, fitted in NumPy
(:mod:`core.learn.head_fit`: Keras's ``fit`` spent seconds a copy compiling), so the four fits
take a fraction of a second even on a laptop.

The subsets are stratified and nested: every class keeps its share (at least one image), and
the 25 % images are among the 50 % ones, and so on, so the curve shows what more images add
rather than which images were drawn.

:func:`learning_curve` runs on the thread that trains (the GUI's worker thread, the CLI's main
thread); its ``progress`` callback runs on that thread too. :meth:`TrainingControl.stop` there
abandons the curve (:class:`CurveStopped`), :meth:`TrainingControl.cancel` raises
:class:`~core.errors.Cancelled`; both are checked after every epoch of every fit.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import numpy as np

from core.errors import Cancelled
from core.learn.config import TrainConfig
from core.learn.head_fit import fit_head
from core.progress import ProgressCallback, TrainingControl, no_progress

#: The shares of the training images the curve fits a head on.
FRACTIONS = (0.25, 0.5, 0.75, 1.0)


@dataclasses.dataclass(frozen=True)
class HeadShape:
    """What a fresh copy of a pretrained head needs from the model: its number of classes and
    the rate of its dropout layer."""

    classes: int
    dropout: float


class CurveStopped(Exception):
    """The user asked to stop while the curve was being measured: the model is kept, the
    curve is not."""


@dataclasses.dataclass(frozen=True)
class CurvePoint:
    """One point of the curve: a head fitted on ``images`` training images got ``accuracy``
    (0..1) on the validation images."""

    images: int
    accuracy: float

    def to_list(self) -> list[int | float]:
        """As the model file stores it: [images, accuracy]."""
        return [self.images, round(self.accuracy, 6)]


def nested_subsets(labels: np.ndarray, fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    """Stratified, nested subsets of ``range(len(labels))``, one per fraction (sorted rows).

    Each class is shuffled once with ``seed``; a fraction takes the first
    ``max(1, round(fraction * n))`` of its ``n`` images, so a class is never left out and a
    smaller subset lies inside every larger one."""
    rng = np.random.default_rng(seed)
    order = {c: rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels).tolist()}
    subsets = []
    for fraction in fractions:
        taken = [rows[: max(1, round(fraction * len(rows)))] for rows in order.values()]
        subsets.append(np.sort(np.concatenate(taken)) if taken else np.zeros(0, np.int64))
    return subsets


def _fit_accuracy(
    x: np.ndarray,
    y: np.ndarray,
    val: tuple[np.ndarray, np.ndarray],
    head: HeadShape,
    config: TrainConfig,
    control: TrainingControl,
) -> float:
    """Fit a fresh head on (``x``, ``y``) as the app fits one (:func:`fit_head`: the run's
    optimizer, warm-up and cosine schedule, batch size, epochs and early stopping on the
    validation loss, keeping the best weights), and return its validation accuracy."""
    from core.learn.optimizer import warmup_steps
    from core.learn.training import early_stopping_epochs

    def rule(batches: int, steps: int) -> tuple[int, int]:
        return early_stopping_epochs(config.patience, batches, warmup_steps(steps))

    def check() -> None:
        if control.cancel_requested:
            raise Cancelled("training cancelled")
        if control.stop_requested:
            raise CurveStopped()

    fitted = fit_head(x, y, val, head.classes, head.dropout, config, rule, check)
    val_x, val_y = val
    return float(np.mean(np.argmax(fitted.probabilities(val_x), axis=1) == val_y))


def learning_curve(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    val_features: np.ndarray,
    val_labels: np.ndarray,
    head: HeadShape,
    config: TrainConfig,
    progress: ProgressCallback = no_progress,
    control: TrainingControl | None = None,
    fractions: Sequence[float] = FRACTIONS,
) -> list[CurvePoint]:
    """Validation accuracy of a fresh head fitted on growing shares of the training images.

    ``train_features``/``val_features`` are the cached backbone features (float32, one row an
    image) of the run's training and validation images, with their class indices;
    ``head`` is the shape of the model's head (its classes and dropout rate), and
    ``config`` the run's settings as the run resolved them (label smoothing set). Returns one
    point per fraction (images, accuracy), fewest images first; an empty list when there are
    no validation images or too few training images for the shares to differ.
    ``progress(fraction, message)`` is called before each fit. Raises :class:`CurveStopped`
    or :class:`~core.errors.Cancelled` when ``control`` asks (see the module docstring).
    """
    control = control or TrainingControl()
    val_labels = np.asarray(val_labels)
    if not len(val_labels) or not len(train_labels):
        return []
    subsets = nested_subsets(np.asarray(train_labels), fractions, config.seed)
    counts = [len(s) for s in subsets]
    if any(b <= a for a, b in itertools.pairwise(counts)):
        return []  # too few images a class: the shares would repeat the same images
    if config.label_smoothing is None:
        config = dataclasses.replace(config, label_smoothing=0.0)
    points = []
    for k, rows in enumerate(subsets):
        progress(k / len(subsets), f"fitting on {len(rows)} of {counts[-1]} training images")
        accuracy = _fit_accuracy(
            train_features[rows],
            np.asarray(train_labels)[rows],
            (val_features, val_labels),
            head,
            config,
            control,
        )
        points.append(CurvePoint(len(rows), accuracy))
    progress(1.0, "learning curve measured")
    return points
