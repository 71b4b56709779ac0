"""Sharing the session's model: the :class:`~core.modelfile.bundle.ModelBundle` it is saved
and reported as, and an export with the held-out images its check runs on (and, for the int8
format, the training images it is calibrated on).

The session (:mod:`core.session`) calls these with its model record and, where it helps, the
loaded dataset; they run on the session's thread (the engine's worker thread in the GUI).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.data.dataset import LoadedDataset
from core.data.images import to_model_input
from core.errors import CnnStudioError, ImageError
from core.learn.record import ModelRecord
from core.modelfile.bundle import ModelBundle
from core.share.check import CheckSet, folder_check_set, label_of, spread
from core.share.formats import FORMATS, install_hint

if TYPE_CHECKING:
    from core.share.check import ExportReport

#: Generated images an export is checked on when the model's validation files are not found.
EXPORT_CHECK_IMAGES = 32


def bundle_of(model: ModelRecord) -> ModelBundle:
    """``model`` as the plain data a model file holds, with the versions it was made with."""
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


def check_export(fmt: str, path: Path | str) -> None:
    """Refuse, before any image is read, an unknown format, one whose converter is not
    installed, or a target folder that cannot be written: a :class:`CnnStudioError` (or
    :class:`~core.errors.SaveError`) saying so."""
    from core.share.export import check_export_target

    if fmt not in FORMATS:
        raise CnnStudioError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    if install_hint(fmt):
        raise CnnStudioError(install_hint(fmt))
    check_export_target(path)


def export_record(
    model: ModelRecord,
    fmt: str,
    path: Path | str,
    check_dir: Path | str | None,
    loaded: LoadedDataset | None,
) -> ExportReport:
    """Export ``model`` as the folder ``path`` in format ``fmt`` and check it on the files of
    ``check_dir`` (else on :func:`export_checks`); ``loaded`` is the session's dataset, used
    when it is the model's own. Returns the check's report (see :mod:`core.share.export`)."""
    from core.share.export import export_model

    if check_dir is not None:
        checks = folder_check_set(Path(check_dir), model.class_names)
    else:
        checks = export_checks(model, loaded)
    calibration = calibration_images(model, loaded) if fmt == "tflite-int8" else None
    return export_model(
        model.keras_model, model.spec, model.class_names, fmt, path, checks, calibration
    )


def own_dataset(model: ModelRecord, loaded: LoadedDataset | None) -> LoadedDataset | None:
    """``loaded`` when it is the dataset ``model`` was trained on (same folder and input),
    else None."""
    if (
        loaded is not None
        and loaded.spec == model.spec.input
        and Path(loaded.root).resolve() == Path(str(model.files.get("root", "")))
    ):
        return loaded
    return None


def export_checks(model: ModelRecord, loaded: LoadedDataset | None) -> CheckSet:
    """Held-out images to check an export on: up to 200 of the model's validation files
    (spread over the classes), else its validation images from the loaded dataset, else
    seeded noise; the last two are written to temporary PNG files for the check."""
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
    data = own_dataset(model, loaded)
    if data is not None:
        index = {p: i for i, p in enumerate(data.paths)}
        rows = np.array([index[p] for p in val if p in index], dtype=int)
        if len(rows):
            rows = rows[spread(len(rows))]
            return CheckSet((), (), "validation images of the model's dataset", data.images[rows])
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (EXPORT_CHECK_IMAGES, *model.spec.input.shape), np.uint8)
    return CheckSet((), (), "generated noise images (the validation files were not found)", noise)


def calibration_images(model: ModelRecord, loaded: LoadedDataset | None) -> np.ndarray | None:
    """Up to 200 of the model's training images, for the int8 format's calibration (from
    the loaded dataset when it is the model's own, else from disk); None when none."""
    from core.share.export import CALIBRATION_IMAGES

    train = [relpath for relpath, _ in model.files.get("train", [])]
    data = own_dataset(model, loaded)
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
