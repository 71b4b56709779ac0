"""Benchmark: peak memory and time of whole commands as the dataset grows (issue 26).

Run on demand (not part of the test suite; about 5 minutes at the default counts on a 2-core
machine, much longer for the big sets):

    python3 -m tests.benchmarks.bench_scale                         # 500 and 2,000 photos
    python3 -m tests.benchmarks.bench_scale --counts 1000,7000,30000 --fine-tune --mnist

What it measures. Every command runs as a whole process under ``/usr/bin/time -v`` (install the
``time`` package if it is missing), whose "Maximum resident set size" is the peak memory, with a
fresh ``XDG_CACHE_HOME`` and ``XDG_DATA_HOME`` per run so that no decoded image or backbone
feature cached by an earlier run hides the cost:

- ``python -m core train FOLDER --out M --json``: no preset given, so the app chooses the
  pretrained photos preset (EfficientNet-Lite0 features computed once, then the head). Its
  epochs are the app's own (60, patience 8) unless ``--epochs`` caps them: the head trains on cached
  features and costs seconds, so the cap hardly changes the time. The validation accuracy comes
  from the ``--json`` summary.
- ``python -m core predict M FOLDER --csv FILE`` with that model, on the same folder.
- ``--fine-tune`` adds ``train FOLDER --continue-from M --fine-tune --epochs N`` (N from
  ``--fine-tune-epochs``, default 1: each epoch runs the backbone forwards and backwards on
  every photo), on the sets of ``--fine-tune-counts`` (default: every set).
- ``--mnist`` adds ``train FOLDER --epochs N`` (N from ``--mnist-epochs``, default 1) on
  ``--mnist-count`` (default 100,000) 28 px MNIST PNGs: the app chooses the article's CNN.

The sets. ``shared`` is the 400 clothing photos of ``shared/data`` as they are (its accuracy is
the one to keep). The larger sets are made from them by code, in class folders, classes balanced:
photo ``i`` is variant ``i // 400`` of shared photo ``i % 400``, every one of them different from
the original: mirrored every other variant, turned by 2-5 degrees either way, cropped by 2-8 %
on each side (which also cuts off the corners the turn leaves empty) and resized back to the
photo's original size, saved as JPEG (quality 90). The MNIST set is MNIST's 70,000 train and
test images, then the same images shifted by one or two pixels. Generated sets are kept in
``~/.cache/cnn-studio-bench/`` (``--sets DIR`` elsewhere) and reused by later runs; they are
never written into the repository.

Targets (issue 26): train with the pretrained preset at most 2.5 GB at any count (asked for at
1,000, 7,000 and 30,000), ``predict --csv`` at most 2 GB (asked for at 30,000), fine-tuning at
most 3 GB (7,000), the article's CNN on 100,000 MNIST images at most 2 GB. GB here is 10^9 bytes.

No plain-Keras column: the other benchmarks compare against the script a user would write in
plain Keras, but for peak memory there is no equivalent doing the same work. A plain transfer-
learning script streams batches from disk with ``image_dataset_from_directory`` and runs the
backbone on every photo every epoch, with no cached features, no check for copies across the
split and no per-image report; its peak depends on the batch and the prefetch buffer, not on
the count, so a ratio against it would compare unlike jobs. The targets are absolute instead.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.benchmarks.table import print_table
from tests.mnist import read_idx

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PHOTOS = SHARED / "photos" / "clothing-dataset-small"
ROOT = Path(__file__).resolve().parents[2]
TIME = Path("/usr/bin/time")
DONE = ".complete"  # written last: a set without it was interrupted and is made again

TARGETS_GB = {"train": 2.5, "predict": 2.0, "fine-tune": 3.0, "mnist": 2.0}


@dataclass
class Measured:
    set_name: str
    images: int
    command: str
    peak_gb: float
    seconds: float
    target_gb: float
    accuracy: float | None = None


def default_sets_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cnn-studio-bench"


def shared_photos() -> list[Path]:
    """The 400 shared photos, round robin over the classes so that any prefix is balanced."""
    per_class = [sorted(d.glob("*.jpg")) for d in sorted(PHOTOS.iterdir()) if d.is_dir()]
    longest = max(len(files) for files in per_class)
    return [files[j] for j in range(longest) for files in per_class if j < len(files)]


def make_variant(job: tuple[Path, int, Path]) -> None:
    """Variant ``k`` of one photo: mirrored when ``k`` is even, turned 2-5 degrees, cropped 2-8 %
    a side, back at the original size, as JPEG."""
    source, k, target = job
    rng = random.Random(f"{source.name}-{k}")
    with Image.open(source) as image:
        rgb = image.convert("RGB")
    size = rgb.size
    if k % 2 == 0:
        rgb = rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    angle = rng.uniform(2.0, 5.0) * rng.choice((-1, 1))
    rgb = rgb.rotate(angle, resample=Image.Resampling.BICUBIC)
    w, h = size
    left, right = (round(w * rng.uniform(0.02, 0.08)) for _ in range(2))
    top, bottom = (round(h * rng.uniform(0.02, 0.08)) for _ in range(2))
    rgb = rgb.crop((left, top, w - right, h - bottom)).resize(size, Image.Resampling.BICUBIC)
    rgb.save(target, quality=90)


def photo_set(count: int, sets: Path) -> Path:
    """``count`` photos made from the shared ones (see the module docstring), reused when made."""
    folder = sets / f"photos-{count}"
    if (folder / DONE).exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    sources = shared_photos()
    jobs = []
    for i in range(count):
        source, k = sources[i % len(sources)], i // len(sources)
        out = folder / source.parent.name
        out.mkdir(parents=True, exist_ok=True)
        jobs.append((source, k, out / f"{source.stem}-{k:03d}.jpg"))
    start = time.perf_counter()
    with multiprocessing.Pool(os.cpu_count() or 1) as pool:
        pool.map(make_variant, jobs, chunksize=64)
    (folder / DONE).touch()
    print(f"made {count} photos in {time.perf_counter() - start:.0f} s: {folder}", flush=True)
    return folder


def mnist_set(count: int, sets: Path) -> Path:
    """``count`` MNIST PNGs in class folders: the 70,000 images, then shifted copies."""
    folder = sets / f"mnist-{count}"
    if (folder / DONE).exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    mnist = SHARED / "mnist"
    images = np.concatenate(
        [read_idx(mnist / f"{s}-images-idx3-ubyte.gz")[:, :, :, 0] for s in ("train", "t10k")]
    )
    labels = np.concatenate(
        [read_idx(mnist / f"{s}-labels-idx1-ubyte.gz") for s in ("train", "t10k")]
    )
    shifts = [(dy, dx) for dy in (-2, -1, 0, 1, 2) for dx in (-2, -1, 0, 1, 2) if dy or dx]
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for label in range(10):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        pixels = images[i % len(images)]
        if i >= len(images):  # a shifted copy: the digit stays whole, MNIST has a blank border
            dy, dx = shifts[rng.integers(len(shifts))]
            pixels = np.roll(pixels, (dy, dx), axis=(0, 1))
        name = folder / str(int(labels[i % len(images)])) / f"{i:06d}.png"
        Image.fromarray(np.ascontiguousarray(pixels)).save(name)
    (folder / DONE).touch()
    print(f"made {count} MNIST PNGs in {time.perf_counter() - start:.0f} s: {folder}", flush=True)
    return folder


def warm_page_cache(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def measure(args: list[str], work: Path) -> tuple[float, float, str]:
    """Peak resident memory (GB) and wall seconds of ``python -m core ARGS`` as a fresh process
    with empty cache and data folders, and its stdout."""
    run = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(run / "cache"),
        "XDG_DATA_HOME": str(run / "data"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    command = [str(TIME), "-v", sys.executable, "-m", "core", *args]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    shutil.rmtree(run, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(args)}\n{done.stderr[-3000:]}")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no peak memory in /usr/bin/time's output:\n{done.stderr[-2000:]}")
    return int(found.group(1)) * 1024 / 1e9, seconds, done.stdout


def validation_accuracy(stdout: str) -> float | None:
    return json.loads(stdout).get("validation", {}).get("accuracy")


def bench_photos(
    name: str, folder: Path, images: int, args: argparse.Namespace, work: Path
) -> list[Measured]:
    warm_page_cache(folder)
    model = work / f"{name}.cnnmodel"
    epochs = ["--epochs", str(args.epochs)] if args.epochs else []
    train = ["train", str(folder), "--out", str(model), "--overwrite", "--json", *epochs]
    rows = []
    peak, seconds, stdout = measure(train, work)
    rows.append(
        Measured(
            name, images, "train", peak, seconds, TARGETS_GB["train"], validation_accuracy(stdout)
        )
    )
    print(rows[-1], flush=True)
    predict = ["predict", str(model), str(folder), "--csv", str(work / f"{name}.csv"), "-q"]
    peak, seconds, _ = measure(predict, work)
    rows.append(Measured(name, images, "predict --csv", peak, seconds, TARGETS_GB["predict"]))
    print(rows[-1], flush=True)
    if args.fine_tune and (not args.fine_tune_counts or images in args.fine_tune_counts):
        tuned = ["train", str(folder), "--continue-from", str(model), "--fine-tune", "--json"]
        tuned += [
            "--epochs",
            str(args.fine_tune_epochs),
            "--out",
            str(work / f"{name}-ft.cnnmodel"),
        ]
        peak, seconds, stdout = measure([*tuned, "--overwrite"], work)
        rows.append(
            Measured(
                name,
                images,
                f"train --fine-tune ({args.fine_tune_epochs} epoch)",
                peak,
                seconds,
                TARGETS_GB["fine-tune"],
                validation_accuracy(stdout),
            )
        )
        print(rows[-1], flush=True)
    return rows


def counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=counts, default=[500, 2000], help="generated photo sets")
    parser.add_argument("--no-shared", action="store_true", help="skip the 400 shared photos")
    parser.add_argument("--epochs", type=int, default=None, help="cap the head's epochs")
    parser.add_argument("--fine-tune", action="store_true", help="also measure --fine-tune")
    parser.add_argument("--fine-tune-epochs", type=int, default=1)
    parser.add_argument("--fine-tune-counts", type=counts, default=[], help="default: every set")
    parser.add_argument("--mnist", action="store_true", help="also train on MNIST PNGs")
    parser.add_argument("--mnist-count", type=int, default=100_000)
    parser.add_argument("--mnist-epochs", type=int, default=1)
    parser.add_argument("--sets", type=Path, default=None, help="where generated sets are kept")
    args = parser.parse_args()
    if not TIME.exists():
        raise SystemExit("/usr/bin/time is missing: install the `time` package")
    sets = args.sets or default_sets_dir()
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rows: list[Measured] = []
    started = time.perf_counter()
    try:
        if not args.no_shared:
            rows += bench_photos("shared", PHOTOS, 400, args, work)
        for count in args.counts:
            rows += bench_photos(f"photos-{count}", photo_set(count, sets), count, args, work)
        if args.mnist:
            folder = mnist_set(args.mnist_count, sets)
            warm_page_cache(folder)
            command = ["train", str(folder), "--json", "--epochs", str(args.mnist_epochs)]
            command += ["--out", str(work / "mnist.cnnmodel"), "--overwrite"]
            peak, seconds, stdout = measure(command, work)
            rows.append(
                Measured(
                    f"mnist-{args.mnist_count}",
                    args.mnist_count,
                    f"train, article's CNN ({args.mnist_epochs} epoch)",
                    peak,
                    seconds,
                    TARGETS_GB["mnist"],
                    validation_accuracy(stdout),
                )
            )
            print(rows[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nwhole benchmark: {time.perf_counter() - started:.0f} s\n")
    print_table(
        [
            "set",
            "images",
            "command",
            "peak RSS (GB)",
            "wall time (s)",
            "ms per image",
            "target",
            "validation accuracy",
        ],
        [
            [
                r.set_name,
                f"{r.images:,}",
                f"`{r.command}`",
                f"{r.peak_gb:.2f}",
                f"{r.seconds:.1f}",
                f"{r.seconds / r.images * 1000:.1f}",
                f"<= {r.target_gb:g} GB {'(met)' if r.peak_gb <= r.target_gb else '(not met)'}",
                "" if r.accuracy is None else f"{r.accuracy:.1%}",
            ]
            for r in rows
        ],
    )


if __name__ == "__main__":
    main()
