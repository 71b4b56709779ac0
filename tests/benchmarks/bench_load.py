"""Benchmark: loading image folders, CNN Studio against keras.utils.image_dataset_from_directory.

Run on demand (not part of the test suite):

    python3 -m tests.benchmarks.bench_load [--phone-count 100]

Prints one table with, per dataset, the seconds taken by Keras, CNN Studio cold (decode and
write the cache) and CNN Studio from cache, and the ratios against Keras in the same run
(target: a cached load at least 10x faster than Keras at 15k and at 100k files). The page cache
is warmed first so that every contender reads files from memory. A second table times training
the pretrained preset's head on 1,000 photos with a cold and a warm feature cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.cache import DatasetCache
from core.data.dataset import load_dataset
from core.data.images import InputSpec
from tests.benchmarks.table import print_table
from tests.mnist import read_idx

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def warm_page_cache(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def keras_load(folder: Path, spec: InputSpec) -> int:
    import keras

    dataset = keras.utils.image_dataset_from_directory(
        folder,
        image_size=(spec.size, spec.size),
        color_mode="rgb" if spec.color else "grayscale",
        batch_size=256,
        shuffle=False,
        verbose=False,
    )
    return sum(int(x.shape[0]) for x, _ in dataset)


def studio_load(folder: Path, spec: InputSpec, cache: DatasetCache | None) -> int:
    return len(load_dataset(folder, spec, cache=cache))


def make_phone_photos(source: Path, target: Path, per_class: int) -> Path:
    """Upscale real photos to about 3000x4000 and save them as JPEGs (phone-camera size)."""
    for class_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        out = target / class_dir.name
        out.mkdir(parents=True, exist_ok=True)
        for photo in sorted(class_dir.glob("*.jpg"))[:per_class]:
            with Image.open(photo) as image:
                w, h = image.size
                size = (3000, 4000) if h >= w else (4000, 3000)
                image.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(
                    out / photo.name, quality=90
                )
    return target


def make_mnist_pngs(target: Path, count: int) -> Path:
    """``count`` MNIST PNGs in class folders (train, then test, then train mirrored)."""
    mnist = SHARED / "mnist"
    images = np.concatenate(
        [read_idx(mnist / f"{s}-images-idx3-ubyte.gz") for s in ("train", "t10k")]
    )
    labels = np.concatenate(
        [read_idx(mnist / f"{s}-labels-idx1-ubyte.gz") for s in ("train", "t10k")]
    )
    for i in range(count):
        pixels = images[i % len(images), :, :, 0]
        if i >= len(images):
            pixels = pixels[:, ::-1]  # a different picture, not a duplicate
        folder = target / str(int(labels[i % len(images)]))
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(pixels)).save(folder / f"{i:06d}.png")
    return target


def make_thousand_photos(source: Path, target: Path) -> Path:
    """1,000 distinct photos (100 a class) from the 400 clothing photos: each original, its
    mirror image and a zoomed crop of each."""
    for class_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        out = target / class_dir.name
        out.mkdir(parents=True, exist_ok=True)
        made = 0
        for photo in sorted(class_dir.glob("*.jpg")):
            with Image.open(photo) as image:
                rgb = image.convert("RGB")
            w, h = rgb.size
            crop = rgb.crop((w // 10, h // 10, w - w // 10, h - h // 10))
            for k, variant in enumerate(
                (rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT), crop)
            ):
                if made < 100:
                    variant.save(out / f"{photo.stem}-{k}.jpg", quality=92)
                    made += 1
    return target


def bench_head(rows: list[list[str]]) -> None:
    """Training the pretrained head on 1,000 photos: first run (features computed) and a
    second run on a warm feature cache, both from a warm decoded-image cache."""
    from core.learn.config import TrainConfig
    from core.session import Session

    photos = SHARED / "photos" / "clothing-dataset-small"
    work = Path(tempfile.mkdtemp(prefix="bench-head-"))
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")
    try:
        folder = make_thousand_photos(photos, work / "photos1000")
        session = Session()
        session.load_dataset(folder)  # decoded and cached at the input chosen for photos
        times = []
        for _ in range(2):
            start = time.perf_counter()
            session.train(TrainConfig(epochs=60, batch_size=32, patience=8), "photos-pretrained")
            times.append(time.perf_counter() - start)
        accuracy = session.state().model.evaluation["accuracy"]
    finally:
        if previous is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = previous
        shutil.rmtree(work, ignore_errors=True)
    rows.append(
        [
            "pretrained head, 1,000 photos",
            f"{times[0]:.1f}",
            f"{times[1]:.1f}",
            f"{accuracy:.1%}",
        ]
    )
    print(" | ".join(rows[-1]), flush=True)


def bench(name: str, folder: Path, spec: InputSpec, rows: list[list[str]]) -> None:
    warm_page_cache(folder)
    n = keras_load(folder, spec)  # warm TensorFlow up; not timed
    keras_s = timed(lambda: keras_load(folder, spec))
    cache_dir = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    try:
        cold_s = timed(lambda: studio_load(folder, spec, DatasetCache(cache_dir)))
        cached_s = min(
            timed(lambda: studio_load(folder, spec, DatasetCache(cache_dir))) for _ in range(3)
        )
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    rows.append(
        [
            name,
            str(n),
            f"{spec.size}x{spec.size} {'RGB' if spec.color else 'gray'}",
            f"{keras_s:.2f}",
            f"{cold_s:.2f}",
            f"{cached_s:.3f}",
            f"{keras_s / cold_s:.2f}x",
            f"{keras_s / cached_s:.1f}x",
        ]
    )
    print(" | ".join(rows[-1]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phone-count", type=int, default=10, help="phone photos per class")
    parser.add_argument("--large", type=int, default=100_000, help="files in the large set")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    rows: list[list[str]] = []
    photos = SHARED / "photos" / "clothing-dataset-small"
    bench("Fashion-MNIST train PNGs", SHARED / "fashion-mnist" / "train", InputSpec(28), rows)
    bench("Fashion-MNIST test PNGs", SHARED / "fashion-mnist" / "test", InputSpec(28), rows)
    large = Path(tempfile.mkdtemp(prefix="bench-large-"))
    try:
        make_mnist_pngs(large, args.large)
        bench(f"MNIST PNGs, {args.large:,} files", large, InputSpec(28), rows)
    finally:
        shutil.rmtree(large, ignore_errors=True)
    bench("clothing photos", photos, InputSpec(64, color=True), rows)
    phone_dir = Path(tempfile.mkdtemp(prefix="bench-phone-"))
    try:
        make_phone_photos(photos, phone_dir, args.phone_count)
        bench("phone-size JPEGs (3000x4000)", phone_dir, InputSpec(64, color=True), rows)
    finally:
        shutil.rmtree(phone_dir, ignore_errors=True)
    header = [
        "dataset",
        "images",
        "input",
        "Keras s",
        "Studio cold s",
        "Studio cached s",
        "cold speed-up",
        "cached speed-up",
    ]
    print()
    print_table(header, rows)
    head_rows: list[list[str]] = []
    bench_head(head_rows)
    print()
    print_table(
        ["training", "first run s (features computed)", "warm feature cache s", "accuracy"],
        head_rows,
    )


if __name__ == "__main__":
    main()
