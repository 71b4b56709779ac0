"""Reading MNIST's IDX files from ../shared/data/mnist (tests and benchmarks only)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np


def read_idx(path: Path) -> np.ndarray:
    data = gzip.decompress(path.read_bytes())
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(count, rows, cols, 1)
    if magic == 2049:
        return np.frombuffer(data, np.uint8, offset=8).astype(np.int32)
    raise ValueError(f"{path}: not an IDX image or label file")


def mnist_dataset(folder: Path, split: str, limit: int | None = None):
    """A :class:`core.data.dataset.LoadedDataset` of MNIST's ``train`` or ``t10k`` split."""
    from core.data.dataset import LoadedDataset
    from core.data.images import InputSpec

    images = read_idx(folder / f"{split}-images-idx3-ubyte.gz")[:limit]
    labels = read_idx(folder / f"{split}-labels-idx1-ubyte.gz")[:limit]
    paths = [f"{split}/{i}" for i in range(len(labels))]
    hashes = [f"{split}-{i}" for i in range(len(labels))]  # indices: MNIST has no duplicates
    return LoadedDataset(
        folder,
        InputSpec(28),
        [str(d) for d in range(10)],
        images.copy(),
        labels.copy(),
        paths,
        hashes,
    )
