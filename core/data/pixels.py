"""A dataset's decoded pixels in memory or on disk, read a few rows at a time.

A dataset of 28 px digits is small (100,000 images take 78 MB) and lives in memory as one
uint8 array, as it always did. Photos decoded at 224x224x3 take 150 KB each: 30,000 of them
would take 4.5 GB, more than a laptop has to spare. Above :data:`IN_MEMORY_BYTES` (about 850
such photos) the pixels go to a file instead (:class:`PixelSink` writes each decoded image to
its row as it arrives, so a load never holds more than a chunk), and :class:`DiskPixels` reads
rows back on demand: the thumbnail grid one row at a time, feature extraction, scoring and
training a batch at a time.

:class:`DiskPixels` answers ``len``, ``shape``, ``dtype`` and numpy-style indexing (an int gives
one image, a slice or an index array gives an ndarray of those rows), so code that reads a batch
with ``images[i : i + n]`` works unchanged on either kind. What must not materialise the whole
dataset asks for a lazy subset with :func:`take` instead of ``images[rows]``. Every store
records the most rows it was asked for at once (:attr:`PixelFile.largest_read`), so a test can
prove that no step read the whole dataset.

The file is written once and never changed afterwards (an edit adds rows in memory on top of it,
:meth:`DiskPixels.plus`), so several stores can read it from several threads at once; each read
seeks and reads under the file's lock. A file that the decoded-image cache adopted
(:mod:`core.data.cache`) stays as the cache; any other is removed when the last store using it is
gone. Needs only NumPy.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np

#: Decoded pixels up to this size stay in memory; larger datasets are kept in a file.
IN_MEMORY_BYTES = 128 * 1024**2
#: Whole-dataset passes (hashing, copying) read this many bytes of rows at a time.
CHUNK_BYTES = 32 * 1024**2

_names = itertools.count()


def chunk_rows(row_bytes: int, budget: int = CHUNK_BYTES) -> int:
    """How many rows of ``row_bytes`` each fit in ``budget`` bytes (at least one)."""
    return max(1, budget // max(row_bytes, 1))


class PixelFile:
    """One file of fixed-size uint8 rows, read (and, while it is being filled, written) by row.

    The file is removed when this object is garbage collected unless :meth:`keep` was called
    (the cache adopted it). Thread-safe: every read and write holds :attr:`lock`.
    """

    def __init__(self, path: Path, rows: int, shape: tuple[int, ...], create: bool) -> None:
        self.path = Path(path)
        self.rows = rows
        self.shape = tuple(shape)
        self.row_bytes = int(np.prod(self.shape, dtype=np.int64))
        self.lock = threading.Lock()
        #: The most rows one read asked for: tests check that no step read everything at once.
        self.largest_read = 0
        mode = "w+b" if create else "rb"
        self._handle = open(self.path, mode)  # noqa: SIM115 - closed by the finalizer
        if create:
            self._handle.truncate(rows * self.row_bytes)  # sparse where the system allows
        self._finalizer = weakref.finalize(self, _close, self._handle, self.path, create)

    @classmethod
    def create(cls, folder: Path | None, rows: int, shape: tuple[int, ...]) -> PixelFile:
        """A new file of ``rows`` zero rows in ``folder`` (the system's temporary folder by
        default), removed again when no longer used."""
        where = Path(folder) if folder is not None else Path(tempfile.gettempdir())
        where.mkdir(parents=True, exist_ok=True)
        name = f".pixels-{os.getpid()}-{next(_names)}-{os.urandom(4).hex()}.tmp"
        return cls(where / name, rows, shape, create=True)

    def keep(self, path: Path) -> None:
        """Rename the file to ``path`` and keep it there after this object is gone."""
        with self.lock:
            self._handle.flush()
            self.path.replace(path)
            self.path = Path(path)
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _close, self._handle, self.path, False)

    def write(self, row: int, pixels: np.ndarray) -> None:
        """Write one image (or consecutive images from ``row`` on)."""
        data = np.ascontiguousarray(pixels, dtype=np.uint8)
        if data.size % self.row_bytes or not 0 <= row <= self.rows - data.size // self.row_bytes:
            raise ValueError(f"pixels of shape {pixels.shape} do not fit at row {row}")
        with self.lock:
            self._handle.seek(row * self.row_bytes)
            self._handle.write(memoryview(data).cast("B"))

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The images at file rows ``rows`` (in that order), as a new array."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), *self.shape), np.uint8)
        if not len(rows):
            return out
        if rows.min() < 0 or rows.max() >= self.rows:
            raise IndexError(f"row out of range 0..{self.rows - 1}")
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        # Runs of consecutive rows are read with one call each.
        breaks = np.flatnonzero(np.diff(ordered) != 1) + 1
        flat = out.reshape(len(rows), self.row_bytes)
        with self.lock:
            self.largest_read = max(self.largest_read, len(rows))
            for run in np.split(np.arange(len(ordered)), breaks):
                first, count = int(ordered[run[0]]), len(run)
                self._handle.seek(first * self.row_bytes)
                buffer = np.empty((count, self.row_bytes), np.uint8)
                if self._handle.readinto(memoryview(buffer).cast("B")) != buffer.nbytes:
                    raise OSError(f"{self.path}: the pixel file is shorter than it should be")
                flat[order[run]] = buffer
        return out

    def flush(self) -> None:
        with self.lock:
            self._handle.flush()


def _close(handle: Any, path: Path, remove: bool) -> None:
    handle.close()
    if remove:
        with contextlib.suppress(OSError):
            path.unlink()


class DiskPixels:
    """Images of a :class:`PixelFile`: row ``i`` is file row ``rows[i]``, followed by the
    images of ``extra`` (kept in memory: the few an edit added)."""

    dtype = np.dtype(np.uint8)

    def __init__(
        self, source: PixelFile, rows: np.ndarray | None = None, extra: np.ndarray | None = None
    ) -> None:
        self.source = source
        self.rows = np.arange(source.rows) if rows is None else np.asarray(rows, np.int64)
        self.extra = extra if extra is not None else np.zeros((0, *source.shape), np.uint8)

    def __len__(self) -> int:
        return len(self.rows) + len(self.extra)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self.source.shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.source.shape)

    @property
    def nbytes(self) -> int:
        return len(self) * self.source.row_bytes

    def _positions(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):
            return np.arange(len(self))[key]
        key = np.asarray(key)
        if key.dtype == bool:
            if key.shape != (len(self),):
                raise IndexError("a boolean index must have one value per image")
            return np.flatnonzero(key)
        positions = key.astype(np.int64, copy=False).ravel()
        if len(positions) and (positions.min() < -len(self) or positions.max() >= len(self)):
            raise IndexError(f"index out of range for {len(self)} images")
        return np.where(positions < 0, positions + len(self), positions)

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            index = int(key) + len(self) if key < 0 else int(key)
            if not 0 <= index < len(self):
                raise IndexError(f"index {key} out of range for {len(self)} images")
            return self._read(np.array([index]))[0]
        if isinstance(key, tuple):
            return self[key[0]][(slice(None), *key[1:])]
        return self._read(self._positions(key))

    def _read(self, positions: np.ndarray) -> np.ndarray:
        stored = positions < len(self.rows)
        if stored.all():
            return self.source.read(self.rows[positions])
        out = np.empty((len(positions), *self.source.shape), np.uint8)
        out[stored] = self.source.read(self.rows[positions[stored]])
        out[~stored] = self.extra[positions[~stored] - len(self.rows)]
        return out

    def take(self, positions: np.ndarray) -> DiskPixels:
        """A lazy subset: image ``i`` of the result is image ``positions[i]`` of this one."""
        positions = self._positions(positions)
        stored = positions < len(self.rows)
        if stored.all():
            return DiskPixels(self.source, self.rows[positions])
        if not stored[: stored.sum()].all():  # extra rows before stored ones: keep the order
            return DiskPixels(self.source, np.zeros(0, np.int64), self._read(positions))
        extra = self.extra[positions[~stored] - len(self.rows)]
        return DiskPixels(self.source, self.rows[positions[stored]], extra)

    def plus(self, images: np.ndarray) -> DiskPixels:
        """These images followed by ``images`` (held in memory)."""
        return DiskPixels(self.source, self.rows, np.concatenate([self.extra, images]))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Every image at once: only for callers that know the dataset is small."""
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)


#: What a dataset's ``images`` is: an array in memory or rows in a file.
Pixels = np.ndarray | DiskPixels


def take(images: Pixels, rows: np.ndarray) -> Pixels:
    """The images at ``rows``: a copy for an array in memory, a lazy subset for a file."""
    if isinstance(images, DiskPixels):
        return images.take(rows)
    return images[rows]


def in_chunks(images: Pixels, budget: int = CHUNK_BYTES) -> Any:
    """(start, images[start : start + n]) over the whole of ``images``, ``budget`` bytes a piece."""
    step = chunk_rows(int(np.prod(images.shape[1:], dtype=np.int64)), budget)
    for start in range(0, len(images), step):
        yield start, images[start : start + step]


class PixelSink:
    """Collects the decoded images of a load by entry: in memory when the whole dataset is at
    most :data:`IN_MEMORY_BYTES`, else straight into a :class:`PixelFile` in ``folder``."""

    def __init__(
        self, total: int, shape: tuple[int, ...], folder: Path | None, limit: int | None = None
    ) -> None:
        self.shape = tuple(shape)
        self.total = total
        row_bytes = int(np.prod(self.shape, dtype=np.int64))
        self.file: PixelFile | None = None
        self.array: np.ndarray | None = None
        if total * row_bytes > (IN_MEMORY_BYTES if limit is None else limit):
            self.file = PixelFile.create(folder, total, self.shape)
        else:
            self.array = np.zeros((total, *self.shape), np.uint8)

    def put(self, row: int, pixels: np.ndarray) -> None:
        """Store entry ``row``'s image."""
        if self.file is not None:
            self.file.write(row, pixels)
        else:
            assert self.array is not None
            self.array[row] = pixels

    def finish(self, good: np.ndarray) -> Pixels:
        """The images of the entries ``good``, in that order."""
        if self.file is not None:
            self.file.flush()
            return DiskPixels(self.file, good)
        assert self.array is not None
        if len(good) != len(self.array) or not np.array_equal(good, np.arange(len(good))):
            self.array = self.array[good]
        return self.array

    def rows_of_entries(self, good: np.ndarray) -> tuple[Pixels, np.ndarray]:
        """After :meth:`finish`: (every stored image, the row in them of each entry, -1 for
        the entries not in ``good``), as the decoded-image cache keeps them."""
        assert self.array is not None or self.file is not None
        total = self.total
        rows = np.full(total, -1, np.int64)
        if self.file is not None:
            rows[good] = good
            return DiskPixels(self.file), rows
        rows[good] = np.arange(len(good))
        return self.array, rows  # type: ignore[return-value]


__all__ = [
    "CHUNK_BYTES",
    "IN_MEMORY_BYTES",
    "DiskPixels",
    "PixelFile",
    "PixelSink",
    "Pixels",
    "chunk_rows",
    "in_chunks",
    "take",
]
