"""Scoring a model on labelled images: a finished training run (calibrated on its validation
images, scored on them and on its test images), a labelled folder (with the images it was
trained on told apart), and each loaded image's loss.

Importing this module imports no TensorFlow; the functions that run the network do, so call
them on the thread that runs TensorFlow (the engine's worker thread in the GUI). They take the
model's record, the dataset and a classifier, and return plain results: the session
(:mod:`core.session`) publishes what they change.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.data.dataset import LoadedDataset
from core.data.near_duplicates import copies_of_training as copies_by_hash
from core.data.near_duplicates import from_hex
from core.errors import CnnStudioError
from core.learn.calibration import Calibration, calibrate
from core.learn.record import FILES_HASH, ModelRecord
from core.learn.run import RunScores
from core.use.evaluate import Evaluation, chance_warning, evaluate_predictions, unseen_score

if TYPE_CHECKING:
    from core.use.classify import Classifier

#: Says why a trained model was not calibrated (the note is in its file too).
_log = logging.getLogger("cnnstudio.calibration")


def score_run(
    model: Any,
    data: LoadedDataset,
    val_paths: list[str],
    train_paths: list[str],
    test_paths: list[str],
) -> RunScores:
    """Calibrate a freshly trained ``model`` on its validation images and score it on them
    and (as it will be kept: calibrated) on a split dataset's test images: the
    :data:`core.learn.run.Scorer` a training run is given."""
    from core.use.classify import evaluate_validation

    calibration, evaluation = calibrate_and_score(model, data, val_paths, train_paths)
    if test_paths:
        scored = evaluate_validation(model, data, test_paths, train_paths)
        evaluation = {**evaluation, "test": scored}
    return RunScores(calibration, evaluation, chance_warning(evaluation))


def calibrate_and_score(
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
    from core.use.by_features import dataset_probabilities  # TensorFlow: imported on use
    from core.use.classify import dataset_rows, score_held_out

    if not val_paths:
        note = "not calibrated: no validation images were held out to fit it on"
        _log.info(note)
        return Calibration(note=note), {}
    rows = dataset_rows(data, val_paths)
    calibration, probabilities = calibrate(
        model, dataset_probabilities(model, data, rows), data.labels[rows]
    )
    if calibration.note:
        _log.info(calibration.note)
    # A random split keeps copies on one side; only a given valid/ folder can hold some.
    trained = train_paths if len(data.part_rows("valid")) else None
    evaluation = score_held_out(data, val_paths, probabilities, trained)
    return calibration, evaluation.to_dict(with_mistakes=True)


def score_folder(
    classifier: Classifier, model: ModelRecord, data: LoadedDataset, folder: Path | str
) -> Evaluation:
    """Score ``model`` (through its ``classifier``) on ``data``, the decoded labelled
    ``folder``, whose classes must be the model's; ``seen_in_training`` and ``unseen`` tell
    apart the images it was trained on (see :meth:`core.session.Session.evaluate_folder`)."""
    from core.use.by_features import dataset_probabilities  # TensorFlow: imported on use

    names = model.class_names
    if not len(data):
        raise CnnStudioError(f"no images to evaluate in {folder}. " + " ".join(data.problems))
    unknown = [n for n in data.class_names if n not in names]
    if unknown:
        raise CnnStudioError(
            f"classes not known to the model: {', '.join(unknown)} (it knows {', '.join(names)})"
        )
    labels = np.array([names.index(data.class_names[k]) for k in data.labels])
    probs = dataset_probabilities(model.keras_model, data, np.arange(len(data)), classifier)
    evaluation = evaluate_predictions(labels, probs, names, data.paths)
    copies = copies_of_training(model.files, data)
    if copies is not None:
        exact, near = copies
        evaluation.unseen = unseen_score(labels, probs, exact, near)
        evaluation.seen_in_training = len(labels) - evaluation.unseen["images"]
    return evaluation


def copies_of_training(
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
    return copies_by_hash(data.hashes, data.phashes, training_hashes, phashes)


def require_same_input(model: ModelRecord, data: LoadedDataset) -> None:
    """Raise :class:`CnnStudioError` unless ``data`` is loaded at ``model``'s input size."""
    if model.spec.input != data.spec:
        raise CnnStudioError(
            f"the model reads {model.spec.input.size} px images and the dataset is loaded at "
            f"{data.spec.size} px; load it at the model's size first"
        )


def image_surprises(
    model: ModelRecord, data: LoadedDataset, batch_size: int | None = None
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """How surprised ``model`` is by each image of ``data``'s label, from one pass of the
    network over every image in batches of ``batch_size`` (``data`` must be loaded at the
    model's input, see :func:`require_same_input`).

    Returns each image's loss (the cross-entropy, -ln p(label), float32 in dataset order;
    high = a likely label error or an unusual picture; NaN for a class the model does not
    know) and what the model made of it, as plain data in dataset order: ``{"true_label",
    "predicted_label", "predicted_probability", "true_probability", "loss"}``, the keyword
    arguments of :func:`core.plain.surprise_in_words`; ``true_probability`` and ``loss`` are
    None for an image of a class the model does not know.
    """
    from core.use.by_features import dataset_probabilities  # TensorFlow: imported on use
    from core.use.model_record import classifier_of

    require_same_input(model, data)
    rows = np.arange(len(data))
    probabilities = dataset_probabilities(
        model.keras_model, data, rows, classifier_of(model), batch_size
    )
    columns = _label_columns(model.class_names, data)
    losses = _losses(probabilities, columns)
    predicted = probabilities.argmax(axis=1) if len(data) else np.zeros(0, np.int64)
    records = []
    for i, label in enumerate(data.labels.tolist()):
        known = columns[i] >= 0
        records.append(
            {
                "true_label": data.class_names[label],
                "predicted_label": model.class_names[int(predicted[i])],
                "predicted_probability": float(probabilities[i, predicted[i]]),
                "true_probability": float(probabilities[i, columns[i]]) if known else None,
                "loss": float(losses[i]) if known else None,
            }
        )
    return losses, records


def _label_columns(class_names: list[str], data: LoadedDataset) -> np.ndarray:
    """For each image of ``data``, the model's output column of its label (-1: a class the
    model, which knows ``class_names``, does not)."""
    known = {name: k for k, name in enumerate(class_names)}
    return np.array([known.get(n, -1) for n in data.class_names], np.int64)[data.labels]


def _losses(probabilities: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """-ln p(label) per row (float32), NaN where ``columns`` is -1."""
    rows = np.arange(len(columns))
    chosen = probabilities[rows, np.maximum(columns, 0)].astype(np.float64)
    losses = -np.log(np.clip(chosen, 1e-12, 1.0))
    losses[columns < 0] = np.nan
    return losses.astype(np.float32)
