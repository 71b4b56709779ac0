"""A loaded dataset: the :class:`LoadedDataset` record, its queries, and :func:`load_dataset`.

Every candidate file is read once, judged by content, decoded and preprocessed through
:func:`core.data.images.load_input` (the same function classification uses); how the files are
decoded (parallel, cached, cancellable) is :mod:`core.data.decoding`'s part, kept apart so that
the record and what it says about its images (counts, parts, copies, the split, problems and
warnings) read on their own. Files that fail are listed with their reason; identical images are
found by content hash and reported by name, with their groups kept as data for a front end to
list (:mod:`core.data.findings`), and near-identical ones (shifted, re-saved) by perceptual
hash (:mod:`core.data.near_duplicates`); files read although their names say another format
are a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from core.data.cache import CachedFolder, DatasetCache
from core.data.decoding import Decoded, collector_paused, decode_all, refresh_cache, take_hits
from core.data.findings import class_and_part, duplicate_warnings, exact_groups, misnamed_note
from core.data.images import InputSpec
from core.data.layout import ROLES, SplitLayout, split_counts
from core.data.layout import describe as describe_layout
from core.data.layout import notes as layout_notes
from core.data.near_duplicates import (
    copies_of_training,
    copy_groups,
    near_duplicate_warning,
    near_pairs,
    phash,
)
from core.data.pixels import Pixels, PixelSink, chunk_rows, take
from core.data.scan import DatasetIndex, FileEntry, Skipped, assess, scan_folder
from core.data.split import stratified_split
from core.errors import DatasetError
from core.progress import CancelToken, ProgressCallback, Throttle, no_progress


@dataclass
class LoadedDataset:
    """Decoded images of a dataset folder, ready for training or evaluation.

    ``images`` has shape (N, size, size, channels) and dtype uint8 (60,000 28x28 images take
    47 MB), in memory or, for a large dataset, in a file read by row (:mod:`core.data.pixels`:
    read whole-dataset passes a chunk at a time and take subsets with its ``take``);
    ``labels`` index into ``class_names``; ``paths`` are relative to ``root``.
    """

    root: Path
    spec: InputSpec
    class_names: list[str]
    images: Pixels
    labels: np.ndarray
    paths: list[str]
    hashes: list[str]
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Set when the folder is split into train/valid/test folders (see :mod:`core.data.layout`).
    layout: SplitLayout | None = None
    #: Things worth knowing that are neither problems nor warnings (files read although their
    #: names say otherwise).
    notes: list[str] = field(default_factory=list)
    #: Groups of identical images (paths, sorted; :func:`core.data.findings.exact_groups`).
    copies: list[list[str]] = field(default_factory=list)
    #: Near-identical pairs that are not identical: (path, path, differing bits), sorted.
    near_copies: list[tuple[str, str, int]] = field(default_factory=list)
    #: Files whose names say another format than their content: (path, format found), sorted.
    misnamed: list[tuple[str, str]] = field(default_factory=list)
    #: The perceptual hash of every image, when the load (or edit) that made this dataset
    #: already computed it for its warnings; :attr:`phashes` computes it otherwise.
    known_phashes: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def can_train(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        """Images per class, in class order."""
        per_class = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(n) for name, n in zip(self.class_names, per_class, strict=True)}

    def part_rows(self, role: str) -> np.ndarray:
        """Indices of the images of one part (``"train"``, ``"valid"``, ``"test"``) of a split
        dataset; without a layout every image is in ``"train"``."""
        if self.layout is None:
            return np.arange(len(self)) if role == "train" else np.zeros(0, np.int64)
        return np.flatnonzero(self.layout.codes(self.paths) == ROLES.index(role))

    @property
    def phashes(self) -> np.ndarray:
        """The perceptual hash of every image (:func:`core.data.near_duplicates.phash`): the
        ones the load computed for its near-duplicate warnings, so the split and scoring do
        not hash every image again (an edit makes a new dataset, so they never go stale)."""
        if self.known_phashes is None:
            self.known_phashes = phash(self.images)
        return self.known_phashes

    def copy_groups(self, rows: np.ndarray) -> np.ndarray:
        """For the images ``rows``, the row of the first image of their group of copies (exact
        or near, :func:`core.data.near_duplicates.copy_groups`), taken in the order of ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        first = copy_groups(self.phashes[rows], [self.hashes[i] for i in rows])
        return rows[first]

    def copies_of(
        self, rows: np.ndarray, training_rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(exact copies, near copies that are not exact): which images of ``rows`` are the
        same picture as an image of ``training_rows``, by content or perceptual hash."""
        rows = np.asarray(rows, dtype=np.int64)
        training_rows = np.asarray(training_rows, dtype=np.int64)
        exact, near = copies_of_training(
            [self.hashes[i] for i in rows],
            self.phashes[rows],
            [self.hashes[i] for i in training_rows],
            self.phashes[training_rows],
        )
        assert near is not None
        return exact, near

    def split(self, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Stratified (train indices, validation indices, warnings) for this dataset.

        A split dataset with validation images uses them as they are (``val_fraction`` does not
        matter; copies across its folders are among the dataset's warnings, and scores on them
        say how the images the model never saw did); otherwise validation images are drawn from
        the training part, each group of exact or near copies wholly on one side, so no
        validation image is a copy of a training image. Test images are never in either.
        """
        rows = self.part_rows("train")
        given = self.part_rows("valid")
        if len(given):
            return rows, given, []
        # Drawn in path order within each class (as reproduce.py draws it): the same folder
        # gives the same split however its images came to be in this order (a fresh load, or
        # the dataset an edit brought up to date, where restored files come last).
        rows = rows[np.argsort(np.asarray(self.paths, dtype=object)[rows], kind="stable")]
        groups = self.copy_groups(rows)
        train, val = stratified_split(self.labels[rows], val_fraction, seed, groups)
        return np.sort(rows[train]), np.sort(rows[val]), []

    def summary(self) -> dict[str, object]:
        """Plain-data description used by the CLI's ``--json`` output and the GUI."""
        return {
            "root": str(self.root),
            "classes": [{"name": n, "count": c} for n, c in self.counts().items()],
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "warnings": list(self.warnings),
            "problems": list(self.problems),
            "notes": list(self.notes),
            "duplicates": [list(group) for group in self.copies],
            "near_duplicates": [
                {"paths": [a, b], "differing_bits": bits} for a, b, bits in self.near_copies
            ],
            "misnamed": [{"path": path, "format": fmt} for path, fmt in self.misnamed],
            **({"layout": self.layout_summary()} if self.layout is not None else {}),
        }

    def layout_summary(self) -> dict[str, object] | None:
        """A split dataset's parts as plain data: folder names, images per class in each part,
        and the sentence that says how they are used (None without a layout)."""
        if self.layout is None:
            return None
        counts = split_counts(self.layout, self.labels, self.paths, len(self.class_names))
        return {
            "folders": dict(self.layout.folders),
            "counts": counts,
            "note": describe_layout(self.layout, counts),
        }


def load_dataset(
    source: DatasetIndex | Path | str,
    spec: InputSpec | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    cache: DatasetCache | None = None,
    workers: int | None = None,
) -> LoadedDataset:
    """Decode every candidate file of a scanned folder into a :class:`LoadedDataset`.

    ``source`` is a :class:`DatasetIndex` or a folder (scanned first). Decoding runs on a thread
    pool; ``progress(fraction, message)`` is called on the calling thread as chunks finish, and
    ``cancel`` is checked between chunks. With ``cache`` given, unchanged files come from the
    cache and the cache is refreshed afterwards.

    Each image is decoded once and goes straight to its row of a :class:`PixelSink` (in memory
    for a small dataset, a file for a large one, :mod:`core.data.pixels`), hashed for the
    near-duplicate check on the way, so a load of any size holds only the chunks in flight.
    """
    spec = spec or InputSpec()
    with collector_paused():
        index = source if isinstance(source, DatasetIndex) else scan_folder(source, cancel=cancel)
        entries = [(label, f) for label, c in enumerate(index.classes) for f in c.files]
        total = len(entries)
        results: list[Decoded | None] = [None] * total
        cached = CachedFolder.empty(spec)
        rows = np.full(total, -1, dtype=np.int64)  # row in cached.pixels, for cache hits
        if cache is not None:
            cached = cache.read(index.root, spec)
            take_hits(cached, entries, results, rows)
    report = Throttle(progress)
    todo = [i for i, r in enumerate(results) if r is None]
    done = total - len(todo)
    report(done / max(total, 1), f"{done} of {total} images from cache")
    if not todo:  # nothing changed: the cached pixels serve as they are
        good = np.array([i for i, r in enumerate(results) if r and not r[1]], np.int64)
        with collector_paused():
            images = _rows_of(cached.pixels, rows[good])
            return _assemble(index, spec, entries, results, images, None)
    sink = PixelSink(total, spec.shape, cache.folder if cache is not None else None)
    phashes = np.zeros(total, np.uint64)

    def keep(where: list[int], pixels: list[np.ndarray] | np.ndarray) -> None:
        batch = np.stack(pixels) if isinstance(pixels, list) else pixels
        for i, image in zip(where, batch, strict=True):
            sink.put(i, image)
        phashes[where] = phash(batch)

    hits = np.flatnonzero(rows >= 0)
    step = chunk_rows(int(np.prod(spec.shape)))
    for start in range(0, len(hits), step):
        part = hits[start : start + step]
        keep(part.tolist(), cached.pixels[rows[part]])
    del cached  # the cache's pixels are copied: its file and arrays may go
    decode_all(index, spec, entries, todo, results, report, cancel, workers, keep)
    good = np.array([i for i, r in enumerate(results) if r is not None and not r[1]], np.int64)
    with collector_paused():
        images = sink.finish(good)
        loaded = _assemble(index, spec, entries, results, images, phashes[good])
    if cache is not None:
        refresh_cache(cache, index, spec, entries, results, sink.rows_of_entries(good))
    return loaded


def _rows_of(images: Pixels, rows: np.ndarray) -> Pixels:
    """``images`` at ``rows``: the array itself when they are all of it, in order."""
    if len(rows) == len(images) and np.array_equal(rows, np.arange(len(rows))):
        return images
    return take(images, rows)


def _assemble(
    index: DatasetIndex,
    spec: InputSpec,
    entries: list[tuple[int, FileEntry]],
    results: list[Decoded | None],
    images: Pixels,
    phashes: np.ndarray | None,
) -> LoadedDataset:
    good = [i for i, r in enumerate(results) if r is not None and not r[1]]
    good_array = np.asarray(good, dtype=np.int64)
    entry_labels = np.fromiter((label for label, _ in entries), np.int32, len(entries))
    labels = entry_labels[good_array] if good else np.zeros(0, np.int32)
    paths = [entries[i][1].relpath for i in good]
    hashes = [results[i][2] for i in good]  # type: ignore[index]
    found_as = [results[i][3] for i in good]  # type: ignore[index]
    misnamed = [(path, fmt) for path, fmt in zip(paths, found_as, strict=True) if fmt]
    skipped = list(index.skipped)
    for i, result in enumerate(results):
        if result is not None and result[1]:
            skipped.append(Skipped(entries[i][1].relpath, result[1]))
    names, layout = index.class_names, index.layout
    found = data_notes(index.root, names, images, labels, paths, hashes, layout, misnamed, phashes)
    return LoadedDataset(
        index.root,
        spec,
        names,
        images,
        labels,
        paths,
        hashes,
        skipped,
        layout=layout,
        **found._asdict(),
    )


class Findings(NamedTuple):
    """What :func:`data_notes` finds in a dataset's images (the fields of
    :class:`LoadedDataset` of the same names)."""

    problems: list[str]
    warnings: list[str]
    notes: list[str]
    copies: list[list[str]]
    near_copies: list[tuple[str, str, int]]
    misnamed: list[tuple[str, str]]
    known_phashes: np.ndarray


def data_notes(
    root: Path,
    names: list[str],
    images: Pixels,
    labels: np.ndarray,
    paths: list[str],
    hashes: list[str],
    layout: SplitLayout | None,
    misnamed: list[tuple[str, str]],
    phashes: np.ndarray | None = None,
) -> Findings:
    """The problems, warnings and notes of a dataset's images: class counts, exact and near
    duplicates (named, and as groups of paths), files read although their names say
    otherwise (``misnamed``, (path, format found)), and for a split folder its own notes
    (leakage, missing parts). Shared by a load and by :mod:`core.data.update` after an edit,
    so that both say the same."""
    counts = dict(zip(names, np.bincount(labels, minlength=len(names)).tolist(), strict=True))
    problems, warnings = assess(root, counts)
    parts = layout.codes(paths) if layout is not None else None
    copies = exact_groups(hashes, paths)
    if copies:  # the usual case has none: no need to map every path to its class
        class_of, part_of = class_and_part(paths, labels, parts)
        warnings += duplicate_warnings(copies, class_of, names, part_of)
    if phashes is None:  # an edit passes the hashes of the images it kept
        phashes = phash(images)
    near = near_pairs(phashes, exact=hashes, paths=paths)
    warnings += near_duplicate_warning(near, paths, labels, names)
    near_copies = sorted((*sorted((paths[i], paths[j])), bits) for i, j, bits in near)
    if layout is not None:
        more_problems, more_warnings = layout_notes(layout, names, labels, paths, hashes)
        problems += more_problems
        warnings += more_warnings
    misnamed = sorted(misnamed)
    notes = misnamed_note(misnamed)
    return Findings(problems, warnings, notes, copies, near_copies, misnamed, phashes)


def require_trainable(dataset: LoadedDataset) -> None:
    """Raise :class:`DatasetError` with every reason when ``dataset`` cannot be trained on."""
    if dataset.problems:
        raise DatasetError(" ".join(dataset.problems))
