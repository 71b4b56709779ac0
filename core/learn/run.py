"""One training run as the session makes it: train (or continue), calibrate and score, and the
model record that results, with what the model file will record about its files.

:func:`train_record` runs on the thread that trains (the GUI's worker thread, the CLI's main
thread). Importing this module imports no TensorFlow (the trainer the caller hands in has).
Calibrating on the validation images and scoring the test images run the network as
classification does, which is :mod:`core.use`'s job, a stage above this one: the caller hands
that step in as a :data:`Scorer` (the session passes :func:`core.use.scoring.score_run`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.data.dataset import LoadedDataset
from core.data.near_duplicates import to_hex
from core.errors import CnnStudioError
from core.learn.calibration import Calibration, uncalibrate
from core.learn.record import FILES_HASH, ModelRecord, TrainingSummary, learning_curve_of
from core.nets.presets import preset_warning

if TYPE_CHECKING:
    from core.learn.config import TrainConfig
    from core.learn.training import Trainer, TrainingObserver, TrainingResult
    from core.nets.models import ModelSpec
    from core.progress import TrainingControl


@dataclass(frozen=True)
class RunScores:
    """What scoring a finished run gives: the calibration folded into the model, its
    evaluation as a plain dict (with ``"test"`` when test images were scored) and a warning
    when it does no better than chance."""

    calibration: Calibration
    evaluation: dict[str, Any]
    warning: str | None = None


#: Calibrates a trained network on a dataset's validation images and scores it on them and on
#: its test images: ``score(model, data, val_paths, train_paths, test_paths)``.
Scorer = Callable[[Any, LoadedDataset, list[str], list[str], list[str]], RunScores]


def new_spec(preset: str, data: LoadedDataset, augment: bool) -> ModelSpec:
    """The network a new ``preset`` model gets for ``data``'s input and classes; raises
    :class:`CnnStudioError` saying plainly when the preset does not suit the input."""
    from core.nets.models import ModelSpec

    try:
        return ModelSpec(preset, data.spec, max(len(data.class_names), 2), augment)
    except ValueError as exc:
        raise CnnStudioError(f"cannot train {preset} on this input: {exc}") from None


def check_continuable(model: ModelRecord, data: LoadedDataset) -> None:
    """Raise :class:`CnnStudioError` unless ``model`` can go on training on ``data``: the
    same classes and input."""
    if model.class_names != data.class_names or model.spec.input != data.spec:
        raise CnnStudioError(
            "the model's classes or input size differ from the loaded dataset's; load the "
            f"dataset it was trained on ({model.spec.input.size} px, "
            f"{'colour' if model.spec.input.color else 'grayscale'}, classes "
            f"{', '.join(model.class_names)})"
        )


def new_trainer(
    data: LoadedDataset,
    config: TrainConfig,
    observer: TrainingObserver | None,
    control: TrainingControl | None,
) -> Trainer:
    """A :class:`~core.learn.training.Trainer` of ``data`` with ``config``, reporting to
    ``observer`` and obeying ``control`` (the first call imports TensorFlow: seconds)."""
    from core.learn.training import Trainer

    return Trainer(data, config, observer, control)


def train_record(
    trainer: Trainer,
    spec: ModelSpec,
    current: ModelRecord | None,
    score: Scorer,
    new_generation: Callable[[], int],
) -> ModelRecord:
    """Run ``trainer`` (continuing ``current`` when given), calibrate and score: the record
    of the new model, numbered by ``new_generation``. Nothing is replaced here; when the run
    fails or is cancelled, ``current``'s network gets its weights back before the error goes
    on, so the model stays as it was."""
    before = current.keras_model.get_weights() if current is not None else None
    try:
        return _trained(trainer, spec, current, score, new_generation)
    except BaseException:
        if current is not None and before is not None:
            current.keras_model.set_weights(before)  # the model stays as it was
        raise


def _trained(
    trainer: Trainer,
    spec: ModelSpec,
    current: ModelRecord | None,
    score: Scorer,
    new_generation: Callable[[], int],
) -> ModelRecord:
    data = trainer.dataset
    if current is None:
        result = trainer.run(spec)  # built in the run's precision, on its devices
    else:
        # Training goes on from the weights it stopped at (its optimizer state belongs to
        # them), not from the calibrated ones; the run is calibrated afresh below.
        uncalibrate(current.keras_model, current.calibration)
        result = trainer.run(spec, current.keras_model, current.history, current.optimizer_state)
    test = [(data.paths[i], data.hashes[i]) for i in data.part_rows("test")]
    # A split dataset's test folder is never trained on: it is scored once, here.
    scores = score(
        result.model, data, result.val_paths, result.train_paths, [path for path, _ in test]
    )
    warnings = [*data.warnings, *result.warnings]
    unsuited = preset_warning(spec.preset, spec.input.size, spec.input.color)
    if unsuited:
        warnings.append(unsuited)
    if scores.warning:
        warnings.append(scores.warning)
    earlier = len(current.history) if current is not None else 0
    runs = list(current.runs) if current is not None else []
    runs.append(
        {
            "config": result.config.to_dict(),  # with the values the run really used
            "epochs": result.epochs_done - earlier,
            "outcome": result.outcome,
            # Which epoch's weights the model holds, when early stopping went back to one.
            **({"best_epoch": result.best_epoch} if result.best_epoch is not None else {}),
            # How more photos would help (a pretrained head's run only).
            **({"learning_curve": result.learning_curve} if result.learning_curve else {}),
        }
    )
    return ModelRecord(
        generation=new_generation(),
        origin="trained",
        spec=spec,
        class_names=list(data.class_names),
        keras_model=result.model,
        history=list(result.history),
        runs=runs,
        config=result.config,
        outcome=result.outcome,
        evaluation=scores.evaluation,
        files=file_records(data, result, test),
        optimizer_state=result.optimizer_state,
        # A continued model keeps its file name (Save proposes it) but is not saved yet.
        saved_path=current.saved_path if current is not None else None,
        warnings=warnings,
        devices=result.devices,
        calibration=scores.calibration,
    )


def file_records(
    data: LoadedDataset, result: TrainingResult, test: list[tuple[str, str]]
) -> dict[str, Any]:
    """What a model file records about the images of ``data`` the run used: the folder, the
    ``"train"``, ``"val"`` (and ``"test"``) lists of [relpath, hash], and the copies
    (:func:`copy_records`)."""
    return {
        "root": str(Path(data.root).resolve()),
        "hash": FILES_HASH,
        "train": [list(p) for p in zip(result.train_paths, result.train_hashes, strict=True)],
        "val": [list(p) for p in zip(result.val_paths, result.val_hashes, strict=True)],
        **({"test": [list(p) for p in test]} if test else {}),
        **copy_records(data, result.train_paths),
    }


def copy_records(data: LoadedDataset, train_paths: list[str]) -> dict[str, Any]:
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


def summary_of(model: ModelRecord) -> TrainingSummary:
    """The summary of the run that made ``model`` (its latest)."""
    from core.nets.runtime import thread_pools

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
        best_epoch=model.runs[-1].get("best_epoch"),
        learning_curve=learning_curve_of(model.runs),
    )
