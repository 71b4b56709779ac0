"""On-disk cache of decoded dataset images, so a second load of a folder takes a blink.

One packed file per (dataset folder, input spec) in the user's cache folder: the pixels of every
decoded image as one array, and an index of every file seen (relative path, size, modification
time, pixel row or skip reason, content hash, and the format of a file whose name says
otherwise, so a cached load names it as a fresh one does) as a few flat arrays, so reading it
costs a few array reads instead of parsing an entry per file. A file whose size or modification
time changed no longer matches and is decoded again; added and removed files are noticed by
the scan.

The file is an uncompressed ``.npz`` written to a temporary name and renamed (a crash never
leaves half a cache), read with ``allow_pickle=False``; one that cannot be read, or whose arrays
do not fit together, is ignored whole, never trusted in part. The pixels of a folder too large
to hold in memory (:data:`core.data.pixels.IN_MEMORY_BYTES`) are a raw file of rows beside the
index instead, read by row; they are cached only when they fit in the cache's size limit.

The cache never grows without bound: after each write, the least recently used files (dataset
and feature caches alike; a read counts as a use) are removed until the whole cache folder is
under :data:`MAX_CACHE_BYTES`. :func:`clear_cache` empties it (the app's *Clear cache* action
and ``cnn-studio cache --clear``). Needs only NumPy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import platformdirs

from core.atomic import atomic_path
from core.data.images import InputSpec
from core.data.pixels import DiskPixels, PixelFile, Pixels, in_chunks
from core.errors import SaveError

CACHE_VERSION = 2
#: The whole cache folder (decoded images and backbone features) is kept under this size.
MAX_CACHE_BYTES = 4 * 1024**3
HASH_LEN = 40  # sha1 in hex: the key of every cached image and feature row
_NO_HASH = "-" * HASH_LEN


def cache_root() -> Path:
    """The per-user cache folder of CNN Studio (``datasets/`` and ``features/`` below it)."""
    return Path(platformdirs.user_cache_dir("cnn-studio", appauthor=False))


def default_cache_dir() -> Path:
    """The per-user cache folder for decoded datasets."""
    return cache_root() / "datasets"


@dataclass
class CachedFolder:
    """Everything the cache knows about one folder at one input spec.

    Entry ``i`` is the file ``paths[i]`` (relative to the dataset folder) with ``sizes[i]``
    bytes and modification time ``mtimes[i]`` (ns); ``rows[i]`` is its row in ``pixels``, or -1
    when it was skipped for ``reasons[i]``; ``hashes[i]`` is the sha1 of its model input ('' when
    skipped).
    """

    paths: list[str]
    sizes: np.ndarray
    mtimes: np.ndarray
    rows: np.ndarray
    reasons: dict[int, str]
    hashes: list[str]
    pixels: Pixels
    formats: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.paths)

    @classmethod
    def empty(cls, spec: InputSpec) -> CachedFolder:
        none = np.zeros(0, np.int64)
        return cls([], none, none, none, {}, [], np.zeros((0, *spec.shape), np.uint8))


def pack_hashes(hashes: list[str]) -> np.ndarray | None:
    """sha1 hex digests as one byte array (None when one is not a 40-character ASCII text)."""
    try:
        blob = "".join(hashes).encode("ascii")
    except UnicodeEncodeError:
        return None
    return np.frombuffer(blob, np.uint8) if len(blob) == HASH_LEN * len(hashes) else None


def unpack_hashes(blob: np.ndarray, count: int) -> list[str] | None:
    """The ``count`` digests :func:`pack_hashes` packed, or None when the bytes do not fit."""
    raw = blob.tobytes()
    if len(raw) != HASH_LEN * count or not raw.isascii():
        return None
    text = raw.decode("ascii")
    return [text[i : i + HASH_LEN] for i in range(0, len(text), HASH_LEN)]


def _blob(text: str) -> np.ndarray:
    """Text (possibly holding undecodable-name escapes, see core.names) as a byte array."""
    return np.frombuffer(text.encode("utf-8", "surrogateescape"), dtype=np.uint8)


def _text(blob: np.ndarray) -> str:
    return blob.tobytes().decode("utf-8", "surrogateescape")


class DatasetCache:
    """Reads and writes decoded-image caches below ``folder``.

    ``limit`` caps the size of the whole cache (:func:`cache_root`, every cache CNN Studio
    keeps) or, for a cache in a ``folder`` of its own (tests, benchmarks), of that folder.
    """

    def __init__(self, folder: Path | None = None, limit: int = MAX_CACHE_BYTES) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()
        self.evict_root = self.folder if folder is not None else cache_root()
        self.limit = limit

    def path_for(self, root: Path, spec: InputSpec) -> Path:
        # The folder's name as bytes: it need not be valid UTF-8 (see core.names).
        key = os.fsencode(os.path.realpath(root)) + f"|{spec.key()}|v{CACHE_VERSION}".encode()
        return self.folder / (hashlib.sha1(key).hexdigest() + ".npz")

    def read(self, root: Path, spec: InputSpec) -> CachedFolder:
        """The cache for ``root`` at ``spec``; empty when there is none or it is not usable.

        The pixels of a large folder are not read here: they stay in their file, read by row
        as the load copies them (:class:`~core.data.pixels.DiskPixels`)."""
        path = self.path_for(root, spec)
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            if "pixel_file" in arrays:
                arrays["pixels"] = self._pixel_file(path, _text(arrays["pixel_file"]), spec)
            cached = _unpack(arrays, spec)
        except (OSError, ValueError, KeyError, TypeError, IndexError, zipfile.BadZipFile):
            return CachedFolder.empty(spec)
        if cached is None:
            return CachedFolder.empty(spec)
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: the last to be evicted
            if "pixel_file" in arrays:
                os.utime(path.with_name(_text(arrays["pixel_file"])))
        return cached

    def _pixel_file(self, index: Path, name: str, spec: InputSpec) -> DiskPixels:
        """The pixel file ``name`` beside ``index``, opened for reading by row."""
        if not re.fullmatch(r"[0-9a-f]{40}-[0-9a-f]{16}\.pixels", name):
            raise ValueError("not a pixel file of this cache")
        path = index.with_name(name)
        row_bytes = int(np.prod(spec.shape))
        size = path.stat().st_size
        if size % row_bytes:
            raise ValueError("the pixel file does not hold whole images")
        return DiskPixels(PixelFile(path, size // row_bytes, spec.shape, create=False))

    def write(self, root: Path, spec: InputSpec, cached: CachedFolder) -> None:
        """Replace the cache for ``root`` and ``spec`` atomically, then keep the cache folder
        under its size limit; failures are ignored (a missing cache only costs time).

        Pixels held in memory go into the index file, as they always did. Those of a large
        folder (a :class:`~core.data.pixels.DiskPixels`) go to a file of their own beside it,
        named in the index (a fresh name each time, so a reader never sees an index paired
        with another write's pixels): the load's own file is adopted when it holds exactly
        the cached rows, else the rows are copied a chunk at a time. Pixels that would not
        fit in the cache's size limit are not cached at all (the index of an earlier write
        goes too, so it is never paired with missing pixels)."""
        path = self.path_for(root, spec)
        hashes = pack_hashes([h if len(h) == HASH_LEN else _NO_HASH for h in cached.hashes])
        if hashes is None:
            return  # not sha1 digests: nothing this cache can hold
        previous = _pixel_file_name(path)
        arrays = {
            "spec": _blob(spec.key()),
            "paths": _blob("\0".join(cached.paths)),
            "sizes": np.asarray(cached.sizes, np.int64),
            "mtimes": np.asarray(cached.mtimes, np.int64),
            "rows": np.asarray(cached.rows, np.int64),
            "hashes": hashes,
            "reasons": _blob(json.dumps({str(k): v for k, v in cached.reasons.items()})),
            "formats": _blob(json.dumps({str(k): v for k, v in cached.formats.items()})),
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if isinstance(cached.pixels, DiskPixels):
                if cached.pixels.nbytes > self.limit:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                    _remove_pixel_file(path, previous)
                    return
                name = f"{path.stem}-{os.urandom(8).hex()}.pixels"
                _store_pixels(cached.pixels, path.with_name(name))
                arrays["pixel_file"] = _blob(name)
            else:
                arrays["pixels"] = cached.pixels
            with atomic_path(path, durable=False) as tmp, tmp.open("wb") as handle:
                np.savez(handle, **arrays)
        except (OSError, SaveError):
            return
        _remove_pixel_file(path, previous)
        evict(self.evict_root, self.limit, keep=path)


def _pixel_file_name(index: Path) -> str | None:
    """The pixel file an existing index names (None for none, or for an unreadable index)."""
    with (
        contextlib.suppress(OSError, ValueError, KeyError, zipfile.BadZipFile),
        np.load(index, allow_pickle=False) as archive,
    ):
        if "pixel_file" in archive.files:
            return _text(archive["pixel_file"])
    return None


def _remove_pixel_file(index: Path, name: str | None) -> None:
    """Remove the pixel file ``name`` of an index that no longer names it."""
    if name and "/" not in name and "\\" not in name and _pixel_file_name(index) != name:
        with contextlib.suppress(OSError):
            index.with_name(name).unlink()


def _store_pixels(pixels: DiskPixels, target: Path) -> None:
    """Put every image of ``pixels`` into the file ``target``: the load's own file when it
    holds exactly these rows (renamed, no copy), else a copy made a chunk at a time."""
    source = pixels.source
    whole = not len(pixels.extra) and np.array_equal(pixels.rows, np.arange(source.rows))
    if whole and source.path.parent == target.parent and source.path.name.startswith(".pixels-"):
        source.keep(target)
        return
    with atomic_path(target, durable=False) as tmp, tmp.open("wb") as handle:
        for _, part in in_chunks(pixels):
            handle.write(memoryview(np.ascontiguousarray(part)).cast("B"))


def _unpack(arrays: dict[str, np.ndarray], spec: InputSpec) -> CachedFolder | None:
    """A :class:`CachedFolder` from a cache file's arrays, or None when they do not fit together."""
    if _text(arrays["spec"]) != spec.key():
        return None
    pixels = arrays["pixels"]
    if pixels.dtype != np.uint8 or tuple(pixels.shape[1:]) != spec.shape:
        return None
    text = _text(arrays["paths"])
    paths = text.split("\0") if text else []
    n = len(paths)
    sizes, mtimes, rows = arrays["sizes"], arrays["mtimes"], arrays["rows"]
    for column in (sizes, mtimes, rows):
        if column.dtype != np.int64 or column.shape != (n,):
            return None
    if n and (rows.min() < -1 or rows.max() >= len(pixels)):
        return None
    hashes = unpack_hashes(arrays["hashes"], n)
    if hashes is None:
        return None
    raw = json.loads(_text(arrays["reasons"]))
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        return None
    reasons = {int(k): v for k, v in raw.items()}
    skipped = np.flatnonzero(rows < 0)
    if set(skipped.tolist()) != set(reasons):
        return None  # every skipped entry has its reason, and only those
    for i in skipped.tolist():
        hashes[i] = ""
    # A cache written before formats were kept has none: it is decoded afresh once (KeyError).
    raw = json.loads(_text(arrays["formats"]))
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        return None
    formats = {int(k): v for k, v in raw.items()}
    if any(not 0 <= k < n or rows[k] < 0 for k in formats):
        return None  # only decoded entries have a format
    return CachedFolder(paths, sizes, mtimes, rows, reasons, hashes, pixels, formats)


def _cache_files(root: Path) -> list[tuple[float, int, Path]]:
    """(last use, size, path) of every file below ``root``."""
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            with contextlib.suppress(OSError):
                info = path.stat()
                found.append((info.st_mtime, info.st_size, path))
    return found


def evict(root: Path, limit: int, keep: Path | None = None) -> tuple[int, int]:
    """Remove the least recently used files below ``root`` until it holds at most ``limit``
    bytes (``keep``, the file just written, goes last). Returns (files, bytes) removed."""
    files = sorted(_cache_files(root), key=lambda f: (f[2] == keep, f[0]))
    total = sum(size for _, size, _ in files)
    count = freed = 0
    for _, size, path in files:
        if total <= limit:
            break
        with contextlib.suppress(OSError):
            path.unlink()
            total -= size
            count, freed = count + 1, freed + size
    return count, freed


def cache_usage(root: Path | None = None) -> tuple[int, int]:
    """(files, bytes) in the cache folder."""
    files = _cache_files(root or cache_root())
    return len(files), sum(size for _, size, _ in files)


def clear_cache(root: Path | None = None) -> tuple[int, int]:
    """Remove every cached file (decoded images and backbone features): (files, bytes) freed.

    Only cache files go: nothing a user made lives there, and each is rebuilt when needed.
    """
    return evict(root or cache_root(), 0)
