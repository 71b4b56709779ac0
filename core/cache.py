"""On-disk cache of decoded dataset images, so a second load of a folder takes a blink.

One file per (dataset folder, input spec) in the user's cache folder. Each entry is keyed by the
file's relative path, size and modification time; a changed file no longer matches and is decoded
again. The cache is one ``.npz`` (written to a temporary file and renamed, so a crash never leaves
a half-written cache) holding the pixels and a JSON index; it is read with ``allow_pickle=False``.
A cache file that cannot be read is ignored, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import platformdirs

from core.atomic import atomic_path
from core.images import InputSpec

CACHE_VERSION = 1


class CachedFile(NamedTuple):
    """What the cache knows about one file: its pixels row (or why it was skipped) and hash."""

    size: int
    mtime_ns: int
    row: int  # index into the pixels array, -1 when the file was skipped
    reason: str
    sha1: str


def default_cache_dir() -> Path:
    """The per-user cache folder for decoded datasets."""
    return Path(platformdirs.user_cache_dir("cnn-studio", appauthor=False)) / "datasets"


class DatasetCache:
    """Reads and writes decoded-image caches below ``folder``."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()

    def path_for(self, root: Path, spec: InputSpec) -> Path:
        # The folder's name as bytes: it need not be valid UTF-8 (see core.names).
        key = os.fsencode(os.path.realpath(root)) + f"|{spec.key()}|v{CACHE_VERSION}".encode()
        return self.folder / (hashlib.sha1(key).hexdigest() + ".npz")

    def read(self, root: Path, spec: InputSpec) -> tuple[dict[str, list], np.ndarray]:
        """Return the cached entries and their pixel rows; empty when there is no usable cache.

        Entries map a relative path to ``[size, mtime_ns, row, reason, sha1]`` (the fields of
        :class:`CachedFile`, kept as JSON lists because building 100k objects costs time).
        """
        empty = ({}, np.zeros((0, *spec.shape), np.uint8))
        path = self.path_for(root, spec)
        if not path.is_file():
            return empty
        try:
            with np.load(path, allow_pickle=False) as archive:
                index = json.loads(archive["index"].tobytes().decode("utf-8"))
                pixels = archive["pixels"]
            if index.get("spec") != spec.key() or pixels.shape[1:] != spec.shape:
                return empty
            entries = index["files"]
            if not isinstance(entries, dict):
                return empty
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return empty
        return entries, pixels

    def write(
        self, root: Path, spec: InputSpec, entries: dict[str, CachedFile], pixels: np.ndarray
    ) -> None:
        """Replace the cache for ``root`` and ``spec`` atomically; failures are ignored."""
        path = self.path_for(root, spec)
        index = {
            "spec": spec.key(),
            "root": str(root),
            "files": entries,  # NamedTuples serialise as JSON lists
        }
        raw = np.frombuffer(json.dumps(index).encode("utf-8"), dtype=np.uint8)
        try:
            with atomic_path(path, durable=False) as tmp, tmp.open("wb") as handle:
                np.savez(handle, pixels=pixels, index=raw)
        except OSError:
            pass  # a cache that cannot be written only costs time next load
