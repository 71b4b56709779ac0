"""Benchmark: single-image latency and batch throughput, Classifier against model.predict.

Run on demand:  python3 -m tests.benchmarks.bench_predict
"""

from __future__ import annotations

import time

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


if __name__ == "__main__":
    main()
