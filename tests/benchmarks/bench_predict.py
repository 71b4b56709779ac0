"""Benchmark: single-image latency and batch throughput, Classifier against model.predict.

Run on demand:  python3 -m tests.benchmarks.bench_predict [--photos]

``--photos``: classifying one photo file as the app does (decode, centre square, 224 px, the
network), p50 and p99 over the 400 shared clothing photos, for both photos networks, against
``model.predict`` on the decoded input.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import core.nets.runtime  # noqa: F401  (sizes the thread pools as TensorFlow starts)
from core.data.images import InputSpec
from core.nets.models import ModelSpec, build_model
from core.use.classify import Classifier


def percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.array(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def main() -> None:
    spec = InputSpec(28)
    model = build_model(ModelSpec("article", spec, 10))
    classifier = Classifier(model, [str(i) for i in range(10)], spec)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10_000, *spec.shape), dtype=np.uint8)
    one = images[0]
    for _ in range(50):
        classifier.classify(one)
        model.predict(one[None].astype("float32"), verbose=0)
    ours, keras_times = [], []
    for i in range(1000):
        start = time.perf_counter()
        classifier.classify(images[i])
        ours.append(time.perf_counter() - start)
    for i in range(200):
        start = time.perf_counter()
        model.predict(images[i][None].astype("float32"), verbose=0)
        keras_times.append(time.perf_counter() - start)
    o50, o99 = percentiles(ours)
    k50, k99 = percentiles(keras_times)

    def batch_rate(fn) -> float:
        fn(images[:512])
        start = time.perf_counter()
        fn(images)
        return len(images) / (time.perf_counter() - start)

    ours_rate = batch_rate(
        lambda x: np.concatenate(
            [classifier.probabilities(x[i : i + 256]) for i in range(0, len(x), 256)]
        )
    )
    keras_rate = batch_rate(lambda x: model.predict(x.astype("float32"), batch_size=256, verbose=0))
    print("| measure | model.predict | Classifier | ratio | target |")
    print("|---|---|---|---|---|")
    print(
        f"| single image p50 (ms) | {k50:.2f} | {o50:.2f} | {k50 / o50:.1f}x faster | "
        "< 2 ms, >= 20x |"
    )
    print(f"| single image p99 (ms) | {k99:.2f} | {o99:.2f} | {k99 / o99:.1f}x faster | |")
    print(
        f"| batch of 10,000 (img/s) | {keras_rate:.0f} | {ours_rate:.0f} | "
        f"{ours_rate / keras_rate:.2f}x | |"
    )


PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "photos"


def photos() -> None:
    """One photo file at a time, as the app classifies a dropped photo."""
    from core.data.images import load_input
    from core.use.classify import Classifier as Classify

    files = sorted((PHOTOS / "clothing-dataset-small").glob("*/*.jpg"))
    if not files:
        raise SystemExit(f"needs the clothing photos in {PHOTOS}")
    spec = InputSpec(224, color=True, crop=True)
    print("| photos network | model.predict p50 (ms) | app p50 (ms) | app p99 (ms) | ratio |")
    print("|---|---|---|---|---|")
    for preset in ("photos", "photos-pretrained"):
        model = build_model(ModelSpec(preset, spec, 10), pretrained=True)
        classifier = Classify(model, [str(i) for i in range(10)], spec)
        for path in files[:20]:
            classifier.classify(path)
            model.predict(load_input(path, spec)[None].astype("float32"), verbose=0)
        app, keras_times = [], []
        for path in files:
            start = time.perf_counter()
            classifier.classify(path)  # the file, decoded and prepared as the app does
            app.append(time.perf_counter() - start)
        for path in files[:100]:
            start = time.perf_counter()
            model.predict(load_input(path, spec)[None].astype("float32"), verbose=0)
            keras_times.append(time.perf_counter() - start)
        a50, a99 = percentiles(app)
        k50, _ = percentiles(keras_times)
        print(f"| {preset} | {k50:.1f} | {a50:.1f} | {a99:.1f} | {k50 / a50:.1f}x faster |")
    features(files, spec)


def features(files: list[Path], spec: InputSpec) -> None:
    """Feature extraction (what training a head waits for), per image in batches of 32, in
    float32 and bfloat16, against ``model.predict`` of the same extractor."""
    from core.data.images import load_input
    from core.nets.models import extract_features, feature_extractor

    images = np.stack([load_input(path, spec) for path in files[:256]])
    print()
    print("| backbone | precision | model.predict (ms/img) | app (ms/img) | ratio |")
    print("|---|---|---|---|---|")
    for preset in ("photos", "photos-pretrained"):
        for precision in ("float32", "bfloat16"):
            model = build_model(ModelSpec(preset, spec, 10), pretrained=True, precision=precision)
            extractor = feature_extractor(model)
            extract_features(extractor, images[:64], batch=32)
            extractor.predict(images[:64].astype("float32"), batch_size=32, verbose=0)
            start = time.perf_counter()
            extract_features(extractor, images, batch=32)
            ours = (time.perf_counter() - start) / len(images) * 1000
            start = time.perf_counter()
            extractor.predict(images.astype("float32"), batch_size=32, verbose=0)
            theirs = (time.perf_counter() - start) / len(images) * 1000
            print(f"| {preset} | {precision} | {theirs:.1f} | {ours:.1f} | {theirs / ours:.2f}x |")


if __name__ == "__main__":
    photos() if "--photos" in sys.argv else main()
