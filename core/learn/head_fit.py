"""A pretrained head fitted in NumPy on cached features, for the learning curve.

The head a pretrained preset trains is dropout then one dense softmax layer on the backbone's
pooled features. The learning curve fits four fresh copies of it; Keras's ``fit`` spent about
two seconds a copy compiling and tracing (a copy's training itself takes milliseconds), so the
curve cost more than training the model. This fits the same head with the same recipe in plain
NumPy, in milliseconds:

- Glorot-uniform kernel and zero bias (Keras's ``Dense`` defaults);
- dropout at the head's rate on the features, in training only;
- cross-entropy with the run's label smoothing, averaged over the batch;
- the run's optimizer with Keras's defaults (Adam, SGD with momentum 0.9, RMSprop) on the
  app's schedule (linear warm-up over the first 10 % of steps, then cosine decay to zero);
- the run's batch size and epochs, shuffled each epoch; early stopping on the validation loss
  with the app's patience rules, keeping the best epoch's weights.

It is the same recipe, not the same numbers: the random draws (initialisation, dropout masks,
shuffling) are NumPy's, so a point differs from a Keras fit by the luck of a fit. Every point of
the curve is made this way, so they compare like with like. Imports no TensorFlow; runs on the
caller's thread, and ``check`` is called after every epoch (it raises to leave the fit).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.learn.config import TrainConfig

#: Keras's defaults for the optimizers :func:`core.learn.optimizer.make_optimizer` makes.
ADAM_BETAS = (0.9, 0.999)
EPSILON = 1e-7
SGD_MOMENTUM = 0.9
RMSPROP_RHO = 0.9


def warmup_cosine(peak: float, total_steps: int) -> np.ndarray:
    """The learning rate of each of ``total_steps`` steps, as
    :func:`core.learn.optimizer.make_schedule` gives it (Keras's ``CosineDecay`` with a
    linear warm-up from ``peak / (warmup + 1)`` over the first 10 %, then down to zero)."""
    total = max(int(total_steps), 1)
    warmup = max(1, total // 10)
    decay = max(total - warmup, 1)
    start = peak / (warmup + 1)
    step = np.arange(total, dtype=np.float64)
    rising = start + (peak - start) * step / warmup
    falling = peak * 0.5 * (1.0 + np.cos(np.pi * np.minimum(step - warmup, decay) / decay))
    return np.where(step < warmup, rising, falling)


@dataclass
class Head:
    """The head's weights: ``kernel`` (features, classes) and ``bias`` (classes)."""

    kernel: np.ndarray
    bias: np.ndarray

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Softmax of the head on ``features`` (no dropout: inference)."""
        return _softmax(features @ self.kernel + self.bias)

    def loss(self, features: np.ndarray, targets: np.ndarray) -> float:
        """Mean cross-entropy against ``targets`` (rows of class probabilities)."""
        p = self.probabilities(features)
        return float(-np.mean(np.sum(targets * np.log(np.clip(p, 1e-7, 1.0)), axis=1)))

    def copy(self) -> Head:
        return Head(self.kernel.copy(), self.bias.copy())


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


class _Optimizer:
    """One of the app's optimizers over the head's two arrays, with Keras's update rules."""

    def __init__(self, name: str, head: Head) -> None:
        self.name = name
        self.steps = 0
        self.slots = [[np.zeros_like(w) for w in (head.kernel, head.bias)] for _ in range(2)]

    def step(self, head: Head, grads: tuple[np.ndarray, np.ndarray], rate: float) -> None:
        self.steps += 1
        for k, (weight, grad) in enumerate(zip((head.kernel, head.bias), grads, strict=True)):
            first, second = self.slots[0][k], self.slots[1][k]
            if self.name == "sgd":
                first *= SGD_MOMENTUM
                first -= rate * grad
                weight += first
            elif self.name == "rmsprop":
                first *= RMSPROP_RHO
                first += (1 - RMSPROP_RHO) * grad * grad
                weight -= rate * grad / np.sqrt(first + EPSILON)
            else:
                beta1, beta2 = ADAM_BETAS
                first += (grad - first) * (1 - beta1)
                second += (grad * grad - second) * (1 - beta2)
                alpha = rate * math.sqrt(1 - beta2**self.steps) / (1 - beta1**self.steps)
                weight -= first * alpha / (np.sqrt(second) + EPSILON)


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    val: tuple[np.ndarray, np.ndarray],
    classes: int,
    dropout: float,
    config: TrainConfig,
    patience_rule: Callable[[int, int], tuple[int, int]],
    check: Callable[[], None] = lambda: None,
) -> Head:
    """Fit a fresh head on features ``x`` (float32, one row an image) with class indices ``y``,
    judged on ``val`` (features, class indices), with ``config``'s optimizer, learning rate,
    batch size, epochs, label smoothing and early stopping, and return it (the best epoch's
    weights when early stopping is on and there are validation images).

    ``patience_rule(batches, total_steps)`` gives (patience, first epoch judged) in epochs, as
    the app's own run decides them; ``check()`` runs after every epoch."""
    rng = np.random.default_rng(config.seed)
    x = np.asarray(x, np.float32)
    y = np.asarray(y)
    width = x.shape[1]
    limit = math.sqrt(6.0 / (width + classes))
    head = Head(
        rng.uniform(-limit, limit, (width, classes)).astype(np.float32),
        np.zeros(classes, np.float32),
    )
    smoothing = config.label_smoothing or 0.0
    eye = np.eye(classes, dtype=np.float32) * (1 - smoothing) + smoothing / classes
    val_x, val_y = np.asarray(val[0], np.float32), np.asarray(val[1])
    batch_size = max(1, min(config.batch_size, len(y)))
    batches = math.ceil(len(y) / batch_size)
    rates = warmup_cosine(config.learning_rate, batches * config.epochs)
    optimizer = _Optimizer(config.optimizer, head)
    judged = config.early_stopping and len(val_y) > 0
    patience, first_judged = patience_rule(batches, len(rates))
    best: tuple[float, Head] | None = None
    wait = 0
    keep = 1.0 - dropout
    for epoch in range(config.epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            rows = order[start : start + batch_size]
            inputs = x[rows]
            if dropout:
                inputs = inputs * ((rng.random(inputs.shape, np.float32) < keep) / keep)
            error = (head.probabilities(inputs) - eye[y[rows]]) / len(rows)
            grads = (inputs.T @ error, error.sum(axis=0))
            optimizer.step(head, grads, float(rates[optimizer.steps]))
        check()
        if not judged or epoch < first_judged:
            continue
        loss = head.loss(val_x, eye[val_y])
        if best is None:
            best = (math.inf, head.copy())
        wait += 1
        if loss < best[0]:
            best, wait = (loss, head.copy()), 0
        elif wait >= patience and epoch > 0:
            break
    return best[1] if best is not None else head
