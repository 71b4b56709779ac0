"""Benchmark: CNN Studio's trainer against a plain Keras script of the article's model.

Run on demand (several minutes on a 2-core laptop):

    python3 -m tests.benchmarks.bench_train [--quick]

The plain script builds the article's model with ``keras.Sequential`` and calls ``model.fit``
on float arrays scaled to 0..1 (Keras's default batch size of 32, Adam at its defaults). Prints
throughput (images per second in a steady-state epoch, best of several) and test accuracy after
5 epochs on full MNIST and on the Fashion-MNIST folders, with ratios against the plain script.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from core.cache import DatasetCache
from core.config import TrainConfig
from core.dataset import LoadedDataset, load_dataset
from core.images import InputSpec
from core.runtime import keras
from core.training import Trainer
from tests.benchmarks.table import print_table
from tests.mnist import mnist_dataset

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def plain_model(num_classes: int) -> keras.Model:
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class EpochTimer(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self.start)


def plain_fit(train: LoadedDataset, epochs: int, batch_size: int = 32) -> tuple[keras.Model, list]:
    keras.utils.set_random_seed(0)
    model = plain_model(len(train.class_names))
    timer = EpochTimer()
    x = train.images.astype("float32") / 255.0
    model.fit(x, train.labels, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[timer])
    return model, timer.seconds


class SecondsObserver:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    def run_started(self, total_epochs: int, batches_per_epoch: int) -> None: ...

    def batch_ended(self, epoch: int, batch: int, loss: float) -> None: ...

    def epoch_ended(self, epoch: int, metrics: dict, seconds: float) -> None:
        self.seconds.append(seconds)


def studio_fit(train: LoadedDataset, epochs: int, **overrides: object) -> tuple[keras.Model, list]:
    config = TrainConfig(epochs=epochs, val_split=0.0, seed=0, early_stopping=False, **overrides)
    observer = SecondsObserver()
    result = Trainer(train, config, observer).run()
    return result.model, observer.seconds


def accuracy(model: keras.Model, test: LoadedDataset, scale: bool) -> float:
    x = test.images.astype("float32") / (255.0 if scale else 1.0)
    predicted = np.argmax(model.predict(x, batch_size=512, verbose=0), axis=1)
    return float((predicted == test.labels).mean())


def steady_throughput(fit, train: LoadedDataset, **kwargs: object) -> float:
    """Images per second in the fastest epoch after the first (which includes tracing)."""
    _, seconds = fit(train, 4, **kwargs)
    return len(train) / min(seconds[1:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="throughput only")
    args = parser.parse_args()
    mnist = SHARED / "mnist"
    subset = mnist_dataset(mnist, "train", 20_000)
    rows = []
    plain32 = steady_throughput(plain_fit, subset, batch_size=32)
    plain128 = steady_throughput(plain_fit, subset, batch_size=128)
    studio128 = steady_throughput(studio_fit, subset, batch_size=128)
    defaults = TrainConfig()
    rows.append(
        [
            "throughput, batch 128 both (img/s)",
            f"{plain128:.0f}",
            f"{studio128:.0f}",
            f"{studio128 / plain128:.2f}x",
            ">= 0.97x",
        ]
    )
    rows.append(
        [
            f"throughput, plain batch 32 vs Studio default {defaults.batch_size} (img/s)",
            f"{plain32:.0f}",
            f"{studio128:.0f}",
            f"{studio128 / plain32:.2f}x",
            ">= 1.5x",
        ]
    )
    if not args.quick:
        cache = DatasetCache()
        fashion = SHARED / "fashion-mnist"
        suites = [
            (
                "MNIST 60k/10k",
                mnist_dataset(mnist, "train"),
                mnist_dataset(mnist, "t10k"),
                ">= 99.0 %",
            ),
            (
                "Fashion-MNIST folders 15k/10k",
                load_dataset(fashion / "train", InputSpec(28), cache=cache),
                load_dataset(fashion / "test", InputSpec(28), cache=cache),
                ">= 89 %",
            ),
        ]
        for name, train, test, target in suites:
            plain, _ = plain_fit(train, 5)
            studio, _ = studio_fit(train, 5)
            a, b = accuracy(plain, test, True), accuracy(studio, test, False)
            rows.append(
                [
                    f"{name}, 5 epochs (test accuracy)",
                    f"{a:.2%}",
                    f"{b:.2%}",
                    f"{(b - a) * 100:+.2f} pt",
                    target,
                ]
            )
    print_table(["measure", "plain Keras", "CNN Studio", "ratio", "target"], rows)


if __name__ == "__main__":
    main()
