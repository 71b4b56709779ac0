"""Decoding a scanned folder's files: inline, on threads or in worker processes, with cache hits.

:func:`core.data.dataset.load_dataset` hands this module the files a scan found; each is read
once and turned into model input by :func:`core.data.images.load_input` (the same function
classification uses), on whichever of a thread pool, a process pool kept for the life of the
program or the calling thread suits the files' sizes and number (:func:`_plan`). Files the
:class:`~core.data.cache.DatasetCache` holds unchanged are taken from it without decoding, and
the cache is rewritten after a load that decoded anything. Kept apart from the dataset record
because worker processes import this module (and only what it needs) to decode.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from core.data.cache import CachedFolder, DatasetCache
from core.data.findings import name_disagrees
from core.data.images import InputSpec, load_input, read_file, sniff_format
from core.data.pixels import Pixels
from core.data.scan import DatasetIndex, FileEntry
from core.errors import ImageError
from core.progress import CancelToken, ProgressCallback

_CHUNK = 16
_PROCESS_CHUNK = 250
#: From this average file size on, decoding is spent in codecs that release the interpreter
#: lock, so threads help; below it, Python dominates and threads only fight over the lock.
_THREADS_FROM_BYTES = 16 * 1024
#: From this many small files on, starting worker processes pays for itself.
_PROCESSES_FROM_FILES = 2000

#: What decoding one file gives: (pixels or None, skip reason, content hash of the pixels,
#: the format its content has when its name says otherwise, else "").
Decoded = tuple[np.ndarray | None, str, str, str]


def decode_one(root: str, relpath: str, spec: InputSpec) -> Decoded:
    """Decode one file: (pixels or None, skip reason, content hash of the pixels, the format
    found when the file's name says otherwise: "JPEG" for ``x.png`` holding a JPEG).

    The hash is taken over the model input, so re-encoded copies of one picture count as the
    same image. Runs on a pool thread or in a pool process.
    """
    path = Path(root, relpath)
    try:
        data = read_file(path)
        pixels = load_input(path, spec, data)
    except ImageError as exc:
        return None, exc.reason, "", ""
    fmt = sniff_format(data[:1024])  # decoded, so a supported format: no refusal here
    misnamed = fmt if name_disagrees(relpath, fmt) else ""
    return pixels, "", hashlib.sha1(pixels.tobytes()).hexdigest(), misnamed


def _decode_chunk(root: str, relpaths: list[str], spec: InputSpec) -> list[Decoded]:
    """Decode several files (the unit of work sent to a pool process)."""
    return [decode_one(root, relpath, spec) for relpath in relpaths]


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _process_pool() -> ProcessPoolExecutor | None:
    """A process pool kept for the life of the program, or None where none can start.

    Processes are started by a fork server (or spawned), never forked from this process,
    which may hold Qt and TensorFlow threads.
    """
    global _pool
    with _pool_lock:
        if _pool is None:
            methods = multiprocessing.get_all_start_methods()
            method = "forkserver" if "forkserver" in methods else "spawn"
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                context.set_forkserver_preload(["core.data.decoding"])
            try:
                _pool = ProcessPoolExecutor(max_workers=_cpu_count(), mp_context=context)
            except (OSError, ValueError, NotImplementedError):
                return None
        return _pool


def _discard_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def _cpu_count() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _plan(sizes: list[int], workers: int | None) -> tuple[str, int]:
    """Choose how to decode: ("inline" | "threads" | "processes", files per chunk).

    Small files are bound by Python, so threads only fight over the interpreter lock: many of
    them go to processes, few are decoded inline. Large files (photos) spend their time in
    codecs that release the lock, so threads work well.
    """
    if workers == 1 or _cpu_count() == 1:
        return "inline", _CHUNK
    mean = sum(sizes) / len(sizes)
    if mean >= _THREADS_FROM_BYTES and len(sizes) >= 8:
        return "threads", _CHUNK
    if len(sizes) >= _PROCESSES_FROM_FILES:
        return "processes", _PROCESS_CHUNK
    return "inline", _CHUNK


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a block builds many small objects (a
    scan of 100,000 files makes hundreds of thousands, and the collector's repeated passes
    over them cost a quarter of a cached load). Nothing built here is cyclic garbage."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def take_hits(
    cached: CachedFolder,
    entries: list[tuple[int, FileEntry]],
    results: list[Decoded | None],
    rows: np.ndarray,
) -> None:
    """Fill ``results`` and ``rows`` for every entry the cache holds unchanged (same relative
    path, size and modification time), comparing whole columns at once."""
    if not len(cached):
        return
    position = dict(zip(cached.paths, range(len(cached)), strict=True))
    total = len(entries)
    where = np.fromiter((position.get(e.relpath, -1) for _, e in entries), np.int64, total)
    sizes = np.fromiter((e.size for _, e in entries), np.int64, total)
    mtimes = np.fromiter((e.mtime_ns for _, e in entries), np.int64, total)
    found = where >= 0
    safe = np.where(found, where, 0)
    hit = found & (cached.sizes[safe] == sizes) & (cached.mtimes[safe] == mtimes)
    hits = np.flatnonzero(hit)
    rows[hits] = cached.rows[where[hits]]
    reasons, hashes, formats = cached.reasons, cached.hashes, cached.formats
    for i, j in zip(hits.tolist(), where[hits].tolist(), strict=True):
        results[i] = (None, reasons.get(j, ""), hashes[j], formats.get(j, ""))


def decode_all(
    index: DatasetIndex,
    spec: InputSpec,
    entries: list[tuple[int, FileEntry]],
    todo: list[int],
    results: list[Decoded | None],
    report: ProgressCallback,
    cancel: CancelToken | None,
    workers: int | None,
    keep: Callable[[list[int], list[np.ndarray]], None],
) -> None:
    """Decode the ``todo`` entries into ``results``, inline or on a pool (see :func:`_plan`).

    The pixels of each chunk go to ``keep(entries, pixels)`` as the chunk arrives (the
    entries that decoded, and their images), and ``results`` keeps everything else about each
    file but not its pixels: a load holds at most the chunks in flight, never every image."""
    root = str(index.root)
    total = len(entries)
    done = total - len(todo)
    how, size = _plan([entries[i][1].size for i in todo], workers)
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]

    def collect(chunk: list[int], chunk_results: list[Decoded]) -> None:
        nonlocal done
        if cancel is not None:
            cancel.raise_if_cancelled()
        kept = [(i, r[0]) for i, r in zip(chunk, chunk_results, strict=True) if r[0] is not None]
        if kept:
            keep([i for i, _ in kept], [pixels for _, pixels in kept])
        for i, result in zip(chunk, chunk_results, strict=True):
            results[i] = (None, *result[1:])
        done += len(chunk)
        report(done / total, f"Decoded {done} of {total} images")

    def relpaths(chunk: list[int]) -> list[str]:
        return [entries[i][1].relpath for i in chunk]

    pool: Executor | None = None
    if how == "processes":
        pool = _process_pool()
    elif how == "threads":
        pool = ThreadPoolExecutor(workers or _cpu_count(), thread_name_prefix="decode")
    if pool is None:
        for chunk in chunks:
            collect(chunk, _decode_chunk(root, relpaths(chunk), spec))
        return
    # A window of chunks is in flight, each let go once collected: decoded pixels never pile
    # up in finished futures, whatever the number of files.
    window = 4 * (workers or _cpu_count())
    pending: deque[tuple[list[int], Future[list[Decoded]]]] = deque()
    ahead = iter(chunks)
    try:
        for chunk in itertools.islice(ahead, window):
            pending.append((chunk, _submit(pool, root, relpaths(chunk), spec)))
        while pending:
            chunk, future = pending.popleft()
            try:
                chunk_results = future.result()
            except BrokenProcessPool:
                _discard_pool()  # a worker died (killed, out of memory): carry on inline
                chunk_results = _decode_chunk(root, relpaths(chunk), spec)
            del future
            collect(chunk, chunk_results)
            following = next(ahead, None)
            if following is not None:
                submitted = _submit(pool, root, relpaths(following), spec)
                pending.append((following, submitted))
    finally:
        for _, future in pending:
            future.cancel()
        if isinstance(pool, ThreadPoolExecutor):
            pool.shutdown(wait=True)


def _submit(pool: Executor, root: str, relpaths: list[str], spec: InputSpec) -> Future:
    """Hand one chunk to ``pool``; a process pool found broken decodes it here instead."""
    try:
        return pool.submit(_decode_chunk, root, relpaths, spec)
    except (BrokenProcessPool, RuntimeError):
        _discard_pool()
        done: Future[list[Decoded]] = Future()
        done.set_result(_decode_chunk(root, relpaths, spec))
        return done


def refresh_cache(
    cache: DatasetCache,
    index: DatasetIndex,
    spec: InputSpec,
    entries: list[tuple[int, FileEntry]],
    results: list[Decoded | None],
    pixels: tuple[Pixels, np.ndarray],
) -> None:
    """Rewrite the cache from a finished load (only called when something was decoded):
    ``pixels`` is (images, the row in them of every entry, -1 for a skipped one)."""
    images, row_of_entry = pixels
    done = [
        (k, entry, result)
        for k, ((_, entry), result) in enumerate(zip(entries, results, strict=True))
        if result
    ]
    rows = np.fromiter((row_of_entry[k] for k, _, _ in done), np.int64, len(done))
    cached = CachedFolder(
        paths=[entry.relpath for _, entry, _ in done],
        sizes=np.fromiter((entry.size for _, entry, _ in done), np.int64, len(done)),
        mtimes=np.fromiter((entry.mtime_ns for _, entry, _ in done), np.int64, len(done)),
        rows=rows,
        reasons={i: result[1] for i, (_, _, result) in enumerate(done) if rows[i] < 0},
        hashes=[result[2] for _, _, result in done],
        pixels=images,
        formats={i: result[3] for i, (_, _, result) in enumerate(done) if result[3]},
    )
    cache.write(index.root, spec, cached)
