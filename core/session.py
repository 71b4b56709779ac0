"""The application model: the current dataset, the current model, and every use case on them.

:class:`Session` is what both front ends drive: the command line calls it on its main thread,
the GUI adapter on its single worker thread. Neither re-implements a workflow. The session
never imports Qt; it imports TensorFlow only inside the use cases that need it, so creating one
(and reading its state) is cheap.

State changes are published as frozen :class:`~core.state.SessionState` objects to the
``listener`` given at construction, called on the thread that runs the use case. Call a
session from one thread at a time (Keras is not thread-safe); only ``progress``/``cancel``
objects and a trainer's :class:`~core.progress.TrainingControl` may be touched from others.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.data.dataset import LoadedDataset, load_dataset
from core.data.demo import default_data_dir
from core.data.edit import (
    Edit,
    copy_in,
    create_class,
    exclude,
    move_to_class,
    remove_class,
    rename_class,
)
from core.data.images import InputSpec, to_model_input
from core.data.near_duplicates import copies_of_training, from_hex, to_hex
from core.errors import Cancelled, CnnStudioError, DatasetError, ImageError, SaveError
from core.learn.calibration import Calibration
from core.learn.config import TrainConfig
from core.modelfile.bundle import SUFFIX, ModelBundle, read_bundle, save_bundle
from core.nets.presets import preset_warning
from core.progress import CancelToken, ProgressCallback, TrainingControl, no_progress
from core.state import DatasetView, ModelView, SessionState, frozen_mapping, next_generation
from core.use.evaluate import chance_warning

if TYPE_CHECKING:
    from core.data.scan import DatasetIndex
    from core.learn.advice import Advice
    from core.learn.training import OptimizerState, Trainer, TrainingObserver
    from core.nets.models import ModelSpec
    from core.share.card import ReportFiles
    from core.share.check import CheckSet, ExportReport
    from core.use.classify import Classifier
    from core.use.evaluate import Evaluation
    from core.use.explain import Explainer
    from core.use.heatmap import Explanation
    from core.use.network_views import NetworkView
    from core.use.predictions import Prediction

Listener = Callable[[SessionState], None]
#: Generated images an export is checked on when the model's validation files are not found.
EXPORT_CHECK_IMAGES = 32
#: What the hashes in a model file's ``files`` lists are (``files.hash``): the same key as the
#: dataset's, so evaluation can tell which images the model was trained on.
FILES_HASH = "sha1 of the preprocessed model input"

#: Says why a trained model was not calibrated (the note is in its file too).
_log = logging.getLogger("cnnstudio.calibration")

#: Below the user data folder: where a trained model goes when its own target fails.
RECOVERY_FOLDER = "recovered models"
#: The edits of a dataset folder :meth:`Session.edit` offers (core.data.edit).
EDIT_OPERATIONS: dict[str, Callable[..., Edit]] = {
    "move_to_class": move_to_class,
    "exclude": exclude,
    "create_class": create_class,
    "rename_class": rename_class,
    "remove_class": remove_class,
    "copy_in": copy_in,
}
#: Edits kept for undo.
MAX_UNDO = 100


@dataclass
class _Model:
    """The current model and everything known about it (mutable; owned by the session)."""

    generation: int
    origin: str  # "trained" or "opened"
    spec: ModelSpec
    class_names: list[str]
    keras_model: Any
    history: list[dict[str, float]]
    runs: list[dict[str, Any]]  # one entry per training run: its config, epochs and outcome
    config: TrainConfig | None  # the latest run's settings
    outcome: str
    evaluation: dict[str, Any]
    # "root", "train" and "val" lists of [relpath, hash]; "phash" and "groups" (copies)
    files: dict[str, Any]
    optimizer_state: OptimizerState | None
    saved_path: str | None = None
    saved: bool = False
    warnings: list[str] = field(default_factory=list)
    classifier: Classifier | None = None
    explainer: Explainer | None = None  # built on first use (Grad-CAM)
    devices: tuple[str, ...] = ()  # where its latest training run ran (not stored in files)
    calibration: Calibration = field(default_factory=Calibration)  # folded into its weights


@dataclass(frozen=True)
class TrainingSummary:
    """What one training run did, as plain data."""

    outcome: str  # "finished", "stopped" (by the user) or "early-stopped"
    epochs: int  # epochs of this run
    history: list[dict[str, float]]  # every epoch of the model, this run's last
    evaluation: dict[str, Any]
    warnings: list[str]
    threads: dict[str, int]
    precision: str = "float32"  # what the run computed in (see core.nets.precision)
    devices: tuple[str, ...] = ()  # where it ran (several: one replica each)
    #: Results on a split dataset's test images (core.data.layout), scored once after training.
    test: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            **({"test": self.test} if self.test else {}),
            "outcome": self.outcome,
            "epochs": self.epochs,
            "history": self.history,
            "validation": self.evaluation,
            "warnings": self.warnings,
            "threads": self.threads,
            "precision": self.precision,
            "devices": list(self.devices),
        }


class Session:
    """Owns the current dataset and model; offers load, train, continue, save, open, export,
    classify, evaluate and describe. See the module docstring for the threading rules."""

    def __init__(
        self, listener: Listener | None = None, use_cache: bool = True, keep_history: bool = True
    ) -> None:
        self._listener = listener
        self._use_cache = use_cache
        self._keep_history = keep_history  # the undo history of edits, across restarts
        self._dataset: LoadedDataset | None = None
        self._dataset_view: DatasetView | None = None
        self._model: _Model | None = None
        self._activity: str | None = None
        self._edits: list[Edit] = []  # edits of the loaded folder, latest last (undo stack)
        self._edit_count = 0  # edits (and undos) of the loaded folder since it was loaded
        self._model_edits = 0  # the edit count when the current model was made

    # --- state ------------------------------------------------------------------------------

    def state(self) -> SessionState:
        """The current state as frozen plain data (cheap: no copies of images)."""
        edited = self._model is not None and self._edit_count > self._model_edits
        return SessionState(
            self._dataset_view, self._model_view(), self._activity, edited_since_model=edited
        )

    @property
    def dataset(self) -> LoadedDataset | None:
        """The loaded dataset (the session's own object: do not change it)."""
        return self._dataset

    def _model_view(self) -> ModelView | None:
        m = self._model
        if m is None:
            return None
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
        )

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

    def _require_model(self) -> _Model:
        if self._model is None:
            raise CnnStudioError("train a model or open a .cnnmodel file first")
        return self._model

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
    ) -> DatasetView:
        """Scan, measure and decode ``folder`` and make it the current dataset.

        Without ``spec`` the input is the one chosen for the data (:mod:`core.learn.advice`), or for
        ``preset`` when the user chose one (a preset brings its own input), with ``size``,
        ``color`` or ``crop`` overriding its parts. Raises :class:`Cancelled` (the
        previous dataset stays current) or a :class:`CnnStudioError` naming what is wrong.
        """
        from core.data.demo import is_demo
        from core.data.scan import scan_folder
        from core.learn.advice import advise, demo_advice, for_preset, measure

        with self._doing("loading"):
            index = scan_folder(folder, progress=progress, cancel=cancel)
            if is_demo(index.root, index.class_names):
                advice = demo_advice()
            else:
                advice = advise(measure(index))
            if preset is not None:
                advice = for_preset(advice, preset)
            if spec is None:
                chosen = advice.spec
                try:
                    spec = InputSpec(
                        size if size is not None else chosen.size,
                        chosen.color if color is None else color,
                        chosen.crop if crop is None else crop,
                    )
                except ValueError as exc:
                    raise CnnStudioError(str(exc)) from None
            dataset = self._decode(index, spec, progress, cancel)
            self._set_dataset(dataset, advice)
        assert self._dataset_view is not None
        return self._dataset_view

    def _decode(
        self,
        source: DatasetIndex | Path | str,
        spec: InputSpec,
        progress: ProgressCallback,
        cancel: CancelToken | None,
    ) -> LoadedDataset:
        """Scan (unless ``source`` is already scanned) and decode a folder, with the cache."""
        from core.data.cache import DatasetCache

        cache = DatasetCache() if self._use_cache else None
        dataset = load_dataset(source, spec, progress=progress, cancel=cancel, cache=cache)
        if cancel is not None:
            cancel.raise_if_cancelled()  # cancelled after the last chunk: still cancelled
        return dataset

    def load_demo(
        self,
        spec: InputSpec | None = None,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> DatasetView:
        """Load the built-in demo dataset, drawing it first on first use (a second or two)."""
        from core.data.demo import demo_dataset

        with self._doing("loading"):
            progress(0.0, "Drawing the demo dataset…")
            folder = demo_dataset()
        return self.load_dataset(folder, spec, progress, cancel)

    def _set_dataset(self, dataset: LoadedDataset, advice: Advice | None = None) -> None:
        previous = self._dataset
        if previous is None or Path(previous.root).resolve() != Path(dataset.root).resolve():
            # another folder: its own history (kept across restarts) replaces the last one's
            self._edits = self._load_history(dataset.root)
            self._edit_count = self._model_edits = 0
        self._dataset = dataset
        self._dataset_view = dataclasses.replace(
            DatasetView.of(dataset, advice),
            undo=self._edits[-1].description if self._edits else None,
            edits=self._edit_count,
        )

    def _load_history(self, root: Path) -> list[Edit]:
        """The undo history kept for the folder ``root`` (:mod:`core.data.journal`), the part
        of it that can still be undone; none without ``keep_history``."""
        if not self._keep_history:
            return []
        from core.data.journal import load_journal

        return load_journal(root)

    def _save_history(self, root: Path) -> None:
        """Keep the undo stack of the folder ``root`` for the next time it is opened."""
        if self._keep_history:
            from core.data.journal import save_journal

            save_journal(root, self._edits)

    # --- editing the dataset folder ---------------------------------------------------------

    def edit(self, operation: str, *args: Any) -> Edit:
        """Edit the loaded dataset's folder on disk and bring the dataset up to date without a
        rescan; the edit goes on the undo stack and the new state is published.

        ``operation`` is one of :data:`EDIT_OPERATIONS` (:mod:`core.data.edit`), ``args``
        its arguments after the root: ``edit("move_to_class", "cat/1.png", "dog")``. In a
        train/valid/test folder paths start with their part (``"valid/cat/1.png"``), a move
        keeps the part and new classes and copied-in files go into the training folder.
        Raises :class:`~core.data.edit.EditError` (the disk and the dataset unchanged).
        """
        from core.data.edit import EditError
        from core.data.edit import undo as undo_on_disk
        from core.data.scan import folder_layout
        from core.data.update import apply_edit

        data = self._require_dataset()
        if operation not in EDIT_OPERATIONS:
            raise EditError(f"unknown edit {operation!r}")
        parts = tuple(folder for _, folder in data.layout.folders) if data.layout else ()
        edit = EDIT_OPERATIONS[operation](data.root, *args, parts=parts)
        try:
            if folder_layout(data.root) != data.layout:
                what = edit.description.rpartition(" inside ")[0] or edit.description
                raise EditError(
                    f"This change ({what}) would make {data.root} read as another kind of "
                    "folder (a class folder named 'train' that holds folders turns the classes "
                    "into train/valid/test parts), so it was taken back; nothing was changed"
                )
            updated = apply_edit(data, edit)
        except BaseException:
            undo_on_disk(edit)
            raise
        self._edits.append(edit)
        del self._edits[:-MAX_UNDO]
        self._edit_count += 1
        self._save_history(data.root)
        self._show_edited(updated)
        return edit

    def undo_edit(self) -> Edit:
        """Reverse the latest edit (disk first, then the loaded dataset) and publish the new
        state; returns what undoing did. Raises :class:`~core.data.edit.EditError` when
        there is nothing to undo or the way back is blocked (the edit stays undoable)."""
        from core.data.edit import EditError, undo
        from core.data.update import apply_edit

        data = self._require_dataset()
        if not self._edits:
            raise EditError("nothing to undo")
        reverted = undo(self._edits[-1])
        self._edits.pop()
        self._edit_count += 1
        self._save_history(data.root)
        self._show_edited(apply_edit(data, reverted))
        return reverted

    def _show_edited(self, dataset: LoadedDataset) -> None:
        """Make an edited ``dataset`` current (same advice) and publish it."""
        advice = self._dataset_view.advice if self._dataset_view is not None else None
        self._dataset = dataset
        self._dataset_view = dataclasses.replace(
            DatasetView.of(dataset, advice),
            undo=self._edits[-1].description if self._edits else None,
            edits=self._edit_count,
        )
        self._changed()

    # --- models -----------------------------------------------------------------------------

    def describe(
        self, preset: str, augment: bool, spec: InputSpec | None = None, classes: int = 0
    ) -> tuple[list[dict[str, object]], int]:
        """The layers of ``preset`` in plain words, for the loaded dataset's input and classes
        (or ``spec``/``classes``): (rows, total parameters)."""
        from core.nets.models import ModelSpec, build_model, describe

        data = self._dataset
        spec = spec or (data.spec if data is not None else InputSpec())
        classes = classes or (len(data.class_names) if data is not None else 2)
        with self._doing("describing"):
            model = build_model(ModelSpec(preset, spec, max(classes, 2), augment))
            return describe(model), int(model.count_params())

    def train(
        self,
        config: TrainConfig,
        preset: str,
        augment: bool = False,
        observer: TrainingObserver | None = None,
        control: TrainingControl | None = None,
    ) -> TrainingSummary:
        """Train a new ``preset`` network on the loaded dataset; it becomes the current model.

        The previous model stays current when training is cancelled or fails.
        """
        from core.nets.models import ModelSpec

        data = self._require_dataset()
        try:
            spec = ModelSpec(preset, data.spec, max(len(data.class_names), 2), augment)
        except ValueError as exc:  # a preset the loaded input does not suit: say so, plainly
            raise CnnStudioError(f"cannot train {preset} on this input: {exc}") from None
        return self._run(config, spec, None, observer, control)

    def continue_training(
        self,
        config: TrainConfig,
        observer: TrainingObserver | None = None,
        control: TrainingControl | None = None,
    ) -> TrainingSummary:
        """Train the current model ``config.epochs`` more epochs on the loaded dataset.

        The architecture and augmentation are the model's own; ``config`` says how this run
        optimises. A cancelled or failed continuation leaves the model as it was.
        """
        model = self._require_model()
        data = self._require_dataset()
        if model.class_names != data.class_names or model.spec.input != data.spec:
            raise CnnStudioError(
                "the model's classes or input size differ from the loaded dataset's; load the "
                f"dataset it was trained on ({model.spec.input.size} px, "
                f"{'colour' if model.spec.input.color else 'grayscale'}, classes "
                f"{', '.join(model.class_names)})"
            )
        return self._run(config, model.spec, model, observer, control)

    def _require_dataset(self) -> LoadedDataset:
        if self._dataset is None:
            raise DatasetError("load a dataset first")
        return self._dataset

    def _run(
        self,
        config: TrainConfig,
        spec: ModelSpec,
        current: _Model | None,
        observer: TrainingObserver | None,
        control: TrainingControl | None,
    ) -> TrainingSummary:
        from core.learn.training import Trainer
        from core.nets.runtime import thread_pools

        trainer = Trainer(self._require_dataset(), config, observer, control)
        with self._doing("training"):
            before = current.keras_model.get_weights() if current is not None else None
            try:
                model = self._train_model(trainer, spec, current)
            except BaseException:
                if current is not None and before is not None:
                    current.keras_model.set_weights(before)  # the model stays as it was
                raise
            self._model = model
            self._model_edits = self._edit_count
        return TrainingSummary(
            outcome=model.outcome,
            epochs=model.runs[-1]["epochs"],
            history=list(model.history),
            evaluation=model.evaluation,
            warnings=list(model.warnings),
            threads=thread_pools(),
            precision=model.config.precision if model.config else "float32",
            devices=model.devices,
            test=dict(model.evaluation.get("test") or {}),
        )

    def _train_model(
        self,
        trainer: Trainer,
        spec: ModelSpec,
        current: _Model | None,
    ) -> _Model:
        """Run ``trainer``, calibrate and evaluate: the new current model (nothing is replaced
        here; a failed run leaves ``current``'s weights to the caller to restore)."""
        from core.learn.calibration import uncalibrate

        data = self._require_dataset()
        if current is None:
            result = trainer.run(spec)  # built in the run's precision, on its devices
        else:
            # Training goes on from the weights it stopped at (its optimizer state belongs to
            # them), not from the calibrated ones; the run is calibrated afresh below.
            uncalibrate(current.keras_model, current.calibration)
            result = trainer.run(
                spec, current.keras_model, current.history, current.optimizer_state
            )
        calibration, evaluation = _calibrate(
            result.model, data, result.val_paths, result.train_paths
        )
        test = [(data.paths[i], data.hashes[i]) for i in data.part_rows("test")]
        if test:  # a split dataset's test folder: never trained on, scored once here
            scored = _evaluate_test(result.model, data, test, result.train_paths)
            evaluation = {**evaluation, "test": scored}
        warnings = [*data.warnings, *result.warnings]
        unsuited = preset_warning(spec.preset, spec.input.size, spec.input.color)
        if unsuited:
            warnings.append(unsuited)
        at_chance = chance_warning(evaluation)
        if at_chance:
            warnings.append(at_chance)
        earlier = len(current.history) if current is not None else 0
        runs = list(current.runs) if current is not None else []
        runs.append(
            {
                "config": result.config.to_dict(),  # with the values the run really used
                "epochs": result.epochs_done - earlier,
                "outcome": result.outcome,
            }
        )
        return _Model(
            generation=next_generation(),
            origin="trained",
            spec=spec,
            class_names=list(data.class_names),
            keras_model=result.model,
            history=list(result.history),
            runs=runs,
            config=result.config,
            outcome=result.outcome,
            evaluation=evaluation,
            files={
                "root": str(Path(data.root).resolve()),
                "hash": FILES_HASH,
                "train": [
                    list(p) for p in zip(result.train_paths, result.train_hashes, strict=True)
                ],
                "val": [list(p) for p in zip(result.val_paths, result.val_hashes, strict=True)],
                **({"test": [list(p) for p in test]} if test else {}),
                **_copy_records(data, result.train_paths),
            },
            optimizer_state=result.optimizer_state,
            # A continued model keeps its file name (Save proposes it) but is not saved yet.
            saved_path=current.saved_path if current is not None else None,
            warnings=warnings,
            devices=result.devices,
            calibration=calibration,
        )

    # --- the cache --------------------------------------------------------------------------

    def cache_usage(self) -> tuple[int, int]:
        """(files, bytes) held in the cache of decoded images and backbone features."""
        from core.data.cache import cache_usage

        return cache_usage()

    def clear_cache(self) -> tuple[int, int]:
        """Empty the cache (decoded images, backbone features): (files, bytes) freed. Nothing
        the user made is there; the next load of a folder decodes it again."""
        from core.data.cache import clear_cache

        return clear_cache()

    # --- model files ------------------------------------------------------------------------

    def save(self, path: Path | str) -> Path:
        """Write the current model to ``path`` atomically; it is then saved under that name."""
        model = self._require_model()
        with self._doing("saving"):
            written = save_bundle(self._bundle(model), path)
            model.saved_path = str(written)
            model.saved = True
        return written

    def save_or_recover(self, path: Path | str) -> tuple[Path, str | None]:
        """Save to ``path``; if that fails, save to the recovery folder instead, so a trained
        model is never lost to a full disk or a folder gone read-only during training.

        Returns the path written and, when it is the recovery copy, why ``path`` failed.
        """
        try:
            return self.save(path), None
        except SaveError as exc:
            stem = Path(path).stem[:64] or "model"
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            fallback = default_data_dir() / RECOVERY_FOLDER / f"{stem}-{stamp}{SUFFIX}"
            try:
                return self.save(fallback), str(exc)
            except SaveError as second:
                raise SaveError(f"{exc}; the recovery copy failed too: {second}") from second

    def _bundle(self, model: _Model) -> ModelBundle:
        from core import __version__
        from core.nets.runtime import versions
        from core.share.card import platform_versions

        weights = [np.asarray(w, dtype=np.float32) for w in model.keras_model.get_weights()]
        state = model.optimizer_state
        return ModelBundle(
            preset=model.spec.preset,
            input=model.spec.input,
            class_names=model.class_names,
            augment=model.spec.augment,
            weights=weights,
            training={
                "config": model.config.to_dict() if model.config else {},
                "history": model.history,
                "outcome": model.outcome,
                "epochs": len(model.history),
                "runs": model.runs,
            },
            metrics=model.evaluation,
            files=model.files,
            versions={"cnn-studio": __version__, **versions(), **platform_versions()},
            optimizer_name=state.name if state else None,
            optimizer_weights=list(state.variables) if state else [],
            calibration=model.calibration.to_dict(),
        )

    def open(self, path: Path | str) -> ModelView:
        """Read a model file and make it the current model (nothing changes if it is bad)."""
        from core.use.classify import model_from_bundle, optimizer_state_of, spec_of

        with self._doing("opening"):
            bundle = read_bundle(path)
            keras_model = model_from_bundle(bundle)
            training = bundle.training  # checked on load (core.modelfile.schema)
            config = TrainConfig.from_dict(training.get("config") or {})
            history = training.get("history", [])
            runs = training.get("runs") or [
                {"config": training.get("config"), "epochs": len(history)}
            ]
            self._model_edits = self._edit_count
            self._model = _Model(
                generation=next_generation(),
                origin="opened",
                spec=spec_of(bundle),
                class_names=list(bundle.class_names),
                keras_model=keras_model,
                history=history,
                runs=runs,
                config=config,
                outcome=str(training.get("outcome", "finished")),
                evaluation=dict(bundle.metrics),
                files=dict(bundle.files),
                optimizer_state=optimizer_state_of(bundle),
                saved_path=str(Path(path)),
                saved=True,
                calibration=Calibration.from_dict(bundle.calibration),
            )
        view = self._model_view()
        assert view is not None
        return view

    def export(
        self, fmt: str, path: Path | str, check_dir: Path | str | None = None
    ) -> ExportReport:
        """Export the current model as a self-contained folder ``path`` in format ``fmt``.

        The folder's own classify.py is run in a fresh process on held-out image files (those
        of ``check_dir`` when given, else the model's validation files) and must give the app's
        answers (see :mod:`core.share.export`); returns that check's report, also in parity.json.
        """
        from core.share.check import folder_check_set
        from core.share.export import check_export_target, export_model
        from core.share.formats import FORMATS, install_hint

        model = self._require_model()
        if fmt not in FORMATS:
            raise CnnStudioError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
        if install_hint(fmt):
            raise CnnStudioError(install_hint(fmt))
        check_export_target(path)  # before reading any images
        with self._doing("exporting"):
            if check_dir is not None:
                checks = folder_check_set(Path(check_dir), model.class_names)
            else:
                checks = self._export_checks(model)
            calibration = self._calibration_images(model) if fmt == "tflite-int8" else None
            return export_model(
                model.keras_model, model.spec, model.class_names, fmt, path, checks, calibration
            )

    def _own_dataset(self, model: _Model) -> LoadedDataset | None:
        """The loaded dataset when it is the one ``model`` was trained on (same folder and
        input), else None."""
        data = self._dataset
        if (
            data is not None
            and data.spec == model.spec.input
            and Path(data.root).resolve() == Path(str(model.files.get("root", "")))
        ):
            return data
        return None

    def _export_checks(self, model: _Model) -> CheckSet:
        """Held-out images to check an export on: up to 200 of the model's validation files
        (spread over the classes), else its validation images from the loaded dataset, else
        seeded noise; the last two are written to temporary PNG files for the check."""
        from core.share.check import CheckSet, label_of, spread

        val = [relpath for relpath, _ in model.files.get("val", [])]
        root = Path(str(model.files.get("root", "")))
        if val and root.is_absolute() and root.is_dir():
            base = root.resolve()
            found = []
            for relpath in (val[i] for i in spread(len(val))):
                candidate = base / relpath
                if base in candidate.resolve().parents and candidate.is_file():
                    found.append((candidate, label_of(relpath, model.class_names)))
            if found:  # only regular files inside the dataset folder
                return CheckSet(
                    tuple(p for p, _ in found),
                    tuple(label for _, label in found),
                    "validation files of the model's dataset",
                )
        data = self._own_dataset(model)
        if data is not None:
            index = {p: i for i, p in enumerate(data.paths)}
            rows = np.array([index[p] for p in val if p in index], dtype=int)
            if len(rows):
                rows = rows[spread(len(rows))]
                return CheckSet(
                    (), (), "validation images of the model's dataset", data.images[rows]
                )
        rng = np.random.default_rng(0)
        noise = rng.integers(0, 256, (EXPORT_CHECK_IMAGES, *model.spec.input.shape), np.uint8)
        return CheckSet(
            (), (), "generated noise images (the validation files were not found)", noise
        )

    def _calibration_images(self, model: _Model) -> np.ndarray | None:
        """Up to 200 of the model's training images, for the int8 format's calibration (from
        the loaded dataset when it is the model's own, else from disk); None when none."""
        from core.share.check import spread
        from core.share.export import CALIBRATION_IMAGES

        train = [relpath for relpath, _ in model.files.get("train", [])]
        data = self._own_dataset(model)
        if data is not None:
            index = {p: i for i, p in enumerate(data.paths)}
            rows = np.array([index[p] for p in train if p in index], dtype=int)
            if len(rows):
                return data.images[rows[spread(len(rows), CALIBRATION_IMAGES)]]
        images = []
        root = Path(str(model.files.get("root", "")))
        if root.is_absolute() and root.is_dir():
            base = root.resolve()
            for relpath in (train[i] for i in spread(len(train), CALIBRATION_IMAGES)):
                candidate = base / relpath
                if base in candidate.resolve().parents and candidate.is_file():
                    with contextlib.suppress(ImageError):
                        images.append(to_model_input(candidate, model.spec.input))
        return np.stack(images) if images else None

    def write_report(self, folder: Path | str) -> ReportFiles:
        """Write the current model's card (``model_card.html``) and ``reproduce.py`` into
        ``folder`` (see :mod:`core.share.card`); works for an unsaved model too."""
        from core.share.card import write_report

        model = self._require_model()
        with self._doing("reporting"):
            return write_report(self._bundle(model), folder, model.saved_path)

    # --- using a model ----------------------------------------------------------------------

    def _classifier(self) -> Classifier:
        from core.use.classify import Classifier

        model = self._require_model()
        if model.classifier is None:
            model.classifier = Classifier(model.keras_model, model.class_names, model.spec.input)
        return model.classifier

    def losses(self, batch_size: int = 256) -> np.ndarray:
        """How surprised the current model is by each loaded image's label: its loss (the
        cross-entropy, -ln p(label)), in dataset order, float32; high = a likely label error
        or an unusual picture. Images of a class the model does not know get NaN. Runs the
        network over every image in batches (the engine thread in the GUI)."""
        model = self._require_model()
        data = self._require_dataset()
        if model.spec.input != data.spec:
            raise CnnStudioError(
                f"the model reads {model.spec.input.size} px images and the dataset is loaded at "
                f"{data.spec.size} px; load it at the model's size first"
            )
        classifier = self._classifier()
        with self._doing("scoring"):
            probabilities = classifier.probabilities_in_batches(data.images, batch_size)
        known = {name: k for k, name in enumerate(model.class_names)}
        columns = np.array([known.get(n, -1) for n in data.class_names])[data.labels]
        rows = np.arange(len(data))
        chosen = probabilities[rows, np.maximum(columns, 0)].astype(np.float64)
        losses = -np.log(np.clip(chosen, 1e-12, 1.0))
        losses[columns < 0] = np.nan
        return losses.astype(np.float32)

    def classify(
        self,
        targets: Iterable[Path | str],
        top_k: int | None = 3,
        cancel: CancelToken | None = None,
    ) -> tuple[list[Prediction], list[tuple[str, str]]]:
        """Classify image files and folders of them: (predictions, [(path, reason)])."""
        from core.data.scan import image_files

        classifier = self._classifier()
        with self._doing("classifying"):
            files, skipped = image_files([Path(t) for t in targets])
            predictions, failures = classifier.classify_paths(files, top_k, cancel=cancel)
            return predictions, [*skipped, *failures]

    def evaluate_folder(
        self,
        folder: Path | str,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> Evaluation:
        """Score the current model on a labelled folder (its classes must be the model's).

        ``seen_in_training`` of the result counts the images the model was trained on (exact
        copies, and near copies where the model file records its training images' perceptual
        hashes), and ``unseen`` scores the others, so a front end can give the fair figure
        beside the whole one. A train/valid/test folder is scored on all its images (choose
        its test folder to score only those).
        """
        from core.use.evaluate import evaluate_predictions, unseen_score

        model = self._require_model()
        names = model.class_names
        classifier = self._classifier()
        with self._doing("evaluating"):
            data = self._decode(folder, model.spec.input, progress, cancel)
            if not len(data):
                raise CnnStudioError(
                    f"no images to evaluate in {folder}. " + " ".join(data.problems)
                )
            unknown = [n for n in data.class_names if n not in names]
            if unknown:
                raise CnnStudioError(
                    f"classes not known to the model: {', '.join(unknown)} "
                    f"(it knows {', '.join(names)})"
                )
            labels = np.array([names.index(data.class_names[k]) for k in data.labels])
            probs = classifier.probabilities_in_batches(data.images)
            evaluation = evaluate_predictions(labels, probs, names, data.paths)
            copies = _copies_of_training(model.files, data)
            if copies is not None:
                exact, near = copies
                evaluation.unseen = unseen_score(labels, probs, exact, near)
                evaluation.seen_in_training = len(labels) - evaluation.unseen["images"]
            return evaluation

    def explain(
        self,
        targets: Iterable[Path | str | np.ndarray],
        cancel: CancelToken | None = None,
        batch_size: int = 32,
    ) -> tuple[list[Explanation], list[tuple[str, str]]]:
        """Where the current model looked (Grad-CAM, :mod:`core.use.explain`) for its top answer
        on image files, folders of them, or images given as pixel arrays (named
        ``<image N>``, N their place in ``targets``): ``(explanations, [(path, reason)])`` for
        the files that could not be used. Files are decoded as classification decodes them.
        """
        from core.data.scan import image_files
        from core.use.explain import Explainer
        from core.use.heatmap import Explanation, peak

        model = self._require_model()
        spec = model.spec.input
        if model.explainer is None:
            model.explainer = Explainer(model.keras_model)
        explainer = model.explainer
        explanations: list[Explanation] = []
        failures: list[tuple[str, str]] = []
        pending: list[tuple[str, np.ndarray]] = []

        def flush() -> None:
            if not pending:
                return
            maps, probs, chosen = explainer.explain(np.stack([p for _, p in pending]))
            for (name, pixels), heat, row, k in zip(pending, maps, probs, chosen, strict=True):
                label = model.class_names[int(k)]
                explanations.append(
                    Explanation(name, label, float(row[k]), heat, peak(heat), pixels)
                )
            pending.clear()

        with self._doing("explaining"):
            for n, target in enumerate(targets):
                if isinstance(target, np.ndarray):
                    sources: list[Path | np.ndarray] = [target]
                else:
                    files, skipped = image_files([Path(target)])
                    failures.extend(skipped)
                    sources = list(files)
                for source in sources:
                    if cancel is not None:
                        cancel.raise_if_cancelled()
                    name = f"<image {n}>" if isinstance(source, np.ndarray) else str(source)
                    try:
                        pending.append((name, to_model_input(source, spec)))
                    except ImageError as exc:
                        failures.append((name, exc.reason))
                    if len(pending) >= batch_size:
                        flush()
            flush()
        return explanations, failures

    def network_view(
        self, image: Path | str | np.ndarray, max_maps: int = 16, name: str | None = None
    ) -> NetworkView:
        """What each layer of the current model computes for one image (an image file, or
        pixels, resized to the model's input as classification does): the feature maps,
        filters, units and probabilities of :mod:`core.use.network_view`. ``name`` names the image
        in the result (default: its path, or "the image")."""
        from core.use.network_view import network_view

        model = self._require_model()
        source = name or (str(image) if not isinstance(image, np.ndarray) else "the image")
        with self._doing("looking inside"):
            try:
                pixels = to_model_input(image, model.spec.input)
            except ImageError as exc:
                raise CnnStudioError(f"{source}: {exc.reason}") from None
            return network_view(
                model.keras_model,
                pixels,
                source,
                max_maps,
                model.class_names,
                model.generation,
            )

    def layer_table(self) -> str:
        """The current model's layers in plain words, as printable text."""
        from core.nets.models import describe_text

        return describe_text(self._require_model().keras_model)


def _calibrate(
    model: Any, data: LoadedDataset, val_paths: list[str], train_paths: list[str]
) -> tuple[Calibration, dict[str, Any]]:
    """Fit a temperature on the validation images of ``data``, fold it into ``model`` (see
    :mod:`core.learn.calibration`) and score the calibrated model on them: (calibration, the
    evaluation as a plain dict with mistakes; empty without validation images). A given
    validation folder that holds copies of training images (``train_paths``) is also scored
    on the other images (``"unseen"``, :func:`core.use.evaluate.unseen_score`).

    The network runs over the validation images once; the calibrated probabilities are its
    own under the folded temperature, computed from those in NumPy.
    """
    from core.learn.calibration import calibrate
    from core.use.classify import Classifier
    from core.use.evaluate import evaluate_predictions, unseen_score

    if not val_paths:
        note = "not calibrated: no validation images were held out to fit it on"
        _log.info(note)
        return Calibration(note=note), {}
    index = {p: i for i, p in enumerate(data.paths)}
    rows = np.array([index[p] for p in val_paths])
    labels = data.labels[rows]
    classifier = Classifier(model, data.class_names, data.spec)
    calibration, probabilities = calibrate(
        model, classifier.probabilities_in_batches(data.images[rows]), labels
    )
    if calibration.note:
        _log.info(calibration.note)
    evaluation = evaluate_predictions(labels, probabilities, data.class_names, list(val_paths))
    exact, near = data.copies_of(rows, np.array([index[p] for p in train_paths], np.int64))
    if exact.any() or near.any():
        evaluation.unseen = unseen_score(labels, probabilities, exact, near)
    return calibration, evaluation.to_dict(with_mistakes=True)


def _evaluate_test(
    model: Any, data: LoadedDataset, test: list[tuple[str, str]], train_paths: list[str]
) -> dict[str, Any]:
    """Score ``model`` (as it will be kept: calibrated) on a split dataset's test images, given
    as (path, hash) pairs: the evaluation as a plain dict with the most confident mistakes,
    and ``"unseen"`` when some test images are copies of the ``train_paths`` images."""
    from core.use.classify import evaluate_validation

    return evaluate_validation(model, data, [path for path, _ in test], train_paths)


def _copy_records(data: LoadedDataset, train_paths: list[str]) -> dict[str, Any]:
    """What a model file records about copies: ``"phash"``, the perceptual hash of each
    training image (in the order of the ``"train"`` list), so that evaluation can tell near
    copies of them; and ``"groups"``, the paths of each group of copies the random split kept
    on one side (groups of two or more; none for a given validation folder), so that
    reproduce.py draws the app's split without recomputing them."""
    index = {p: i for i, p in enumerate(data.paths)}
    records: dict[str, Any] = {
        "phash": to_hex(data.phashes[np.array([index[p] for p in train_paths], np.int64)])
    }
    if len(data.part_rows("valid")):
        return records
    rows = data.part_rows("train")
    groups = data.copy_groups(rows)
    members: dict[int, list[str]] = {}
    for row, group in zip(rows.tolist(), groups.tolist(), strict=True):
        members.setdefault(group, []).append(data.paths[row])
    records["groups"] = sorted(sorted(paths) for paths in members.values() if len(paths) > 1)
    return records


def _copies_of_training(
    files: dict[str, Any], data: LoadedDataset
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Which images of ``data`` are copies of the model's training images, by the lists its
    file records: (exact copies by content, near copies by perceptual hash or None when the
    file records no perceptual hashes); None when it records no training list. Compared by
    content, so a copy or a renamed folder of the training images still counts as seen."""
    trained = files.get("train")
    if not trained or files.get("hash", FILES_HASH) != FILES_HASH:
        return None
    recorded = files.get("phash")
    phashes = from_hex(recorded) if recorded and len(recorded) == len(trained) else None
    training_hashes = [digest for _, digest in trained]
    return copies_of_training(data.hashes, data.phashes, training_hashes, phashes)


__all__ = ["Cancelled", "Session", "TrainingSummary"]
