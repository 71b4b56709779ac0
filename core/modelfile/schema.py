"""The checks that ``meta.json`` of a model file passes before anything uses it.

A model file may come from anywhere, so every field is checked against the schema here, in one
place: types, ranges, lengths, and the ties between fields (the confusion matrix is classes x
classes, a mistake names known classes, a stored file path stays inside its dataset folder).
A failed check raises :class:`ModelFileError` naming the field; nothing downstream (the session,
the Train tab, export) then needs to guard against a crafted value.

Needs only the standard library (and the config, preset and calibration limits), like
:mod:`core.modelfile.bundle`.
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any

from core.data.images import PREPROCESSING_VERSION
from core.errors import ModelFileError
from core.learn.calibration import MAX_TEMPERATURE, MIN_TEMPERATURE
from core.learn.config import OPTIMIZERS, TrainConfig
from core.nets.presets import BACKBONE_IDS, PRESET_NAMES, is_pretrained, pretrained_input_problem

FORMAT = "cnnstudio-model"
SCHEMA_VERSION = 1
OUTCOMES = ("finished", "stopped", "early-stopped")
MAX_LIST = 10_000_000  # entries of any list (file lists of huge datasets stay well below)
MAX_TEXT = 4096  # characters of any text field
MAX_CLASSES = 10_000
MIN_SIZE, MAX_SIZE = 8, 512

_TOP_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "schema_version": int,
    "app_version": str,
    "created": str,
    "architecture": dict,
    "input": dict,
    "class_names": list,
    "preprocessing": dict,
    "training": dict,
    "metrics": dict,
    "files": dict,
    "versions": dict,
    "weights": list,
    "optimizer": (dict, type(None)),
    "calibration": dict,
}
_OPTIONAL_TOP = {"metrics", "files", "versions", "optimizer", "calibration"}


def reject(where: str, what: str) -> ModelFileError:
    """The error for field ``where`` (a dotted path in meta.json)."""
    return ModelFileError(f"meta.json '{where}' {what}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any, where: str, empty: bool = True) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or (not empty and not value):
        raise reject(where, f"must be a text of at most {MAX_TEXT} characters")
    if "\x00" in value:
        raise reject(where, "contains a NUL character")
    return value


def _count(value: Any, where: str) -> int:
    if not _is_int(value) or value < 0:
        raise reject(where, "must be a whole number, 0 or more")
    return value


def _fraction(value: Any, where: str) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise reject(where, "must be a number from 0 to 1")
    return float(value)


def _dict(value: Any, where: str, allowed: set[str] | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise reject(where, "must be an object")
    if allowed is not None and not set(value) <= allowed:
        unknown = ", ".join(sorted(set(value) - allowed))
        raise reject(where, f"has unknown fields: {unknown}")
    return value


def _list(value: Any, where: str, length: int | None = None) -> list[Any]:
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise reject(where, "must be a list")
    if length is not None and len(value) != length:
        raise reject(where, f"must have {length} entries, not {len(value)}")
    return value


def check_meta(meta: Any) -> dict[str, Any]:
    """Return ``meta`` (parsed meta.json) if every field is valid; else raise ModelFileError."""
    _check_top(meta)
    _check_architecture(meta["architecture"])
    _check_input(meta["input"])
    if is_pretrained(meta["architecture"]["preset"]):
        problem = pretrained_input_problem(meta["input"]["size"], meta["input"]["color"])
        if problem:
            raise reject("input", f"does not suit the architecture: {problem}")
    names = _check_class_names(meta["class_names"])
    _check_preprocessing(meta["preprocessing"])
    _text(meta["app_version"], "app_version")
    _text(meta["created"], "created")
    _check_training(meta["training"])
    metrics = dict(_dict(meta.get("metrics") or {}, "metrics"))
    # The test folder's results (core.data.layout), when it had one.
    test = metrics.pop("test", None)
    _check_metrics(metrics, names)
    if test is not None:
        _check_test_metrics(test, names)
    _check_files(meta.get("files") or {})
    _check_calibration(meta.get("calibration") or {})
    for key, value in _dict(meta.get("versions") or {}, "versions").items():
        _text(value, f"versions.{_text(key, 'versions')}")
    _check_arrays(meta["weights"], "weights")
    optimizer = meta.get("optimizer")
    if optimizer is not None:
        _dict(optimizer, "optimizer", {"name", "variables"})
        if optimizer.get("name") not in OPTIMIZERS:
            raise reject("optimizer.name", f"must be one of {', '.join(OPTIMIZERS)}")
        _check_arrays(optimizer.get("variables"), "optimizer.variables")
    return meta


def _check_top(meta: Any) -> None:
    if not isinstance(meta, dict):
        raise ModelFileError("meta.json is not an object")
    if meta.get("format") != FORMAT:
        raise ModelFileError("not a CNN Studio model file (wrong format marker)")
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise ModelFileError(
            f"model file schema version {version!r} is not supported (this app reads "
            f"version {SCHEMA_VERSION}); it may come from a newer CNN Studio"
        )
    unknown = set(meta) - set(_TOP_FIELDS)
    if unknown:
        raise ModelFileError(f"meta.json has unknown fields: {', '.join(sorted(unknown))}")
    for name, kind in _TOP_FIELDS.items():
        if name not in meta:
            if name in _OPTIONAL_TOP:
                continue
            raise ModelFileError(f"meta.json lacks the field {name!r}")
        if not isinstance(meta[name], kind) or (kind is int and isinstance(meta[name], bool)):
            raise ModelFileError(f"meta.json field {name!r} has the wrong type")


def _check_architecture(arch: dict[str, Any]) -> None:
    keys = set(arch)
    if not {"preset", "augment"} <= keys <= {"preset", "augment", "backbone"} or not isinstance(
        arch["augment"], bool
    ):
        raise reject("architecture", "must hold 'preset', 'augment' and optionally 'backbone'")
    if arch["preset"] not in PRESET_NAMES:
        raise ModelFileError(f"unknown architecture preset {arch['preset']!r}")
    # The pretrained backbone the preset is built on, named since EfficientNet-Lite0 was added
    # (files made before name none: their "photos-pretrained" is MobileNetV2 α 0.35).
    if "backbone" in arch and arch["backbone"] != BACKBONE_IDS.get(arch["preset"]):
        built_on = BACKBONE_IDS.get(arch["preset"], "no pretrained backbone")
        raise reject(
            "architecture.backbone",
            f"names {str(arch['backbone'])[:80]!r}, but preset {arch['preset']!r} is built on "
            f"{built_on}",
        )


def _check_input(spec: dict[str, Any]) -> None:
    if not {"size", "color"} <= set(spec) <= {"size", "color", "crop"} or not all(
        isinstance(spec.get(k, False), bool) for k in ("color", "crop")
    ):
        raise reject("input", "must hold 'size', 'color' and optionally 'crop'")
    if not _is_int(spec["size"]) or not MIN_SIZE <= spec["size"] <= MAX_SIZE:
        raise reject("input.size", f"must be a whole number from {MIN_SIZE} to {MAX_SIZE}")


def _check_class_names(names: list[Any]) -> list[str]:
    if not 2 <= len(names) <= MAX_CLASSES:
        raise reject("class_names", f"must list from 2 to {MAX_CLASSES} names")
    for i, name in enumerate(names):
        _text(name, f"class_names[{i}]", empty=False)
    if len(set(names)) != len(names):
        raise reject("class_names", "has duplicates")
    return names


def _check_preprocessing(pre: dict[str, Any]) -> None:
    if pre.get("recipe") != PREPROCESSING_VERSION:
        raise ModelFileError("the model was made with a different preprocessing recipe")
    for key, value in pre.items():
        if not isinstance(value, str | int | float | bool):
            raise reject(f"preprocessing.{_text(key, 'preprocessing')}", "must be a plain value")


def check_config(config: Any, where: str) -> None:
    """A stored training config: a valid :class:`TrainConfig` (unknown keys may hold plain
    values from other versions and are ignored)."""
    config = _dict(config, where)
    for key, value in config.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise reject(f"{where}.{_text(key, where)}", "must be a plain value")
    try:
        TrainConfig.from_dict(config)
    except ValueError as exc:
        raise reject(where, f"is not a valid training setting ({exc})") from None


def _check_training(training: dict[str, Any]) -> None:
    _dict(training, "training", {"config", "history", "outcome", "epochs", "runs"})
    if "config" in training:
        check_config(training["config"], "training.config")
    for i, epoch in enumerate(_list(training.get("history", []), "training.history")):
        where = f"training.history[{i}]"
        for key, value in _dict(epoch, where).items():
            if not _is_number(value):
                raise reject(f"{where}.{_text(key, where)}", "must be a finite number")
    if "outcome" in training and training["outcome"] not in OUTCOMES:
        raise reject("training.outcome", f"must be one of {', '.join(OUTCOMES)}")
    if "epochs" in training:
        _count(training["epochs"], "training.epochs")
    epochs = len(training.get("history", []))
    for i, run in enumerate(_list(training.get("runs", []), "training.runs")):
        where = f"training.runs[{i}]"
        _dict(run, where, {"config", "epochs", "outcome", "best_epoch", "learning_curve"})
        if run.get("config") is not None:
            check_config(run["config"], f"{where}.config")
        _count(run.get("epochs", 0), f"{where}.epochs")
        if run.get("outcome", "finished") not in OUTCOMES:
            raise reject(f"{where}.outcome", f"must be one of {', '.join(OUTCOMES)}")
        # The epoch whose weights early stopping restored (files from before it was recorded
        # have none).
        best = run.get("best_epoch")
        if best is not None and not (_is_int(best) and 1 <= best <= epochs):
            raise reject(f"{where}.best_epoch", f"must be a whole number from 1 to {epochs}")
        if "learning_curve" in run:  # files from before curves were measured have none
            _check_learning_curve(run["learning_curve"], f"{where}.learning_curve")


#: Points a stored learning curve may hold (the app stores four).
MAX_CURVE_POINTS = 100


def _check_learning_curve(curve: Any, where: str) -> None:
    """A pretrained head's learning curve (core.learn.learning_curve): [images, accuracy]
    pairs, images growing (whole numbers, 1 or more), accuracy from 0 to 1."""
    points = _list(curve, where)
    if not 1 <= len(points) <= MAX_CURVE_POINTS:
        raise reject(where, f"must hold 1 to {MAX_CURVE_POINTS} points")
    before = 0
    for i, point in enumerate(points):
        images, accuracy = _list(point, f"{where}[{i}]", 2)
        if not _is_int(images) or images <= before:
            raise reject(f"{where}[{i}][0]", "must be a whole number above the point before's")
        _fraction(accuracy, f"{where}[{i}][1]")
        before = images


def _check_metrics(metrics: dict[str, Any], names: list[str]) -> None:
    """Validation results as :meth:`core.use.evaluate.Evaluation.to_dict` writes them (or {})."""
    allowed = {
        "accuracy",
        "per_class",
        "confusion_matrix",
        "class_names",
        "misclassified",
        "calibration_error",
        "unseen",
    }
    _dict(metrics, "metrics", allowed)
    if not metrics:
        return
    if not {"accuracy", "per_class", "confusion_matrix"} <= set(metrics):
        raise reject("metrics", "must hold accuracy, per_class and confusion_matrix")
    _fraction(metrics["accuracy"], "metrics.accuracy")
    if "calibration_error" in metrics:
        _fraction(metrics["calibration_error"], "metrics.calibration_error")
    if "unseen" in metrics:  # held-out images that are copies of training images, left out
        unseen = _dict(
            metrics["unseen"],
            "metrics.unseen",
            {"accuracy", "images", "exact_copies", "near_copies"},
        )
        if unseen.get("accuracy") is not None:
            _fraction(unseen["accuracy"], "metrics.unseen.accuracy")
        for key in ("images", "exact_copies"):
            _count(unseen.get(key), f"metrics.unseen.{key}")
        if unseen.get("near_copies") is not None:
            _count(unseen["near_copies"], "metrics.unseen.near_copies")
    if metrics.get("class_names", names) != names:
        raise reject("metrics.class_names", "differ from the model's class names")
    per_class = _dict(metrics["per_class"], "metrics.per_class")
    if list(per_class) != names:
        raise reject("metrics.per_class", "must have one entry per class, in class order")
    for name, scores in per_class.items():
        where = f"metrics.per_class.{name}"
        _dict(scores, where, {"precision", "recall", "f1", "support"})
        for key in ("precision", "recall", "f1"):
            _fraction(scores.get(key), f"{where}.{key}")
        _count(scores.get("support"), f"{where}.support")
    rows = _list(metrics["confusion_matrix"], "metrics.confusion_matrix", len(names))
    for i, row in enumerate(rows):
        for j, cell in enumerate(_list(row, f"metrics.confusion_matrix[{i}]", len(names))):
            _count(cell, f"metrics.confusion_matrix[{i}][{j}]")
    for i, case in enumerate(_list(metrics.get("misclassified", []), "metrics.misclassified")):
        where = f"metrics.misclassified[{i}]"
        _dict(case, where, {"path", "true", "predicted", "probability", "probabilities"})
        _text(case.get("path"), f"{where}.path")
        for key in ("true", "predicted"):
            if case.get(key) not in names:
                raise reject(f"{where}.{key}", "must be one of the model's classes")
        _fraction(case.get("probability"), f"{where}.probability")
        probabilities = _dict(case.get("probabilities"), f"{where}.probabilities", set(names))
        for name, value in probabilities.items():
            _fraction(value, f"{where}.probabilities.{name}")


def _check_test_metrics(test: Any, names: list[str]) -> None:
    """Results on a split dataset's test images: checked like the validation results, a fault
    named under ``metrics.test``."""
    if not _dict(test, "metrics.test"):
        raise reject("metrics.test", "must not be empty")
    try:
        _check_metrics(test, names)
    except ModelFileError as exc:
        raise ModelFileError(str(exc).replace("'metrics", "'metrics.test", 1)) from None


def _check_files(files: dict[str, Any]) -> None:
    """The dataset the model was trained on: an absolute root and relative [path, hash] pairs
    that stay inside it (export reads validation images through them)."""
    _dict(files, "files", {"root", "hash", "train", "val", "test", "phash", "groups"})
    if "root" in files:
        root = _text(files["root"], "files.root", empty=False)
        if not PurePath(root).is_absolute():
            raise reject("files.root", "must be an absolute folder path")
    if "hash" in files:
        _text(files["hash"], "files.hash")
    for part in ("train", "val", "test"):
        for i, entry in enumerate(_list(files.get(part, []), f"files.{part}")):
            where = f"files.{part}[{i}]"
            path, digest = _list(entry, where, 2)
            relpath = PurePath(_text(path, where, empty=False))
            if relpath.is_absolute() or ".." in relpath.parts or relpath.drive:
                raise reject(where, "must be a path inside the dataset folder")
            _text(digest, where)
    # Optional (files from before copies were kept apart have neither): the training images'
    # perceptual hashes, 16 hex digits each, and the groups of copies the split kept together.
    for i, value in enumerate(_list(files.get("phash", []), "files.phash")):
        if not isinstance(value, str) or len(value) != 16 or value.strip("0123456789abcdef"):
            raise reject(f"files.phash[{i}]", "must be 16 hex digits")
    for i, group in enumerate(_list(files.get("groups", []), "files.groups")):
        for j, path in enumerate(_list(group, f"files.groups[{i}]")):
            _text(path, f"files.groups[{i}][{j}]", empty=False)


def _check_calibration(calibration: dict[str, Any]) -> None:
    """The temperature folded into the weights and what it did on the validation images (see
    :class:`core.learn.calibration.Calibration`); absent in files from before calibration."""
    _dict(
        calibration,
        "calibration",
        {"method", "temperature", "ece_before", "ece_after", "images", "bins", "costs", "note"},
    )
    if not calibration:
        return
    if calibration.get("method", "temperature") != "temperature":
        raise reject("calibration.method", "must be 'temperature'")
    temperature = calibration.get("temperature", 1.0)
    if not _is_number(temperature) or not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise reject(
            "calibration.temperature",
            f"must be a number from {MIN_TEMPERATURE} to {MAX_TEMPERATURE}",
        )
    for key in ("ece_before", "ece_after"):
        if key in calibration:
            _fraction(calibration[key], f"calibration.{key}")
    _count(calibration.get("images", 0), "calibration.images")
    _text(calibration.get("note", ""), "calibration.note")
    for i, entry in enumerate(_list(calibration.get("bins", []), "calibration.bins")):
        where = f"calibration.bins[{i}]"
        _dict(entry, where, {"lower", "upper", "confidence", "accuracy", "count"})
        for key in ("lower", "upper", "confidence", "accuracy"):
            _fraction(entry.get(key), f"{where}.{key}")
        _count(entry.get("count"), f"{where}.count")
    for i, entry in enumerate(_list(calibration.get("costs", []), "calibration.costs")):
        where = f"calibration.costs[{i}]"
        _dict(entry, where, {"threshold", "answered", "accuracy"})
        _fraction(entry.get("threshold"), f"{where}.threshold")
        _fraction(entry.get("answered"), f"{where}.answered")
        if entry.get("accuracy") is not None:
            _fraction(entry["accuracy"], f"{where}.accuracy")


def _check_arrays(listed: Any, where: str) -> None:
    for i, entry in enumerate(_list(listed, where)):
        _dict(entry, f"{where}[{i}]", {"shape", "dtype"})
        shape = _list(entry.get("shape"), f"{where}[{i}].shape")
        if len(shape) > 8 or not all(_is_int(n) and n >= 0 for n in shape):
            raise reject(f"{where}[{i}].shape", "must list at most 8 sizes")
        _text(entry.get("dtype"), f"{where}[{i}].dtype")
