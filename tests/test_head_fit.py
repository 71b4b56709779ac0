"""The learning curve's NumPy head fit follows the app's own recipe: Keras's learning-rate
schedule step for step, Keras's optimizer updates, and early stopping that keeps the best
epoch; and it learns what a Keras head learns."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.errors import Cancelled
from core.learn.config import TrainConfig
from core.learn.head_fit import Head, _Optimizer, fit_head, warmup_cosine
from core.learn.learning_curve import CurveStopped, HeadShape, learning_curve
from core.learn.optimizer import make_optimizer, make_schedule
from core.learn.training import early_stopping_epochs
from core.nets.runtime import keras
from core.progress import TrainingControl

HEAD = TrainConfig(epochs=30, batch_size=16, learning_rate=5e-3, patience=3, seed=0)


def rule(config: TrainConfig):
    from core.learn.optimizer import warmup_steps

    return lambda batches, steps: early_stopping_epochs(
        config.patience, batches, warmup_steps(steps)
    )


def blobs(n: int, classes: int = 3, width: int = 32, spread: float = 1.0, seed: int = 0):
    """Gaussian blobs, one a class, as (features, labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (classes, width))
    y = np.arange(n) % classes
    x = centres[y] + rng.normal(0, spread, (n, width))
    return x.astype(np.float32), y


@pytest.mark.parametrize("total", [1, 7, 10, 123, 600])
def test_the_schedule_is_the_apps_keras_schedule_step_for_step(total):
    keras_schedule = make_schedule(5e-3, total)
    expected = [float(keras_schedule(step)) for step in range(total)]
    np.testing.assert_allclose(warmup_cosine(5e-3, total), expected, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_each_optimizer_updates_as_keras_does(name):
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(4, 3)).astype(np.float32)
    bias = rng.normal(size=3).astype(np.float32)
    grads = [
        (rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32))
        for _ in range(3)
    ]
    config = dataclasses.replace(HEAD, optimizer=name)
    steps = 30  # a schedule long enough that its first rates are the warm-up's
    rates = warmup_cosine(config.learning_rate, steps)
    ours = Head(kernel.copy(), bias.copy())
    optimizer = _Optimizer(name, ours)
    variables = [keras.Variable(kernel.copy()), keras.Variable(bias.copy())]
    theirs = make_optimizer(config, steps)
    for kernel_grad, bias_grad in grads:
        optimizer.step(ours, (kernel_grad, bias_grad), float(rates[optimizer.steps]))
        theirs.apply_gradients(zip([kernel_grad, bias_grad], variables, strict=True))
    np.testing.assert_allclose(ours.kernel, variables[0].numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.bias, variables[1].numpy(), rtol=1e-4, atol=1e-6)
    assert not np.allclose(ours.kernel, kernel)


def test_a_fit_learns_separable_classes_and_is_reproducible():
    x, y = blobs(240, spread=0.8)
    head = fit_head(x[:150], y[:150], (x[150:], y[150:]), 3, 0.5, HEAD, rule(HEAD))
    accuracy = np.mean(np.argmax(head.probabilities(x[150:]), axis=1) == y[150:])
    assert accuracy > 0.9
    again = fit_head(x[:150], y[:150], (x[150:], y[150:]), 3, 0.5, HEAD, rule(HEAD))
    np.testing.assert_array_equal(head.kernel, again.kernel)
    other = fit_head(
        x[:150], y[:150], (x[150:], y[150:]), 3, 0.5, dataclasses.replace(HEAD, seed=1), rule(HEAD)
    )
    assert not np.array_equal(head.kernel, other.kernel)


def test_early_stopping_keeps_a_better_epoch_than_running_on():
    # Half the training labels are wrong and there is no dropout: the validation loss falls,
    # then rises as the head memorises them; early stopping keeps an earlier, better epoch.
    x, y = blobs(200, classes=4, width=32, spread=1.0, seed=2)
    rng = np.random.default_rng(0)
    noisy = y[:100].copy()
    flip = rng.random(100) < 0.5
    noisy[flip] = rng.integers(0, 4, int(flip.sum()))
    config = dataclasses.replace(HEAD, epochs=200, learning_rate=0.05, patience=5)
    train, val = (x[:100], noisy), (x[100:], y[100:])
    eye = np.eye(4, dtype=np.float32)
    kept = fit_head(*train, val, 4, 0.0, config, rule(config))
    ran_on = dataclasses.replace(config, early_stopping=False)
    last = fit_head(*train, val, 4, 0.0, ran_on, rule(config))
    assert kept.loss(val[0], eye[val[1]]) < 0.5 * last.loss(val[0], eye[val[1]])


def test_check_runs_after_every_epoch_and_can_leave_the_fit():
    x, y = blobs(60)
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 3:
            raise Cancelled("cancelled")

    with pytest.raises(Cancelled):
        fit_head(x, y, (x, y), 3, 0.5, HEAD, rule(HEAD), check)
    assert len(calls) == 3


def test_the_curve_stops_and_cancels_on_request():
    x, y = blobs(120)
    stop = TrainingControl()
    stop.stop()
    with pytest.raises(CurveStopped):
        learning_curve(x, y, x[:30], y[:30], HeadShape(3, 0.5), HEAD, control=stop)
    cancel = TrainingControl()
    cancel.cancel()
    with pytest.raises(Cancelled):
        learning_curve(x, y, x[:30], y[:30], HeadShape(3, 0.5), HEAD, control=cancel)


def test_the_curve_rises_and_its_last_point_is_what_a_keras_head_gets():
    """On well-separated data, fewer training images never beat many by much, and the whole
    set's point is close to a Keras head trained the app's way on the same features."""
    x, y = blobs(400, classes=5, width=48, spread=2.0, seed=3)
    val_x, val_y = blobs(200, classes=5, width=48, spread=2.0, seed=3)
    val_x = val_x + np.random.default_rng(9).normal(0, 0.01, val_x.shape).astype(np.float32)
    points = learning_curve(x, y, val_x, val_y, HeadShape(5, 0.5), HEAD)
    assert [p.images for p in points] == [100, 200, 300, 400]
    assert points[-1].accuracy >= points[0].accuracy - 0.02

    from core.learn.optimizer import compile_model

    keras.utils.set_random_seed(0)
    inputs = keras.Input((48,))
    outputs = keras.layers.Dense(5, activation="softmax")(keras.layers.Dropout(0.5)(inputs))
    model = keras.Model(inputs, outputs)
    config = dataclasses.replace(HEAD, label_smoothing=0.0)
    compile_model(model, config, 25 * HEAD.epochs)
    model.fit(x, np.eye(5)[y], batch_size=16, epochs=HEAD.epochs, verbose=0)
    keras_accuracy = np.mean(np.argmax(model.predict(val_x, verbose=0), axis=1) == val_y)
    assert abs(points[-1].accuracy - keras_accuracy) < 0.06
