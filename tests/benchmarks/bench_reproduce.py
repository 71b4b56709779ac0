"""Benchmark: does ``reproduce.py`` (the plain Keras script of ``cnn-studio report``) train the
model the app trained?

Run on demand (a few minutes on a 2-core laptop):

    python3 -m tests.benchmarks.bench_reproduce [--per-class N] [--case fashion|photos|all]

Each case trains a model in the app with the settings it chooses for the data, writes its
report, runs the report's ``reproduce.py`` in a fresh Python that cannot import CNN Studio, and
prints one table: the validation accuracy of the app and of the script, how many validation
images the two models answer differently, and the time each took.

- fashion: a Fashion-MNIST subset (the first N training images of each class, copied);
- photos: the 400 clothing photos with the pretrained preset, trained in two runs (the head,
  then two epochs of fine-tuning the backbone, as "Continue training" does), which checks the
  pretrained weights, the feature path and a continued run's optimizer state.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.session import Session
from core.use.classify import Classifier
from tests.benchmarks.table import print_table

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
FASHION = SHARED / "fashion-mnist" / "train"
PHOTOS = SHARED / "photos" / "clothing-dataset-small"

#: A fresh Python in which CNN Studio cannot be imported, running the script as a user would.
GUARD = (
    "import runpy, sys; sys.modules.update(core=None, gui=None); "
    "sys.argv = ['reproduce.py']; runpy.run_path(sys.argv_script, run_name='__main__')"
)


def fashion_subset(folder: Path, per_class: int) -> Path:
    """The first ``per_class`` images of each Fashion-MNIST class, copied into ``folder``."""
    for source in sorted(p for p in FASHION.iterdir() if p.is_dir()):
        target = folder / source.name
        target.mkdir(parents=True)
        for path in sorted(source.iterdir())[:per_class]:
            shutil.copyfile(path, target / path.name)
    return folder


def train_fashion(session: Session, folder: Path) -> None:
    session.load_dataset(folder)
    advice = session.state().dataset.advice
    session.train(advice.config(), advice.preset, advice.augment)


def train_photos(session: Session, folder: Path) -> None:
    session.load_dataset(folder)
    advice = session.state().dataset.advice
    session.train(advice.config(), "photos-pretrained", augment=True)
    session.continue_training(advice.config(epochs=2, fine_tune=True))


def run_case(
    name: str, slug: str, folder: Path, train: Callable[[Session, Path], None], work: Path
) -> list[str]:
    """Train in the app, write the report, run its reproduce.py: one row of the table."""
    session = Session()
    start = time.perf_counter()
    train(session, folder)
    app_seconds = time.perf_counter() - start
    model_path = session.save(work / f"{slug}.cnnmodel")
    written = session.write_report(work / f"{slug}-report")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", GUARD.replace("sys.argv_script", repr(str(written.script)))],
        capture_output=True,
        text=True,
        cwd=work,
    )
    script_seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"reproduce.py failed for {name}:\n{done.stderr[-3000:]}")
    print("\n".join(line for line in done.stdout.splitlines() if "step" not in line), flush=True)
    figures = json.loads((written.folder / "reproduced.json").read_text())
    from core.nets.runtime import keras

    data = session.dataset
    assert data is not None
    val = [p for p, _ in read_val(model_path)]
    rows = [data.paths.index(p) for p in val]
    images = data.images[rows]
    ours = keras.models.load_model(written.folder / "reproduced.keras")
    mine = np.argmax(ours.predict(images.astype(np.float32), verbose=0), axis=1)
    theirs = np.argmax(Classifier.from_file(model_path).probabilities_in_batches(images), axis=1)
    differ = int((mine != theirs).sum())
    return [
        name,
        f"{len(data.labels):,}",
        f"{figures['app_accuracy']:.2%}",
        f"{figures['accuracy']:.2%}",
        f"{100 * (figures['accuracy'] - figures['app_accuracy']):+.2f}",
        f"{differ} of {len(val):,}",
        f"{app_seconds:.0f} s",
        f"{script_seconds:.0f} s",
    ]


def read_val(model_path: Path) -> list[list[str]]:
    from core.modelfile.bundle import read_bundle

    return read_bundle(model_path).files["val"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=1000, help="Fashion-MNIST images a class")
    parser.add_argument("--case", choices=("fashion", "photos", "all"), default="all")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-reproduce-") as temp:
        work = Path(temp)
        if args.case in ("fashion", "all"):
            if not FASHION.is_dir():
                raise SystemExit(f"needs Fashion-MNIST at {FASHION}")
            folder = fashion_subset(work / "fashion", args.per_class)
            name = f"Fashion-MNIST, {args.per_class} a class"
            rows.append(run_case(name, "fashion", folder, train_fashion, work))
        if args.case in ("photos", "all"):
            if not PHOTOS.is_dir():
                raise SystemExit(f"needs the clothing photos at {PHOTOS}")
            name = "clothing photos, pretrained + 2 epochs fine-tuning"
            rows.append(run_case(name, "photos", PHOTOS, train_photos, work))
    print_table(
        [
            "data",
            "images",
            "app accuracy",
            "reproduce.py accuracy",
            "difference (points)",
            "answers that differ",
            "app time",
            "script time",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
