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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.bundle import SUFFIX, ModelBundle, read_bundle, save_bundle
from core.config import TrainConfig
from core.dataset import LoadedDataset, load_dataset
from core.demo import default_data_dir
from core.errors import Cancelled, CnnStudioError, DatasetError, ImageError, SaveError
from core.evaluate import chance_warning
from core.images import InputSpec, to_model_input
from core.presets import preset_warning
from core.progress import CancelToken, ProgressCallback, TrainingControl, no_progress
from core.state import DatasetView, ModelView, SessionState, frozen_mapping, next_generation

if TYPE_CHECKING:
    from core.advice import Advice
    from core.classify import Classifier
    from core.evaluate import Evaluation
    from core.models import ModelSpec
    from core.predictions import Prediction
    from core.scan import DatasetIndex
    from core.training import OptimizerState, Trainer, TrainingObserver

Listener = Callable[[SessionState], None]
#: Held-out images an export is checked on (at most).
EXPORT_CHECK_IMAGES = 32
#: What the hashes in a model file's ``files`` lists are (``files.hash``): the same key as the
#: dataset's, so evaluation can tell which images the model was trained on.
FILES_HASH = "sha1 of the preprocessed model input"


#: Below the user data folder: where a trained model goes when its own target fails.
RECOVERY_FOLDER = "recovered models"


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
    files: dict[str, Any]  # "root", "train" and "val" lists of [relpath, hash]
    optimizer_state: OptimizerState | None
    saved_path: str | None = None
    saved: bool = False
    warnings: list[str] = field(default_factory=list)
    classifier: Classifier | None = None
    devices: tuple[str, ...] = ()  # where its latest training run ran (not stored in files)


@dataclass(frozen=True)
class TrainingSummary:
    """What one training run did, as plain data."""

    outcome: str  # "finished", "stopped" (by the user) or "early-stopped"
    epochs: int  # epochs of this run
    history: list[dict[str, float]]  # every epoch of the model, this run's last
    evaluation: dict[str, Any]
    warnings: list[str]
    threads: dict[str, int]
    precision: str = "float32"  # what the run computed in (see core.precision)
    devices: tuple[str, ...] = ()  # where it ran (several: one replica each)

    def to_dict(self) -> dict[str, Any]:
        return {
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

    def __init__(self, listener: Listener | None = None, use_cache: bool = True) -> None:
        self._listener = listener
        self._use_cache = use_cache
        self._dataset: LoadedDataset | None = None
        self._dataset_view: DatasetView | None = None
        self._model: _Model | None = None
        self._activity: str | None = None

    # --- state ------------------------------------------------------------------------------

    def state(self) -> SessionState:
        """The current state as frozen plain data (cheap: no copies of images)."""
        return SessionState(self._dataset_view, self._model_view(), self._activity)

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
    ) -> DatasetView:
        """Scan, measure and decode ``folder`` and make it the current dataset.

        Without ``spec`` the input is the one chosen for the data (:mod:`core.advice`), with
        ``size``, ``color`` or ``crop`` overriding its parts. Raises :class:`Cancelled` (the
        previous dataset stays current) or a :class:`CnnStudioError` naming what is wrong.
        """
        from core.advice import advise, measure
        from core.demo import demo_advice, is_demo
        from core.scan import scan_folder

        with self._doing("loading"):
            index = scan_folder(folder, progress=progress, cancel=cancel)
            if is_demo(index.root, index.class_names):
                advice = demo_advice()
            else:
                advice = advise(measure(index))
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
        from core.cache import DatasetCache

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
        from core.demo import demo_dataset

        with self._doing("loading"):
            progress(0.0, "Drawing the demo dataset…")
            folder = demo_dataset()
        return self.load_dataset(folder, spec, progress, cancel)

    def _set_dataset(self, dataset: LoadedDataset, advice: Advice | None = None) -> None:
        self._dataset = dataset
        self._dataset_view = DatasetView.of(dataset, advice)

    # --- models -----------------------------------------------------------------------------

    def describe(
        self, preset: str, augment: bool, spec: InputSpec | None = None, classes: int = 0
    ) -> tuple[list[dict[str, object]], int]:
        """The layers of ``preset`` in plain words, for the loaded dataset's input and classes
        (or ``spec``/``classes``): (rows, total parameters)."""
        from core.models import ModelSpec, build_model, describe

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
        from core.models import ModelSpec

        data = self._require_dataset()
        spec = ModelSpec(preset, data.spec, max(len(data.class_names), 2), augment)
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
        from core.runtime import thread_pools
        from core.training import Trainer

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
        return TrainingSummary(
            outcome=model.outcome,
            epochs=model.runs[-1]["epochs"],
            history=list(model.history),
            evaluation=model.evaluation,
            warnings=list(model.warnings),
            threads=thread_pools(),
            precision=model.config.precision if model.config else "float32",
            devices=model.devices,
        )

    def _train_model(
        self,
        trainer: Trainer,
        spec: ModelSpec,
        current: _Model | None,
    ) -> _Model:
        """Run ``trainer`` and evaluate: the new current model (nothing is replaced here)."""
        from core.classify import evaluate_validation

        data = self._require_dataset()
        if current is None:
            result = trainer.run(spec)  # built in the run's precision, on its devices
        else:
            result = trainer.run(
                spec, current.keras_model, current.history, current.optimizer_state
            )
        evaluation = evaluate_validation(result.model, data, result.val_paths)
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
            },
            optimizer_state=result.optimizer_state,
            # A continued model keeps its file name (Save proposes it) but is not saved yet.
            saved_path=current.saved_path if current is not None else None,
            warnings=warnings,
            devices=result.devices,
        )

    # --- the cache --------------------------------------------------------------------------

    def cache_usage(self) -> tuple[int, int]:
        """(files, bytes) held in the cache of decoded images and backbone features."""
        from core.cache import cache_usage

        return cache_usage()

    def clear_cache(self) -> tuple[int, int]:
        """Empty the cache (decoded images, backbone features): (files, bytes) freed. Nothing
        the user made is there; the next load of a folder decodes it again."""
        from core.cache import clear_cache

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
        from core.runtime import versions

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
            versions={"cnn-studio": __version__, **versions()},
            optimizer_name=state.name if state else None,
            optimizer_weights=list(state.variables) if state else [],
        )

    def open(self, path: Path | str) -> ModelView:
        """Read a model file and make it the current model (nothing changes if it is bad)."""
        from core.classify import model_from_bundle, optimizer_state_of, spec_of

        with self._doing("opening"):
            bundle = read_bundle(path)
            keras_model = model_from_bundle(bundle)
            training = bundle.training  # checked on load (core.meta_schema)
            config = TrainConfig.from_dict(training.get("config") or {})
            history = training.get("history", [])
            runs = training.get("runs") or [
                {"config": training.get("config"), "epochs": len(history)}
            ]
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
            )
        view = self._model_view()
        assert view is not None
        return view

    def export(self, fmt: str, path: Path | str) -> Path:
        """Export the current model (checked in a fresh process) and return the written path."""
        from core.export import export_model

        model = self._require_model()
        with self._doing("exporting"):
            return export_model(
                model.keras_model, model.spec, fmt, path, self._export_checks(model)
            )

    def _export_checks(self, model: _Model) -> np.ndarray:
        """Held-out images to check an export on: the model's validation images (from the
        loaded dataset when it is the model's own, else from disk), or seeded noise."""
        spec = model.spec.input
        val = [relpath for relpath, _ in model.files.get("val", [])]
        data = self._dataset
        if (
            data is not None
            and data.spec == spec
            and Path(data.root).resolve() == Path(str(model.files.get("root", "")))
        ):
            rows = {p: i for i, p in enumerate(data.paths)}
            chosen = [rows[p] for p in val if p in rows][:EXPORT_CHECK_IMAGES]
            if chosen:
                return data.images[chosen]
        checks = []
        root = Path(str(model.files.get("root", "")))
        if root.is_absolute() and root.is_dir():
            base = root.resolve()
            for relpath in val[: EXPORT_CHECK_IMAGES * 2]:
                candidate = (base / relpath).resolve()
                if base not in candidate.parents or not candidate.is_file():
                    continue  # only regular files inside the dataset folder
                with contextlib.suppress(ImageError):
                    checks.append(to_model_input(candidate, spec))
                if len(checks) == EXPORT_CHECK_IMAGES:
                    break
        if checks:
            return np.stack(checks)
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (16, *spec.shape), dtype=np.uint8)

    # --- using a model ----------------------------------------------------------------------

    def _classifier(self) -> Classifier:
        from core.classify import Classifier

        model = self._require_model()
        if model.classifier is None:
            model.classifier = Classifier(model.keras_model, model.class_names, model.spec.input)
        return model.classifier

    def classify(
        self,
        targets: Iterable[Path | str],
        top_k: int | None = 3,
        cancel: CancelToken | None = None,
    ) -> tuple[list[Prediction], list[tuple[str, str]]]:
        """Classify image files and folders of them: (predictions, [(path, reason)])."""
        from core.scan import image_files

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
        """Score the current model on a labelled folder (its classes must be the model's)."""
        from core.evaluate import evaluate_predictions

        model = self._require_model()
        names = model.class_names
        classifier = self._classifier()
        with self._doing("classifying"):
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
            evaluation.seen_in_training = _seen_in_training(model.files, data.hashes)
            return evaluation

    def layer_table(self) -> str:
        """The current model's layers in plain words, as printable text."""
        from core.models import describe_text

        return describe_text(self._require_model().keras_model)


def _seen_in_training(files: dict[str, Any], hashes: list[str]) -> int | None:
    """How many of ``hashes`` (model inputs) the model was trained on, by the training list its
    file records; None when it records none. Compared by content, so a copy or a renamed folder
    of the training images still counts as seen."""
    trained = files.get("train")
    if not trained or files.get("hash", FILES_HASH) != FILES_HASH:
        return None
    known = {digest for _, digest in trained}
    return sum(digest in known for digest in hashes)


__all__ = ["Cancelled", "Session", "TrainingSummary"]
