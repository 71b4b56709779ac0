"""On-disk cache of pretrained-backbone features, keyed by the content of each model input.

Training the pretrained preset's head needs each image's pooled backbone features; computing
them is most of the work (about 5 ms an image at 224 px), so they are computed once and kept,
like the decoded pixels. A row is keyed by the sha1 of the image's model input (what the
dataset already hashes), so renamed or moved files still hit and changed ones miss. One ``.npz``
per backbone and input size, written atomically, read with ``allow_pickle=False``; an unreadable
file is ignored. Needs only NumPy.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.atomic import atomic_path
from core.data.cache import MAX_CACHE_BYTES, cache_root, evict, pack_hashes, unpack_hashes

#: Rows beyond this are dropped, oldest first (about 250 MB of float32 at 1,280 features).
MAX_ROWS = 50_000


class FeatureCache:
    """Features of one backbone at one input size, by input hash."""

    def __init__(
        self, backbone: str, size: int, folder: Path | None = None, limit: int = MAX_CACHE_BYTES
    ) -> None:
        self.path = (folder or cache_root() / "features") / f"{backbone}-{size}.npz"
        # The whole cache is capped, or only ``folder`` when the cache has one of its own.
        self.evict_root = folder or cache_root()
        self.limit = limit

    def _read(self) -> tuple[list[str], np.ndarray | None]:
        with contextlib.suppress(OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            with np.load(self.path, allow_pickle=False) as data:
                blob, rows = data["keys"], data["features"]
            keys = unpack_hashes(blob, len(rows))
            if keys is not None and rows.ndim == 2 and rows.dtype == np.float32:
                with contextlib.suppress(OSError):
                    os.utime(self.path)  # used now: the last to be evicted
                return keys, rows
        return [], None

    def features(
        self, hashes: Sequence[str], compute: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """Features for every hash: cached rows, plus ``compute(indices)`` for the rest
        (which returns their features in that order); the cache is updated afterwards."""
        keys, rows = self._read()
        known = {k: i for i, k in enumerate(keys)}
        missing = np.array([i for i, h in enumerate(hashes) if h not in known], dtype=np.int64)
        if not len(missing) and rows is not None:
            return rows[[known[h] for h in hashes]]
        fresh = compute(missing).astype(np.float32)
        if rows is not None and rows.shape[1] != fresh.shape[1]:
            keys, rows, known = [], None, {}  # not this backbone's width: distrust the file
            missing = np.arange(len(hashes))
            fresh = compute(missing).astype(np.float32)
        out = np.empty((len(hashes), fresh.shape[1]), np.float32)
        out[missing] = fresh
        computed = set(missing.tolist())
        cached = [i for i in range(len(hashes)) if i not in computed]
        if cached:
            out[cached] = rows[[known[hashes[i]] for i in cached]]  # type: ignore[index]
        self._write(keys, rows, [hashes[i] for i in missing], fresh)
        return out

    def _write(
        self, keys: list[str], rows: np.ndarray | None, new_keys: list[str], new: np.ndarray
    ) -> None:
        all_keys = keys + new_keys
        all_rows = new if rows is None else np.concatenate([rows, new.astype(np.float32)])
        all_keys, all_rows = all_keys[-MAX_ROWS:], all_rows[-MAX_ROWS:]
        blob = pack_hashes(all_keys)
        if blob is None:
            return  # not sha1 keys: nothing this cache can hold
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.path, suffix=".npz", durable=False) as tmp:
                np.savez(tmp, keys=blob, features=all_rows)
            evict(self.evict_root, self.limit, keep=self.path)
