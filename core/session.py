"""The application model: the current dataset, the current model, and the door to every use
case on them.

:class:`Session` is what both front ends drive: the command line calls it on its main thread,
the GUI adapter on its single worker thread. Neither re-implements a workflow, and the session
holds none either: each use case's body is a function of its stage, which the session calls
with its state. It never imports Qt; TensorFlow is imported only inside the use cases that
need it, so creating a session (and reading its state) is cheap.

State changes are published as frozen :class:`~core.state.SessionState` objects to the
``listener`` given at construction, called on the thread that runs the use case. Call a
session from one thread at a time (Keras is not thread-safe); only ``progress``/``cancel``
objects and a trainer's :class:`~core.progress.TrainingControl` may be touched from others.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.data import cache, demo, scan
from core.data.dataset import LoadedDataset
from core.data.editing import EditHistory
from core.data.images import InputSpec
from core.errors import Cancelled, CnnStudioError, DatasetError
from core.learn import run
from core.learn.input_choice import choose_input
from core.learn.record import ModelRecord, TrainingSummary
from core.model_uses import ModelUses, decode_folder
from core.modelfile import recovery
from core.modelfile.bundle import save_bundle
from core.nets.preset_layers import describe_preset
from core.progress import CancelToken, ProgressCallback, TrainingControl, no_progress
from core.share.card import write_report
from core.share.publish import bundle_of, check_export, export_record
from core.state import (
    DatasetView,
    ModelView,
    ScanPreview,
    SessionState,
    frozen_mapping,
    next_generation,
)
from core.use import scoring
from core.use.model_record import open_record

if TYPE_CHECKING:
    from core.data.edit import Edit
    from core.learn.advice import Advice
    from core.learn.config import TrainConfig
    from core.learn.training import Trainer, TrainingObserver
    from core.nets.models import ModelSpec
    from core.share.card import ReportFiles
    from core.share.check import ExportReport

Listener = Callable[[SessionState], None]
#: Told what a folder's scan found, before its images are decoded (see Session.load_dataset).
Scanned = Callable[[ScanPreview], None]


class Session(ModelUses):
    """The application model (as napari's Qt-free ``ViewerModel`` is): owns the current
    dataset and model, the undo history of the dataset's edits and what it is busy doing, and
    publishes them after every change; the one door for both front ends. Each use case's body
    lives with its stage (edits in :mod:`core.data.editing`, the training run in
    :mod:`core.learn.run`, scoring and explaining in :mod:`core.use`, saving and exporting in
    :mod:`core.share.publish`) and the session delegates to it. See the module docstring for
    the threading rules."""

    def __init__(
        self, listener: Listener | None = None, use_cache: bool = True, keep_history: bool = True
    ) -> None:
        self._listener = listener
        self._use_cache = use_cache
        self._dataset: LoadedDataset | None = None
        self._dataset_view: DatasetView | None = None
        self._advice: Advice | None = None  # the settings advised for the loaded dataset
        self._model: ModelRecord | None = None
        self._activity: str | None = None
        # the loaded folder's edits (undo stack), kept across restarts with ``keep_history``
        self._history = EditHistory(keep_history)
        self._model_edits = 0  # the history's edit count when the current model was made

    # --- state ------------------------------------------------------------------------------
    def state(self) -> SessionState:
        """The current state as frozen plain data (cheap: no copies of images)."""
        edited = self._model is not None and self._history.count > self._model_edits
        view = model_view(self._model) if self._model else None
        return SessionState(self._dataset_view, view, self._activity, edited_since_model=edited)

    @property
    def dataset(self) -> LoadedDataset | None:
        """The loaded dataset (the session's own object: do not change it)."""
        return self._dataset

    def _changed(self) -> None:
        if self._listener is not None:
            self._listener(self.state())

    @contextlib.contextmanager
    def _doing(self, activity: str) -> Iterator[None]:
        """Publish ``activity`` while the block runs, and the resulting state after it."""
        self._activity = activity
        self._changed()
        try:
            yield
        finally:
            self._activity = None
            self._changed()

    def _require_model(self) -> ModelRecord:
        if self._model is None:
            raise CnnStudioError("train a model or open a .cnnmodel file first")
        return self._model

    def _require_dataset(self) -> LoadedDataset:
        if self._dataset is None:
            raise DatasetError("load a dataset first")
        return self._dataset

    # --- datasets ---------------------------------------------------------------------------
    def load_dataset(
        self,
        folder: Path | str,
        spec: InputSpec | None = None,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        *,
        size: int | None = None,
        color: bool | None = None,
        crop: bool | None = None,
        preset: str | None = None,
        scanned: Scanned | None = None,
    ) -> DatasetView:
        """Scan, measure and decode ``folder`` and make it the current dataset, read at
        ``spec``, else at the input chosen for the data (:mod:`core.learn.advice`) or for
        ``preset`` when the user chose one (a preset brings its own input), with ``size``,
        ``color`` or ``crop`` overriding its parts. ``scanned`` is called once, on this
        thread, with the scan's :class:`~core.state.ScanPreview` as soon as the folder is
        scanned (seconds), before the images are decoded (minutes for a big folder), so a
        front end can show the classes meanwhile; the current dataset is not changed until
        the decode ends. Raises :class:`Cancelled` (the previous dataset stays current) or a
        :class:`CnnStudioError` naming what is wrong."""
        with self._doing("loading"):
            index = scan.scan_folder(folder, progress=progress, cancel=cancel)
            if scanned is not None:
                scanned(ScanPreview.of(index))
            advice, spec = choose_input(
                index,
                spec,
                preset,
                size=size,
                color=color,
                crop=crop,
                progress=progress,
                cancel=cancel,
                use_cache=self._use_cache,
            )
            dataset = decode_folder(index, spec, progress, cancel, self._use_cache)
            if self._history.follow(dataset.root):  # another folder: its own undo history
                self._model_edits = 0
            self._advice = advice
            return self._show(dataset)

    def load_demo(
        self,
        spec: InputSpec | None = None,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        *,
        scanned: Scanned | None = None,
    ) -> DatasetView:
        """Load the built-in demo dataset, drawing it first on first use (a second or two);
        ``scanned`` as for :meth:`load_dataset`."""
        with self._doing("loading"):
            progress(0.0, "Drawing the demo dataset…")
            folder = demo.demo_dataset()
        return self.load_dataset(folder, spec, progress, cancel, scanned=scanned)

    def _show(self, dataset: LoadedDataset) -> DatasetView:
        """Make ``dataset`` current, with its advice and what Undo would reverse: its view."""
        self._dataset = dataset
        self._dataset_view = dataset_view(dataset, self._advice, self._history)
        return self._dataset_view

    def edit(self, operation: str, *args: Any) -> Edit:
        """Edit the loaded dataset's folder on disk and bring the dataset up to date without a
        rescan; the edit goes on the undo stack and the new state is published. ``operation``
        is one of :data:`~core.data.editing.EDIT_OPERATIONS`, ``args`` its arguments after the
        root: ``edit("move_to_class", "cat/1.png", "dog")``. In a train/valid/test folder
        paths start with their part (``"valid/cat/1.png"``), a move keeps the part and new
        classes and copied-in files go into the training folder. Raises
        :class:`~core.data.edit.EditError` (the disk and the dataset unchanged)."""
        done, updated = self._history.apply(self._require_dataset(), operation, *args)
        self._show(updated)
        self._changed()
        return done

    def undo_edit(self) -> Edit:
        """Reverse the latest edit (disk first, then the loaded dataset) and publish the new
        state; returns what undoing did. Raises :class:`~core.data.edit.EditError` when
        there is nothing to undo or the way back is blocked (the edit stays undoable)."""
        reverted, updated = self._history.undo(self._require_dataset())
        self._show(updated)
        self._changed()
        return reverted

    def redo_edit(self) -> Edit:
        """Make the latest undone edit again (disk first, then the loaded dataset) and publish
        the new state; returns the edit made again. Raises :class:`~core.data.edit.EditError`
        when there is nothing to redo or its place is taken (nothing changed)."""
        again, updated = self._history.redo(self._require_dataset())
        self._show(updated)
        self._changed()
        return again

    # --- models -----------------------------------------------------------------------------
    def describe(
        self, preset: str, augment: bool, spec: InputSpec | None = None, classes: int = 0
    ) -> tuple[list[dict[str, object]], int]:
        """The layers of ``preset`` in plain words, for the loaded dataset's input and classes
        (or ``spec``/``classes``): (rows, total parameters)."""
        with self._doing("describing"):
            return describe_preset(preset, augment, spec, classes, self._dataset)

    def train(
        self,
        config: TrainConfig,
        preset: str,
        augment: bool = False,
        observer: TrainingObserver | None = None,
        control: TrainingControl | None = None,
    ) -> TrainingSummary:
        """Train a new ``preset`` network on the loaded dataset; it becomes the current model
        (the previous model stays current when training is cancelled or fails)."""
        data = self._require_dataset()
        spec = run.new_spec(preset, data, augment)
        return self._run(run.new_trainer(data, config, observer, control), spec, None)

    def continue_training(
        self,
        config: TrainConfig,
        observer: TrainingObserver | None = None,
        control: TrainingControl | None = None,
    ) -> TrainingSummary:
        """Train the current model ``config.epochs`` more epochs on the loaded dataset. The
        architecture and augmentation are the model's own; ``config`` says how this run
        optimises. A cancelled or failed continuation leaves the model as it was."""
        model, data = self._require_model(), self._require_dataset()
        run.check_continuable(model, data)
        return self._run(run.new_trainer(data, config, observer, control), model.spec, model)

    def _run(
        self, trainer: Trainer, spec: ModelSpec, current: ModelRecord | None
    ) -> TrainingSummary:
        """Run training (:mod:`core.learn.run`); its model becomes current when it succeeds."""
        with self._doing("training"):
            self._model = run.train_record(
                trainer, spec, current, scoring.score_run, next_generation
            )
            self._model_edits = self._history.count
        return run.summary_of(self._model)

    # --- the cache --------------------------------------------------------------------------
    def cache_usage(self) -> tuple[int, int]:
        """(files, bytes) held in the cache of decoded images and backbone features."""
        return cache.cache_usage()

    def clear_cache(self) -> tuple[int, int]:
        """Empty the cache (decoded images, backbone features): (files, bytes) freed. Nothing
        the user made is there; the next load of a folder decodes it again."""
        return cache.clear_cache()

    # --- model files ------------------------------------------------------------------------
    def save(self, path: Path | str) -> Path:
        """Write the current model to ``path`` atomically; it is then saved under that name."""
        model = self._require_model()
        with self._doing("saving"):
            written = save_bundle(bundle_of(model), path)
            model.saved_path, model.saved = str(written), True
        return written

    def save_or_recover(self, path: Path | str) -> tuple[Path, str | None]:
        """Save to ``path``; if that fails, save to the recovery folder instead, so a trained
        model is never lost to a full disk or a folder gone read-only during training. Returns
        the path written and, when it is the recovery copy, why ``path`` failed."""
        return recovery.save_or_recover(self.save, path)

    def open(self, path: Path | str) -> ModelView:
        """Read a model file and make it the current model (nothing changes if it is bad)."""
        with self._doing("opening"):
            self._model = open_record(path, next_generation)
            self._model_edits = self._history.count
        return model_view(self._model)

    def export(
        self, fmt: str, path: Path | str, check_dir: Path | str | None = None
    ) -> ExportReport:
        """Export the current model as a self-contained folder ``path`` in format ``fmt``. The
        folder's own classify.py is run in a fresh process on held-out image files (those of
        ``check_dir`` when given, else the model's validation files) and must give the app's
        answers (:mod:`core.share.export`); returns that check's report, also in parity.json."""
        model = self._require_model()
        check_export(fmt, path)  # before reading any images
        with self._doing("exporting"):
            return export_record(model, fmt, path, check_dir, self._dataset)

    def write_report(self, folder: Path | str) -> ReportFiles:
        """Write the current model's card (``model_card.html``) and ``reproduce.py`` into
        ``folder`` (see :mod:`core.share.card`); works for an unsaved model too."""
        model = self._require_model()
        with self._doing("reporting"):
            return write_report(bundle_of(model), folder, model.saved_path)


def dataset_view(
    dataset: LoadedDataset, advice: Advice | None, history: EditHistory
) -> DatasetView:
    """The frozen view front ends get of ``dataset`` (read with ``advice``), with what Undo
    would reverse and how many edits ``history`` counts."""
    return dataclasses.replace(
        DatasetView.of(dataset, advice),
        undo=history.undo_description,
        edits=history.count,
        redo=history.redo_description,
    )


def model_view(m: ModelRecord) -> ModelView:
    """The frozen view front ends get of the model record ``m``."""
    return ModelView(
        generation=m.generation,
        origin=m.origin,
        preset=m.spec.preset,
        augment=m.spec.augment,
        spec=m.spec.input,
        class_names=tuple(m.class_names),
        history=tuple(frozen_mapping(h) for h in m.history),
        evaluation=frozen_mapping(m.evaluation),
        source_root=m.files.get("root"),
        saved_path=m.saved_path,
        saved=m.saved,
        outcome=m.outcome,
        config=frozen_mapping(m.config.to_dict()) if m.config else None,
        warnings=tuple(m.warnings),
        calibration=m.calibration,
        best_epoch=m.runs[-1].get("best_epoch") if m.runs else None,
        learning_curve=run.learning_curve_of(m.runs),
    )


__all__ = ["Cancelled", "Session", "TrainingSummary"]
