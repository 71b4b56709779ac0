"""The application's state as frozen plain data: what front ends show and decide from.

:class:`core.session.Session` owns the mutable dataset and model; it publishes a
:class:`SessionState` after every change. These objects are safe to hand to another thread
(the GUI thread gets them through a Qt signal): they are frozen, their arrays are read-only
views, and they hold no TensorFlow object. Nothing here imports TensorFlow or Qt.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from core.data.dataset import LoadedDataset
from core.data.images import InputSpec
from core.data.layout import dataset_name
from core.data.pixels import DiskPixels, Pixels
from core.learn.advice import Advice
from core.learn.calibration import Calibration
from core.modelfile.bundle import SUFFIX
from core.names import readable
from core.use.evaluate import chance_warning

if TYPE_CHECKING:
    from core.data.scan import DatasetIndex

_generations = itertools.count(1)


def next_generation() -> int:
    """A number never handed out before in this process (thread-safe in CPython)."""
    return next(_generations)


def read_only(array: Pixels) -> Pixels:
    """A view of ``array`` that cannot be written through (pixels kept in a file have no way
    to be written through: they are answered as they are)."""
    if isinstance(array, DiskPixels):
        return array
    view = array.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False)
class DatasetView:
    """A loaded dataset as front ends see it. ``generation`` changes with every load."""

    generation: int
    root: str
    spec: InputSpec
    class_names: tuple[str, ...]
    counts: tuple[int, ...]
    images: Pixels  # read-only (N, size, size, channels) uint8: what the model sees
    labels: np.ndarray  # read-only (N,) class indices
    paths: tuple[str, ...]  # relative to root
    skipped: tuple[tuple[str, str], ...]  # (path, reason)
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    advice: Advice | None = None  # the settings chosen for this data, and why
    #: A train/valid/test folder (core.data.layout): (part, folder name, images per class) for each
    #: part present, and the sentence saying how they are used. Empty for plain class folders.
    splits: tuple[tuple[str, str, tuple[int, ...]], ...] = ()
    layout_note: str | None = None
    #: What Undo would reverse (the latest edit of the folder in this session, in words), and
    #: how many edits were made since the folder was loaded (core.data.edit).
    undo: str | None = None
    edits: int = 0
    #: What Redo would make again (the latest undone capture, move, exclude or rename).
    redo: str | None = None
    #: Groups of identical images (paths, the one to keep first), near-identical pairs (path,
    #: path, differing bits), files read although their names say another format (path,
    #: format found), and the notes that are neither problems nor warnings
    #: (:mod:`core.data.findings`).
    copies: tuple[tuple[str, ...], ...] = ()
    near_copies: tuple[tuple[str, str, int], ...] = ()
    misnamed: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, dataset: LoadedDataset, advice: Advice | None = None) -> DatasetView:
        """A frozen view of ``dataset`` with a new generation number (no pixels are copied)."""
        layout = dataset.layout_summary() or {}
        folders: dict[str, str] = layout.get("folders", {})  # type: ignore[assignment]
        counts: dict[str, list[int]] = layout.get("counts", {})  # type: ignore[assignment]
        return cls(
            generation=next_generation(),
            root=str(Path(dataset.root).resolve()),
            spec=dataset.spec,
            class_names=tuple(dataset.class_names),
            counts=tuple(dataset.counts().values()),
            images=read_only(dataset.images),
            labels=read_only(dataset.labels),
            paths=tuple(dataset.paths),
            skipped=tuple((s.path, s.reason) for s in dataset.skipped),
            problems=tuple(dataset.problems),
            warnings=tuple(dataset.warnings),
            advice=advice,
            splits=tuple((role, folders[role], tuple(n)) for role, n in counts.items()),
            layout_note=layout.get("note"),  # type: ignore[arg-type]
            copies=tuple(tuple(group) for group in dataset.copies),
            near_copies=tuple(dataset.near_copies),
            misnamed=tuple(dataset.misnamed),
            notes=tuple(dataset.notes),
        )

    @property
    def name(self) -> str:
        """The dataset's name (a split dataset's part, ``DATA/train``, is called ``DATA``)."""
        return dataset_name(self.root)

    @functools.cached_property
    def _rows(self) -> dict[str, int]:
        return {path: row for row, path in enumerate(self.paths)}

    @property
    def size(self) -> int:
        return len(self.labels)

    @property
    def can_train(self) -> bool:
        return not self.problems

    @property
    def given_validation(self) -> bool:
        """True when the folder's own validation images replace the random split."""
        return any(role == "valid" and sum(n) for role, _, n in self.splits)

    def row_of(self, relpath: str) -> int | None:
        """Index of the image at ``relpath`` (relative to the root), or None."""
        return self._rows.get(relpath)


@dataclass(frozen=True)
class ScanPreview:
    """What a folder's scan already tells, before a single image is decoded: its classes, the
    files found in each, how many entries were left out, and the problems and warnings the
    counts alone show (:func:`core.data.scan.assess`). A load hands it to its ``scanned``
    callback so a front end can show the classes while the images are read (minutes for
    50,000 photos); the counts are files, not yet images (some may fail to decode)."""

    root: str
    class_names: tuple[str, ...]
    counts: tuple[int, ...]  # files found per class, in ``class_names`` order
    skipped: int  # files and folders the scan left out
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    #: The folders of a train/valid/test split (core.data.layout), empty for class folders.
    parts: tuple[str, ...] = ()

    @classmethod
    def of(cls, index: DatasetIndex) -> ScanPreview:
        """The preview of a finished scan (plain data: no file lists are kept)."""
        return cls(
            root=str(Path(index.root).resolve()),
            class_names=tuple(index.class_names),
            counts=tuple(len(c.files) for c in index.classes),
            skipped=len(index.skipped),
            problems=tuple(index.problems),
            warnings=tuple(index.warnings),
            parts=tuple(folder for _, folder in index.layout.folders) if index.layout else (),
        )

    @property
    def name(self) -> str:
        """The dataset's name, as :attr:`DatasetView.name` gives it."""
        return dataset_name(self.root)

    @property
    def files(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, eq=False)
class ModelView:
    """The current model as front ends see it. ``generation`` changes with every new model.

    ``origin`` is "trained" (in this session) or "opened" (from a file). ``saved`` is False
    while it has changes that are in no file (freshly trained or continued).
    """

    generation: int
    origin: str
    preset: str
    augment: bool
    spec: InputSpec
    class_names: tuple[str, ...]
    history: tuple[MappingProxyType, ...]
    evaluation: MappingProxyType
    source_root: str | None
    saved_path: str | None
    saved: bool
    outcome: str
    config: MappingProxyType | None
    warnings: tuple[str, ...] = ()
    #: The temperature folded into its weights, and what it and a confidence threshold do on
    #: the validation images (frozen plain data).
    calibration: Calibration = field(default_factory=Calibration)
    #: The epoch (from 1) whose weights its latest run kept, when early stopping went back to
    #: one; None when it has the weights its last epoch ended with.
    best_epoch: int | None = None
    #: How more photos would help: (training images, validation accuracy) at 25, 50, 75 and
    #: 100 % of them, when its latest run trained a pretrained head alone; else empty.
    learning_curve: tuple[tuple[int, float], ...] = ()

    @property
    def chance_warning(self) -> str | None:
        """Set when the held-out accuracy is at or near guessing (from the evaluation)."""
        return chance_warning(self.evaluation)

    @property
    def source_name(self) -> str | None:
        return dataset_name(self.source_root) if self.source_root else None

    @property
    def display_name(self) -> str:
        """How to name this model to a person: its file, or the folder it was trained on."""
        if self.saved_path:
            return readable(Path(self.saved_path).name)
        return f"trained on '{readable(self.source_name)}'" if self.source_name else "unnamed model"

    @property
    def suggested_filename(self) -> str:
        """A file name for "Save": the file it came from, else its dataset's name."""
        if self.saved_path:
            return readable(Path(self.saved_path).name)
        return f"{readable(self.source_name or 'model')}{SUFFIX}"

    @property
    def epochs(self) -> int:
        return len(self.history)

    def fits(self, dataset: DatasetView | None) -> bool:
        """True when ``dataset`` has this model's classes and input size (it can train on it)."""
        return (
            dataset is not None
            and dataset.class_names == self.class_names
            and dataset.spec == self.spec
        )

    def trained_on(self, dataset: DatasetView | None) -> bool:
        """True when ``dataset`` is the folder this model was trained on, seen the same way."""
        return self.fits(dataset) and dataset is not None and dataset.root == self.source_root


@dataclass(frozen=True, eq=False)
class SessionState:
    """Everything a front end needs to decide what to show and what to enable.

    ``activity`` is what the engine is doing now; ``queued`` lists requests waiting for it
    (filled in by the GUI adapter, which knows its queue).
    """

    dataset: DatasetView | None = None
    model: ModelView | None = None
    activity: str | None = None
    queued: tuple[str, ...] = field(default_factory=tuple)
    #: The dataset's folder was edited since the current model was trained or opened (so
    #: Retrain has something new to learn from).
    edited_since_model: bool = False

    def doing(self, activity: str) -> bool:
        """True while ``activity`` runs or waits in the queue."""
        return self.activity == activity or activity in self.queued

    @property
    def training(self) -> bool:
        return self.doing("training")

    @property
    def loading(self) -> bool:
        return self.doing("loading")

    @property
    def can_train(self) -> bool:
        return self.dataset is not None and self.dataset.can_train and not self.training

    @property
    def can_continue(self) -> bool:
        return self.can_train and self.model is not None and self.model.fits(self.dataset)

    @property
    def can_save(self) -> bool:
        return self.model is not None and not self.training and not self.doing("saving")

    @property
    def can_export(self) -> bool:
        return self.model is not None and not self.training

    @property
    def can_classify(self) -> bool:
        return self.model is not None

    @property
    def unsaved(self) -> bool:
        """True when closing now would lose a model."""
        return self.model is not None and not self.model.saved


def frozen_mapping(data: dict[str, Any] | None) -> MappingProxyType:
    """A read-only view of a shallow copy of ``data``."""
    return MappingProxyType(dict(data or {}))
