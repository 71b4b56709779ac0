"""On-disk cache of pretrained-backbone features, keyed by the content of each model input.

Training the pretrained preset's head needs each image's pooled backbone features; computing
them is most of the work (about 5 ms an image at 224 px), so they are computed once and kept,
like the decoded pixels. A row is keyed by the sha1 of the image's model input (what the
dataset already hashes), so renamed or moved files still hit and changed ones miss. One cache
per backbone and input size, for any number of images (no row is dropped; the whole cache
folder's size limit applies), written atomically, read with ``allow_pickle=False`` and its
rows memory-mapped (a lookup reads only the rows it needs); an unreadable cache is ignored.
Needs only NumPy.
"""

from __future__ import annotations

import contextlib
import os
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.atomic import atomic_path
from core.data.cache import MAX_CACHE_BYTES, cache_root, evict, pack_hashes, unpack_hashes
from core.errors import SaveError

#: Rows copied at a time when the cache grows (about 40 MB of 1,280 features).
COPY_ROWS = 8192


class FeatureCache:
    """Features of one backbone at one input size, by input hash.

    Two files: an index (``NAME.npz``: the keys, and the name of the rows' file) and the rows
    (``NAME-TOKEN.npy``, float32, read memory-mapped), so a lookup reads the keys and only the
    rows it needs, whatever the number of photos ever cached. A write makes a new rows file
    under a fresh token (the old rows copied a chunk at a time), then the index naming it,
    then removes the old rows: a reader never pairs an index with another write's rows.
    """

    def __init__(
        self, backbone: str, size: int, folder: Path | None = None, limit: int = MAX_CACHE_BYTES
    ) -> None:
        self.path = (folder or cache_root() / "features") / f"{backbone}-{size}.npz"
        # The whole cache is capped, or only ``folder`` when the cache has one of its own.
        self.evict_root = folder or cache_root()
        self.limit = limit

    def _read(self) -> tuple[list[str], np.ndarray | None, str | None]:
        """(keys, their rows memory-mapped, the rows file's name) or ([], None, name) when there
        is no usable cache; the name is None unless the index names a file of this cache (a
        write replaces that file, so an unusable one goes too)."""
        name = None
        with contextlib.suppress(OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            with np.load(self.path, allow_pickle=False) as data:
                blob, named = data["keys"], data["rows"].tobytes().decode("ascii")
            if not re.fullmatch(r"[\w.-]+-[0-9a-f]{16}\.npy", named):
                return [], None, None
            name = named
            rows = np.load(self.path.with_name(name), mmap_mode="r", allow_pickle=False)
            keys = unpack_hashes(blob, len(rows))
            if keys is not None and rows.ndim == 2 and rows.dtype == np.float32:
                with contextlib.suppress(OSError):
                    os.utime(self.path)  # used now: the last to be evicted
                    os.utime(self.path.with_name(name))
                return keys, rows, name
        return [], None, name

    def cached(self, hashes: Sequence[str]) -> np.ndarray | None:
        """The cached features of every hash, or None when any of them is not cached."""
        keys, rows, _ = self._read()
        if rows is None:
            return None
        known = {k: i for i, k in enumerate(keys)}
        if not all(h in known for h in hashes):
            return None
        return np.asarray(rows[[known[h] for h in hashes]])

    def features(
        self, hashes: Sequence[str], compute: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """Features for every hash: cached rows, plus ``compute(indices)`` for the rest
        (which returns their features in that order); the cache is updated afterwards."""
        keys, rows, old = self._read()
        known = {k: i for i, k in enumerate(keys)}
        missing = np.array([i for i, h in enumerate(hashes) if h not in known], dtype=np.int64)
        if not len(missing) and rows is not None:
            return np.asarray(rows[[known[h] for h in hashes]])
        fresh = np.asarray(compute(missing), np.float32)
        if rows is not None and rows.shape[1] != fresh.shape[1]:
            keys, rows, known = [], None, {}  # not this backbone's width: distrust the file
            missing = np.arange(len(hashes))
            fresh = np.asarray(compute(missing), np.float32)
        self._write(keys, rows, [hashes[i] for i in missing], fresh, old)
        if len(missing) == len(hashes):
            return fresh  # all new, in order: no second copy
        out = np.empty((len(hashes), fresh.shape[1]), np.float32)
        out[missing] = fresh
        computed = set(missing.tolist())
        cached = [i for i in range(len(hashes)) if i not in computed]
        if cached:
            out[cached] = rows[[known[hashes[i]] for i in cached]]  # type: ignore[index]
        return out

    def _write(
        self,
        keys: list[str],
        rows: np.ndarray | None,
        new_keys: list[str],
        new: np.ndarray,
        old: str | None,
    ) -> None:
        """Append ``new`` (keyed ``new_keys``) to the cached ``rows``: a new rows file, then
        the index naming it, then the old rows file ``old`` (as :meth:`_read` found it) goes.
        Failures only cost time later."""
        blob = pack_hashes(keys + new_keys)
        if blob is None:
            return  # not sha1 keys: nothing this cache can hold
        name = f"{self.path.stem}-{os.urandom(8).hex()}.npy"
        count = (0 if rows is None else len(rows)) + len(new)
        with contextlib.suppress(OSError, SaveError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.path.with_name(name), suffix=".npy", durable=False) as tmp:
                out = np.lib.format.open_memmap(tmp, "w+", np.float32, (count, new.shape[1]))
                done = 0
                if rows is not None:
                    for start in range(0, len(rows), COPY_ROWS):
                        part = rows[start : start + COPY_ROWS]
                        out[start : start + len(part)] = part
                    done = len(rows)
                out[done:] = new
                out.flush()
                del out
            with atomic_path(self.path, suffix=".npz", durable=False) as tmp:
                np.savez(tmp, keys=blob, rows=np.frombuffer(name.encode("ascii"), np.uint8))
            if old and old != name:
                with contextlib.suppress(OSError):
                    self.path.with_name(old).unlink()
            evict(self.evict_root, self.limit, keep=self.path)
