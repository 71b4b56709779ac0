"""Benchmark: CNN Studio's training against plain Keras, measured side by side in one run.

Run on demand (about ten minutes on a 2-core laptop):

    python3 -m tests.benchmarks.bench_train [--quick]

Prints whether this CPU computes bfloat16 natively, then one table:

- throughput of the article's model (images per second in a steady-state epoch, best of
  several): plain ``model.fit`` in float32 and in ``mixed_bfloat16``, and CNN Studio's trainer
  at its automatic precision;
- the whole command: ``cnn-studio train DIR --epochs 3`` (cold cache, then warm) against the
  plain script a user would write (``image_dataset_from_directory``, batch 32, ``fit`` for 3
  epochs, save), both timed as processes from start to exit on 20,000 MNIST PNGs, and the test
  accuracy of each model on MNIST's 10,000 test images;
- test accuracy at CNN Studio's defaults in float32 and in bfloat16, on MNIST and on the
  Fashion-MNIST folders (the precision must not cost more than 0.3 points).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.cache import DatasetCache
from core.data.dataset import LoadedDataset, load_dataset
from core.data.images import InputSpec
from core.learn.config import TrainConfig
from core.learn.training import Trainer
from core.nets.precision import native_bfloat16
from core.nets.runtime import keras
from tests.benchmarks.table import print_table
from tests.mnist import mnist_dataset, read_idx

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
ROOT = Path(__file__).resolve().parents[2]

#: The plain Keras script a user would write for a folder of class folders.
PLAIN_SCRIPT = textwrap.dedent(
    """
    import sys
    import keras

    train = keras.utils.image_dataset_from_directory(
        sys.argv[1], image_size=(28, 28), color_mode="grayscale", batch_size=32
    )
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Rescaling(1 / 255),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(len(train.class_names), activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train, epochs=3, verbose=0)
    model.save(sys.argv[2])
    """
)


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
            layers.Dense(num_classes, activation="softmax", dtype="float32"),
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


def plain_throughput(train: LoadedDataset, policy: str, batch_size: int = 128) -> float:
    """Images per second of plain ``fit`` on float arrays in ``policy``, best epoch after the
    first (which includes tracing)."""
    keras.utils.set_random_seed(0)
    keras.config.set_dtype_policy(policy)
    try:
        model = plain_model(len(train.class_names))
    finally:
        keras.config.set_dtype_policy("float32")
    timer = EpochTimer()
    x = train.images.astype("float32") / 255.0
    model.fit(x, train.labels, batch_size=batch_size, epochs=4, verbose=0, callbacks=[timer])
    return len(train) / min(timer.seconds[1:])


class SecondsObserver:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    def run_started(self, total_epochs: int, batches_per_epoch: int) -> None: ...

    def batch_ended(self, epoch: int, batch: int, loss: float) -> None: ...

    def epoch_ended(self, epoch: int, metrics: dict, seconds: float) -> None:
        self.seconds.append(seconds)


def studio_throughput(train: LoadedDataset) -> float:
    config = TrainConfig(epochs=4, val_split=0.0, seed=0, early_stopping=False)
    observer = SecondsObserver()
    Trainer(train, config, observer).run()
    return len(train) / min(observer.seconds[1:])


def accuracy(model: keras.Model, test: LoadedDataset) -> float:
    predicted = np.argmax(
        model.predict(test.images.astype("float32"), batch_size=512, verbose=0), 1
    )
    return float((predicted == test.labels).mean())


def studio_accuracy(train: LoadedDataset, test: LoadedDataset, precision: str) -> float:
    """Test accuracy after training at the defaults for small images in ``precision``."""
    result = Trainer(train, TrainConfig(precision=precision)).run()
    return accuracy(result.model, test)


def write_pngs(images: np.ndarray, labels: np.ndarray, folder: Path) -> Path:
    for i, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        target = folder / str(int(label))
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels[:, :, 0]).save(target / f"{i:05d}.png")
    return folder


def run_timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, env=env, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def whole_command(rows: list[list[str]]) -> None:
    """``cnn-studio train`` against the plain script, as processes, on 20k MNIST PNGs."""
    from core.modelfile.bundle import read_bundle
    from core.use.classify import model_from_bundle

    mnist = SHARED / "mnist"
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        images = read_idx(mnist / "train-images-idx3-ubyte.gz")[:20_000]
        labels = read_idx(mnist / "train-labels-idx1-ubyte.gz")[:20_000]
        folder = write_pngs(images, labels, work / "mnist20k")
        os.sync()  # no write-back of the new files during the timed runs
        for path in folder.rglob("*.png"):
            path.read_bytes()  # warm the page cache for both contenders
        env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache"), "TF_CPP_MIN_LOG_LEVEL": "2"}
        script = work / "plain.py"
        script.write_text(PLAIN_SCRIPT)
        plain = [sys.executable, str(script), str(folder), str(work / "p.keras")]
        command = [sys.executable, "-m", "core", "train", str(folder), "--epochs", "3"]
        command += ["--out", str(work / "s.cnnmodel")]
        # Interleaved and best of two, as this kind of machine is noisy; the cold run is the
        # first of CNN Studio's (nothing cached yet).
        plain_times, studio_times = [], []
        for _ in range(2):
            plain_times.append(run_timed(plain, env))
            studio_times.append(run_timed(command, env))
        plain_s, cold_s = min(plain_times), studio_times[0]
        warm_s = min(studio_times[1], run_timed(command, env))
        test = mnist_dataset(mnist, "t10k")
        plain_acc = accuracy(keras.models.load_model(work / "p.keras"), test)
        studio_acc = accuracy(model_from_bundle(read_bundle(work / "s.cnnmodel")), test)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    target = "2.0x" if native_bfloat16() else "1.3x"
    for name, seconds in (("cold cache", cold_s), ("warm cache", warm_s)):
        rows.append(
            [
                f"whole `train` command, 20k MNIST PNGs, 3 epochs, {name} (s)",
                f"{plain_s:.1f}",
                f"{seconds:.1f}",
                f"{plain_s / seconds:.2f}x",
                f">= {target}",
            ]
        )
    rows.append(
        [
            "  its test accuracy (MNIST 10k)",
            f"{plain_acc:.2%}",
            f"{studio_acc:.2%}",
            f"{(studio_acc - plain_acc) * 100:+.2f} pt",
            ">= -0.3 pt",
        ]
    )
    print(rows[-3:], flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="throughput only")
    args = parser.parse_args()
    print(f"CPU computes bfloat16 natively: {'yes' if native_bfloat16() else 'no'}", flush=True)
    mnist = SHARED / "mnist"
    subset = mnist_dataset(mnist, "train", 20_000)
    rows: list[list[str]] = []
    plain32 = plain_throughput(subset, "float32")
    plain16 = plain_throughput(subset, "mixed_bfloat16")
    studio = studio_throughput(subset)
    rows.append(["throughput, batch 128, plain float32 (img/s)", f"{plain32:.0f}", "", "", ""])
    rows.append(
        ["  plain mixed_bfloat16 (img/s)", f"{plain16:.0f}", "", f"{plain16 / plain32:.2f}x", ""]
    )
    rows.append(
        [
            "  CNN Studio, automatic precision (img/s)",
            f"{plain32:.0f}",
            f"{studio:.0f}",
            f"{studio / plain32:.2f}x",
            "",
        ]
    )
    print(rows[-1], flush=True)
    if not args.quick:
        whole_command(rows)
        cache = DatasetCache()
        fashion = SHARED / "fashion-mnist"
        suites = [
            ("MNIST 60k/10k", mnist_dataset(mnist, "train"), mnist_dataset(mnist, "t10k")),
            (
                "Fashion-MNIST folders 15k/10k",
                load_dataset(fashion / "train", InputSpec(28), cache=cache),
                load_dataset(fashion / "test", InputSpec(28), cache=cache),
            ),
        ]
        for name, train, test in suites:
            full = studio_accuracy(train, test, "float32")
            half = studio_accuracy(train, test, "bfloat16")
            rows.append(
                [
                    f"{name}, defaults, test accuracy float32 vs bfloat16",
                    f"{full:.2%}",
                    f"{half:.2%}",
                    f"{(half - full) * 100:+.2f} pt",
                    ">= -0.3 pt",
                ]
            )
            print(rows[-1], flush=True)
    print()
    print_table(["measure", "plain Keras / float32", "CNN Studio", "ratio", "target"], rows)


if __name__ == "__main__":
    main()
