"""Benchmark: accuracy on real photos, for each way a user could train on them.

Run on demand (about fifteen minutes on a 2-core laptop):

    python3 -m tests.benchmarks.bench_photos [--seeds N] [--only TEXT]
    python3 -m tests.benchmarks.bench_photos --learning-curve [--seeds N]
    python3 -m tests.benchmarks.bench_photos --versus-keras [--seeds N]

The 400 clothing photos (10 classes) in ../shared/data/photos, five stratified 80/20 splits,
accuracy on the held-out fifth, mean and standard deviation, with training time. The splits
are scikit-learn's ``StratifiedShuffleSplit(5, test_size=0.2, random_state=0)`` (install the
``bench`` extra), the ones issue 25's figures were measured on; each is given to the app as a
``train/`` + ``valid/`` folder (copies in a temporary folder: the app does not follow
symbolic links), so the app validates on exactly that fifth.
``--app-splits`` uses the app's own random validation split (seeds 0-4) instead. The baseline
(ratio 1.00) is the article's CNN at the app's old defaults (28 px grayscale).

``--learning-curve``: the app's choice (EfficientNet-Lite0 head) on each split, with its
learning curve (a head refitted on 25, 50, 75 and 100 % of the training images).

``--versus-keras``: whole processes, timed, against what a user would write instead (Keras's
transfer-learning recipe, :mod:`tests.benchmarks.keras_recipe`): each seed splits the photos
into a training folder (80 %) and a test folder (20 %) that neither tool sees while training.
The recipe trains and scores the test folder in one process; so does ``cnn-studio train`` on
the folder holding both (a ``test/`` folder is scored once, after training); and, as a second
way, ``cnn-studio train`` on the training folder then ``cnn-studio evaluate`` (two processes,
each starting TensorFlow). Each CNN Studio way runs cold (an empty cache), then warm. The
recipe is the baseline (ratio 1.00).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.assets import MOBILENET_V2_WEIGHTS, asset_path
from core.data.images import InputSpec
from core.learn.config import TrainConfig
from core.plain import learning_curve_in_words
from core.session import Session
from tests.benchmarks.table import print_table

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "photos"
FOLDER = PHOTOS / "clothing-dataset-small"

Run = Callable[[Session, int], dict]


def scratch(preset: str, augment: bool) -> Run:
    def run(session: Session, seed: int) -> dict:
        return session.train(TrainConfig(seed=seed), preset, augment).evaluation

    return run


def pretrained(preset: str, fine_tune_epochs: int = 0) -> Run:
    def run(session: Session, seed: int) -> dict:
        advice = session.state().dataset.advice
        summary = session.train(advice.config(seed=seed), preset, augment=True)
        if fine_tune_epochs:
            config = advice.config(seed=seed, epochs=fine_tune_epochs, fine_tune=True)
            summary = session.continue_training(config)
        return summary.evaluation

    return run


PHOTO_INPUT = InputSpec(224, True, crop=True)

CASES: list[tuple[str, InputSpec, Run]] = [
    ("article CNN, 28 px grayscale (old defaults)", InputSpec(28), scratch("article", False)),
    ("article CNN, 64 px colour, augmentation", InputSpec(64, True), scratch("article", True)),
    (
        "article-pooled, 64 px colour, augmentation",
        InputSpec(64, True),
        scratch("article-pooled", True),
    ),
    ("deeper-bn, 64 px colour, augmentation", InputSpec(64, True), scratch("deeper-bn", True)),
    (
        "EfficientNet-Lite0, head only (the app's choice)",
        PHOTO_INPUT,
        pretrained("photos"),
    ),
    (
        "EfficientNet-Lite0, head + 6 epochs fine-tuning",
        PHOTO_INPUT,
        pretrained("photos", 6),
    ),
    ("MobileNetV2 α 0.35, head only", PHOTO_INPUT, pretrained("photos-pretrained")),
    (
        "MobileNetV2 α 0.35, head + 6 epochs fine-tuning",
        PHOTO_INPUT,
        pretrained("photos-pretrained", 6),
    ),
]


def learning_curves(seeds: int) -> None:
    """The app's choice on each split, with its learning curve: mean accuracy per share."""
    session = Session()
    session.load_dataset(FOLDER, PHOTO_INPUT)
    advice = session.state().dataset.advice
    curves = []
    for seed in range(seeds):
        summary = session.train(advice.config(seed=seed), "photos")
        curve = summary.learning_curve
        curves.append(curve)
        print(f"seed {seed}: {[(n, round(a, 3)) for n, a in curve]}", flush=True)
    rows = []
    for k, share in enumerate(("25 %", "50 %", "75 %", "100 %")):
        accuracies = [curve[k][1] for curve in curves]
        images = curves[0][k][0]
        rows.append([share, str(images), f"{np.mean(accuracies):.1%} ± {np.std(accuracies):.1%}"])
    print_table(["share of the training images", "images", "validation accuracy"], rows)
    mean_curve = [(curves[0][k][0], float(np.mean([c[k][1] for c in curves]))) for k in range(4)]
    print(learning_curve_in_words(mean_curve))


def split_folders(root: Path, seed: int) -> tuple[Path, Path]:
    """The photos as a training folder (80 %) and a test folder (20 %, stratified), copied
    into ``root``."""
    rng = np.random.default_rng(seed)
    train, test = root / "train", root / "test"
    for folder in sorted(p for p in FOLDER.iterdir() if p.is_dir()):
        photos = sorted(folder.iterdir())
        held = set(rng.permutation(len(photos))[: len(photos) // 5].tolist())
        for i, photo in enumerate(photos):
            target = (test if i in held else train) / folder.name / photo.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, target)
    return train, test


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def versus_keras(seeds: int) -> None:
    """Whole processes on photos neither tool saw: the recipe, and CNN Studio both ways a user
    can score a test folder (``train`` on a folder holding ``train/`` and ``test/``, which
    scores the test images once in the same process; or ``train`` then ``evaluate``), each
    with an empty cache and then warm."""
    weights = str(asset_path(MOBILENET_V2_WEIGHTS))
    app = [sys.executable, "-m", "core"]
    names = {
        "recipe": "Keras transfer-learning recipe (MobileNetV2 α 0.35, 10 epochs), one process",
        "one-cold": "CNN Studio, train with a test/ folder, one process, empty cache",
        "one-warm": "CNN Studio, train with a test/ folder, one process, warm cache",
        "two-cold": "CNN Studio, train then evaluate (two processes), empty cache",
        "two-warm": "CNN Studio, train then evaluate (two processes), warm cache",
    }
    results: dict[str, list[tuple[float, float]]] = {key: [] for key in names}
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "photos"
            train, test = split_folders(root, seed)
            recipe = [sys.executable, "-m", "tests.benchmarks.keras_recipe"]
            env = dict(os.environ, XDG_CACHE_HOME=str(Path(tmp) / "recipe-cache"))
            seconds, out = _timed([*recipe, str(train), str(test), weights, str(seed)], env)
            results["recipe"].append((seconds, json.loads(out.splitlines()[-1])["accuracy"]))
            for way in ("one", "two"):
                env = dict(os.environ, XDG_CACHE_HOME=str(Path(tmp) / f"{way}-cache"))
                for run in ("cold", "warm"):  # the second run finds the first's cache
                    model = Path(tmp) / f"{way}-{run}.cnnmodel"
                    if way == "one":  # root holds train/ and test/: test scored in the run
                        command = [*app, "train", str(root), "--out", str(model), "--json"]
                        seconds, out = _timed(command, env)
                        accuracy = json.loads(out)["test"]["accuracy"]
                    else:
                        command = [*app, "train", str(train), "--out", str(model), "-q"]
                        trained, _ = _timed(command, env)
                        command = [*app, "evaluate", str(model), str(test), "--json"]
                        scored, out = _timed(command, env)
                        seconds, accuracy = trained + scored, json.loads(out)["accuracy"]
                    results[f"{way}-{run}"].append((seconds, accuracy))
        print(f"seed {seed}: {results}", flush=True)
    base_time = np.median([t for t, _ in results["recipe"]])
    base_accuracy = np.mean([a for _, a in results["recipe"]])
    rows = []
    for key, name in names.items():
        seconds = float(np.median([t for t, _ in results[key]]))
        accuracy = float(np.mean([a for _, a in results[key]]))
        rows.append(
            [
                name,
                f"{seconds:.1f} s",
                f"{base_time / seconds:.2f}x",
                f"{accuracy:.1%} ± {np.std([a for _, a in results[key]]):.1%}",
                f"{(accuracy - base_accuracy) * 100:+.1f} points",
            ]
        )
    print_table(
        ["what", "time (median)", "speed vs recipe", "accuracy on unseen photos", "vs recipe"],
        rows,
    )


def issue_splits(root: Path) -> list[Path]:
    """The five splits issue 25 measured on, each as a folder with ``train/`` and ``valid/``
    class folders holding copies of the photos (the scan skips symbolic links)."""
    from sklearn.model_selection import StratifiedShuffleSplit

    photos = sorted(p for p in FOLDER.glob("*/*") if p.is_file())
    classes = sorted({p.parent.name for p in photos})
    labels = np.array([classes.index(p.parent.name) for p in photos])
    splitter = StratifiedShuffleSplit(5, test_size=0.2, random_state=0)
    folders = []
    for k, (train, valid) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        for part, rows in (("train", train), ("valid", valid)):
            for i in rows:
                target = root / f"split{k}" / part / photos[i].parent.name / photos[i].name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(photos[i], target)
        folders.append(root / f"split{k}")
    return folders


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--app-splits", action="store_true", help="the app's own random splits")
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--learning-curve", action="store_true", help="the learning curve table")
    parser.add_argument("--versus-keras", action="store_true", help="against Keras's recipe")
    args = parser.parse_args()
    if not FOLDER.is_dir():
        raise SystemExit(f"needs the clothing photos at {FOLDER}")
    if args.learning_curve:
        learning_curves(args.seeds)
        return
    if args.versus_keras:
        versus_keras(args.seeds)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folders = [FOLDER] * args.seeds if args.app_splits else issue_splits(Path(tmp))
        compare(folders[: args.seeds], args.only)


def compare(folders: list[Path], only: str | None) -> None:
    """Each case on each split folder (seed k on the k-th): the table of accuracies."""
    rows = []
    baseline = None
    for name, spec, run in CASES:
        if only and only not in name:
            continue
        session = Session()
        accuracies, seconds = [], []
        for seed, folder in enumerate(folders):
            if seed == 0 or folder != folders[seed - 1]:
                session.load_dataset(folder, spec)
            start = time.perf_counter()
            accuracies.append(run(session, seed)["accuracy"])
            seconds.append(time.perf_counter() - start)
        mean = float(np.mean(accuracies))
        baseline = baseline or mean
        rows.append(
            [
                name,
                f"{mean:.1%} ± {np.std(accuracies):.1%}",
                f"{mean / baseline:.2f}x",
                f"{np.median(seconds):.1f} s",
            ]
        )
        print(f"{name}: {[round(a, 3) for a in accuracies]}", flush=True)
    print_table(["how it is trained", "held-out accuracy (5 splits)", "vs baseline", "time"], rows)


if __name__ == "__main__":
    main()
