"""Scoring predictions on labelled data: accuracy, per-class scores, confusion, mistakes,
calibration.

Needs only NumPy; running a model to get the predictions is :mod:`core.use.classify`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.learn.calibration import ReliabilityBin, calibration_error, reliability_bins


@dataclass
class Evaluation:
    """Results on a labelled set. ``confusion[i][j]`` counts true class i predicted as j.

    ``seen_in_training``: how many of the scored images the model was trained on (the same
    model input as a training image, or a near copy of one where the model file records its
    training images' perceptual hashes), so a front end can say whether the accuracy is a fair
    test; None when that is not known (a validation set, or a model file without its list).
    ``unseen``: the score on the other images, the fair figure (:func:`unseen_score`); None
    when that is not known.
    """

    class_names: list[str]
    accuracy: float
    per_class: dict[str, dict[str, float]]
    confusion: list[list[int]]
    misclassified: list[dict[str, object]] = field(default_factory=list)
    seen_in_training: int | None = None
    #: The expected calibration error of the probabilities (see :mod:`core.learn.calibration`).
    calibration_error: float | None = None
    unseen: dict[str, Any] | None = None
    #: The reliability diagram's bins the calibration error was measured on, for the words
    #: that say what it means (:func:`core.plain.confidence_in_words`); not in :meth:`to_dict`.
    calibration_bins: tuple[ReliabilityBin, ...] = ()

    def to_dict(self, with_mistakes: bool = False) -> dict[str, object]:
        data: dict[str, object] = {
            "accuracy": self.accuracy,
            "per_class": self.per_class,
            "confusion_matrix": self.confusion,
            "class_names": self.class_names,
        }
        if self.calibration_error is not None:
            data["calibration_error"] = self.calibration_error
        if self.unseen is not None:
            data["unseen"] = self.unseen
        if with_mistakes:
            data["misclassified"] = self.misclassified
        return data


def evaluate_predictions(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    paths: Sequence[str] | None = None,
    max_mistakes: int | None = None,
) -> Evaluation:
    """Score ``probabilities`` (N x classes) against true ``labels`` (N,).

    Keeps at most ``max_mistakes`` mistakes (default :func:`mistakes_to_keep`), chosen by
    :func:`pick_mistakes`; the confusion matrix always counts them all.
    """
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.argmax(probabilities, axis=1) if len(labels) else np.zeros(0, np.int64)
    n = len(class_names)
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class: dict[str, dict[str, float]] = {}
    for k, name in enumerate(class_names):
        tp = float(confusion[k, k])
        support = float(confusion[k].sum())
        predicted_k = float(confusion[:, k].sum())
        precision = tp / predicted_k if predicted_k else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": int(support),
        }
    accuracy = float((predicted == labels).mean()) if len(labels) else 0.0
    mistakes: list[dict[str, object]] = []
    wrong = np.flatnonzero(predicted != labels)
    if max_mistakes is None:
        max_mistakes = mistakes_to_keep(n)
    confidence = probabilities[wrong, predicted[wrong]]
    picked = pick_mistakes(labels[wrong] * n + predicted[wrong], confidence, max_mistakes)
    for i in wrong[picked]:
        mistakes.append(
            {
                "path": paths[i] if paths is not None else str(i),
                "true": class_names[labels[i]],
                "predicted": class_names[predicted[i]],
                "probability": float(probabilities[i, predicted[i]]),
                "probabilities": {
                    c: float(p) for c, p in zip(class_names, probabilities[i], strict=True)
                },
            }
        )
    bins = tuple(reliability_bins(probabilities, labels)) if len(labels) else ()
    return Evaluation(
        list(class_names),
        accuracy,
        per_class,
        confusion.tolist(),
        mistakes,
        calibration_error=calibration_error(bins) if len(labels) else None,
        calibration_bins=bins,
    )


def unseen_score(
    labels: np.ndarray,
    probabilities: np.ndarray,
    exact: np.ndarray,
    near: np.ndarray | None,
) -> dict[str, Any]:
    """The accuracy on the images the model never saw, as plain data: ``{"accuracy",
    "images", "exact_copies", "near_copies"}``.

    ``exact`` marks the images that are copies of training images by content, ``near`` those
    that are near copies (re-saved, shifted; None when the model file cannot tell, and then
    ``"near_copies"`` is None). A score that counts copies of training images flatters a
    model, since it may have learnt those very pictures; this is the fair figure beside it.
    ``"accuracy"`` is None when every image was seen.
    """
    labels = np.asarray(labels, dtype=np.int64)
    exact = np.asarray(exact, dtype=bool)
    seen = exact | np.asarray(near, dtype=bool) if near is not None else exact
    unseen = ~seen
    right = np.argmax(probabilities, axis=1) == labels if len(labels) else np.zeros(0, bool)
    return {
        "accuracy": float(right[unseen].mean()) if unseen.any() else None,
        "images": int(unseen.sum()),
        "exact_copies": int(exact.sum()),
        "near_copies": int((seen & ~exact).sum()) if near is not None else None,
    }


def mistakes_to_keep(classes: int) -> int:
    """How many mistakes an evaluation keeps for ``classes`` classes: 1,000 for up to 20
    classes, fewer for more (each mistake carries every class's probability, and they are
    saved in the model file), never under 200."""
    return max(200, min(1000, 20_000 // max(classes, 1)))


def pick_mistakes(cells: np.ndarray, confidence: np.ndarray, limit: int) -> np.ndarray:
    """Which of the mistakes to keep, most confident first: their indices, at most ``limit``.

    ``cells`` names each mistake's confusion-matrix cell (any integer per cell) and
    ``confidence`` is the probability of its wrong answer. When there are more than ``limit``,
    every cell keeps its most confident mistake before any cell keeps a second one, and so on,
    so a small cell is never emptied by a large one (its images are what a user clicks on).
    """
    cells = np.asarray(cells, dtype=np.int64)
    order = np.argsort(-np.asarray(confidence, dtype=np.float64), kind="stable")
    if len(order) <= limit:
        return order
    by_cell = order[np.argsort(cells[order], kind="stable")]  # confidence order within a cell
    sorted_cells = cells[by_cell]
    starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
    sizes = np.diff(np.r_[starts, len(by_cell)])
    rank = np.empty(len(by_cell), np.int64)
    rank[by_cell] = np.arange(len(by_cell)) - np.repeat(starts, sizes)
    kept = order[np.argsort(rank[order], kind="stable")[:limit]]  # round by round
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    return kept[np.argsort(position[kept])]  # back to most confident first


def chance_warning(evaluation: Mapping[str, Any]) -> str | None:
    """A warning when held-out accuracy is at or near what guessing gets (else None).

    ``evaluation`` is :meth:`Evaluation.to_dict`. Guessing here is always answering the
    largest class; "near" is within a tenth of the distance from there to 100 %.
    """
    matrix = evaluation.get("confusion_matrix")
    if not matrix or "accuracy" not in evaluation:
        return None
    per_class = [sum(row) for row in matrix]
    total = sum(per_class)
    if not total:
        return None
    chance = max(per_class) / total
    accuracy = float(evaluation["accuracy"])
    if accuracy > chance + 0.1 * (1 - chance):
        return None
    return (
        f"the model is no better than guessing: {accuracy:.0%} right on held-out images, "
        f"where always answering the largest class gets {chance:.0%}. Try the settings chosen "
        "for this data, more images per class, or (for photos) the pretrained preset."
    )
