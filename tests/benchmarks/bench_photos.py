"""Benchmark: accuracy on real photos, for each way a user could train on them.

Run on demand (about ten minutes on a 2-core laptop):

    python3 -m tests.benchmarks.bench_photos [--seeds N]

The 400 clothing photos (10 classes) in ../shared/data/photos, five stratified 80/20 splits
(seeds 0-4), accuracy on the held-out fifth, mean and standard deviation, with training time.
The baseline (ratio 1.00) is the article's CNN at the app's old defaults (28 px grayscale).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.data.images import InputSpec
from core.learn.config import TrainConfig
from core.session import Session
from tests.benchmarks.table import print_table

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "photos"
FOLDER = PHOTOS / "clothing-dataset-small"

Run = Callable[[Session, int], dict]


def scratch(preset: str, augment: bool) -> Run:
    def run(session: Session, seed: int) -> dict:
        return session.train(TrainConfig(seed=seed), preset, augment).evaluation

    return run


def pretrained(fine_tune_epochs: int = 0) -> Run:
    def run(session: Session, seed: int) -> dict:
        advice = session.state().dataset.advice
        summary = session.train(advice.config(seed=seed), "photos-pretrained", augment=True)
        if fine_tune_epochs:
            config = advice.config(seed=seed, epochs=fine_tune_epochs, fine_tune=True)
            summary = session.continue_training(config)
        return summary.evaluation

    return run


CASES: list[tuple[str, InputSpec, Run]] = [
    ("article CNN, 28 px grayscale (old defaults)", InputSpec(28), scratch("article", False)),
    ("article CNN, 64 px colour, augmentation", InputSpec(64, True), scratch("article", True)),
    (
        "article-pooled, 64 px colour, augmentation",
        InputSpec(64, True),
        scratch("article-pooled", True),
    ),
    ("deeper-bn, 64 px colour, augmentation", InputSpec(64, True), scratch("deeper-bn", True)),
    ("pretrained, head only (the app's choice)", InputSpec(224, True, crop=True), pretrained()),
    ("pretrained, head + 6 epochs fine-tuning", InputSpec(224, True, crop=True), pretrained(6)),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--only", help="run only the cases whose name contains this")
    args = parser.parse_args()
    if not FOLDER.is_dir():
        raise SystemExit(f"needs the clothing photos at {FOLDER}")
    rows = []
    baseline = None
    for name, spec, run in CASES:
        if args.only and args.only not in name:
            continue
        session = Session()
        session.load_dataset(FOLDER, spec)
        accuracies, seconds = [], []
        for seed in range(args.seeds):
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
