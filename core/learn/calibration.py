"""Calibrated confidence: fitting a temperature, measuring calibration, and what answering only
when sure enough costs.

A network trained with label smoothing learns to say "90 %" where it is right 97 % of the
time: its probabilities are too low. One number fixes that on held-out images: a temperature
``T`` that divides the network's logits before the softmax (``softmax(z / T)``; ``T < 1``
sharpens, ``T > 1`` softens). It changes no answer (the order of the classes stays) and is
fitted by minimising the negative log-likelihood on the validation images.

The temperature is *folded* into the final softmax Dense layer, since
``softmax((W x + b) / T) = softmax((W / T) x + b / T)``: the weights then give calibrated
probabilities wherever they go (the app, ``predict``, CSV files, exports, saved model files)
with nothing else to change. :func:`fold_temperature` reaches the layer through the methods
every Keras layer has, so this module needs only NumPy (no TensorFlow import).

Everything here is deterministic and cheap (a few milliseconds for ten thousand images).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

#: The temperature is searched in this range (log-spaced); beyond it a fit says more about
#: too few or too easy validation images than about the network.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0
#: Equal-width confidence bins of the expected calibration error (the usual 15).
ECE_BINS = 15
#: Fewer validation images than this give no temperature worth trusting: T stays 1.
MIN_CALIBRATION_IMAGES = 20
#: The thresholds whose costs a model file keeps: 0 %, 1 %, ..., 99 % (the Classify tab's slider).
THRESHOLD_STEPS = tuple(i / 100 for i in range(100))
#: Probabilities are clipped to this before their logarithm (a float32 softmax underflows to 0).
_TINY = 1e-30
_GOLDEN = (math.sqrt(5) - 1) / 2


def logits_from_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """``log p`` (float64): logits up to a per-row constant, which a softmax ignores."""
    return np.log(np.clip(np.asarray(probabilities, np.float64), _TINY, 1.0))


def _looks_like_probabilities(scores: np.ndarray) -> bool:
    return bool(
        scores.size
        and scores.min() >= 0.0
        and scores.max() <= 1.0
        and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3)
    )


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise ``softmax(logits / temperature)`` in float64, safe for large logits."""
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """The probabilities a network gives once ``temperature`` is folded into it (float32)."""
    if temperature == 1.0:
        return np.asarray(probabilities, np.float32)
    return softmax(logits_from_probabilities(probabilities), temperature).astype(np.float32)


def _mean_nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    top = z.max(axis=1)
    log_sum = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    return float(np.mean(log_sum - z[np.arange(len(labels)), labels]))


def fit_temperature(
    scores: np.ndarray, labels: np.ndarray, *, probabilities: bool | None = None
) -> float:
    """The temperature that minimises the mean negative log-likelihood of ``labels`` under
    ``softmax(logits / T)``, searched in [:data:`MIN_TEMPERATURE`, :data:`MAX_TEMPERATURE`].

    ``scores`` (N x classes) are logits or probabilities; ``probabilities`` says which (by
    default: probabilities when every row is a distribution). The likelihood is convex in
    ``1 / T``, so a golden-section search on ``log T`` finds the one minimum; it is
    deterministic and needs no starting point. No images: 1.0.
    """
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.int64)
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(
            f"expected N x classes scores for {len(labels)} labels, not {scores.shape}"
        )
    if not len(labels):
        return 1.0
    if probabilities is None:
        probabilities = _looks_like_probabilities(scores)
    logits = logits_from_probabilities(scores) if probabilities else scores
    low, high = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)
    a, b = high - _GOLDEN * (high - low), low + _GOLDEN * (high - low)
    fa, fb = _mean_nll(logits, labels, math.exp(a)), _mean_nll(logits, labels, math.exp(b))
    while high - low > 1e-5:
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - _GOLDEN * (high - low)
            fa = _mean_nll(logits, labels, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + _GOLDEN * (high - low)
            fb = _mean_nll(logits, labels, math.exp(b))
    return math.exp((low + high) / 2)


def _confidence_and_correct(
    probabilities: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    probabilities = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels, np.int64)
    if probabilities.ndim != 2 or len(probabilities) != len(labels):
        raise ValueError(
            f"expected N x classes probabilities for {len(labels)} labels, "
            f"not {probabilities.shape}"
        )
    if not len(labels):
        return np.zeros(0), np.zeros(0, bool)
    return probabilities.max(axis=1), probabilities.argmax(axis=1) == labels


@dataclass(frozen=True)
class ReliabilityBin:
    """Images whose top probability lies in (``lower``, ``upper``]: how sure the model was on
    average (``confidence``) and how often it was right (``accuracy``)."""

    lower: float
    upper: float
    confidence: float
    accuracy: float
    count: int

    def to_dict(self) -> dict[str, float | int]:
        return {
            "lower": round(self.lower, 6),
            "upper": round(self.upper, 6),
            "confidence": round(self.confidence, 6),
            "accuracy": round(self.accuracy, 6),
            "count": self.count,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReliabilityBin:
        return cls(
            float(data["lower"]),
            float(data["upper"]),
            float(data["confidence"]),
            float(data["accuracy"]),
            int(data["count"]),
        )


def reliability_bins(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> list[ReliabilityBin]:
    """The non-empty bins of a reliability diagram: ``bins`` equal-width bins of the top
    probability (the first also holds 0), each with its mean confidence and accuracy."""
    confidence, correct = _confidence_and_correct(probabilities, labels)
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    result = []
    for k in range(bins):
        members = index == k
        count = int(members.sum())
        if count:
            result.append(
                ReliabilityBin(
                    k / bins,
                    (k + 1) / bins,
                    float(confidence[members].mean()),
                    float(correct[members].mean()),
                    count,
                )
            )
    return result


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> float:
    """The expected calibration error: the gap between confidence and accuracy in each of
    ``bins`` equal-width bins of the top probability, weighted by the bin's share of images
    (0 is perfect; 0.05 means "off by five percentage points" on average). No images: 0."""
    return calibration_error(reliability_bins(probabilities, labels, bins))


def calibration_error(bins: Sequence[ReliabilityBin]) -> float:
    """The expected calibration error of a reliability diagram's ``bins`` (no images: 0)."""
    total = sum(b.count for b in bins)
    if not total:
        return 0.0
    return float(sum(b.count * abs(b.accuracy - b.confidence) for b in bins) / total)


@dataclass(frozen=True)
class ThresholdCost:
    """Answering only when the top probability is at least ``threshold``: the share of images
    still answered, and the accuracy on those (None when none is answered)."""

    threshold: float
    answered: float
    accuracy: float | None

    def to_dict(self) -> dict[str, float | None]:
        accuracy = None if self.accuracy is None else round(self.accuracy, 6)
        return {
            "threshold": round(self.threshold, 6),
            "answered": round(self.answered, 6),
            "accuracy": accuracy,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThresholdCost:
        accuracy = data.get("accuracy")
        return cls(
            float(data["threshold"]),
            float(data["answered"]),
            None if accuracy is None else float(accuracy),
        )


def threshold_costs(
    probabilities: np.ndarray, labels: np.ndarray, thresholds: Iterable[float] = THRESHOLD_STEPS
) -> list[ThresholdCost]:
    """What each confidence threshold costs on labelled images: answered share and accuracy of
    the answered (an image is answered when its top probability is at least the threshold)."""
    confidence, correct = _confidence_and_correct(probabilities, labels)
    costs = []
    for threshold in thresholds:
        answered = confidence >= threshold
        count = int(answered.sum())
        share = count / len(confidence) if len(confidence) else 0.0
        accuracy = float(correct[answered].mean()) if count else None
        costs.append(ThresholdCost(float(threshold), share, accuracy))
    return costs


def cost_at(costs: Sequence[ThresholdCost], threshold: float) -> ThresholdCost | None:
    """The stored cost for the highest stored threshold not above ``threshold`` (None if none),
    so a slider between stored steps is never promised more than was measured."""
    below = [c for c in costs if c.threshold <= threshold + 1e-9]
    return max(below, key=lambda c: c.threshold) if below else None


def cost_in_words(cost: ThresholdCost) -> str:
    """E.g. "At 70 %: answers 83 % of images, 97 % of those right"."""
    at = f"At {cost.threshold:.0%}"
    if cost.accuracy is None:
        return f"{at}: answers none of the validation images"
    return (
        f"{at}: answers {cost.answered:.0%} of the validation images, "
        f"{cost.accuracy:.0%} of those right"
    )


# --- the temperature in the network ---------------------------------------------------------


class _Layer(Protocol):
    """What :func:`fold_temperature` needs of a Keras layer."""

    def get_config(self) -> dict[str, Any]: ...

    def get_weights(self) -> list[np.ndarray]: ...

    def set_weights(self, weights: list[np.ndarray]) -> None: ...


def output_layer_problem(model: Any) -> str | None:
    """Why the temperature cannot be folded into ``model`` (a Keras model), or None when its
    last layer is a Dense layer with a bias and a softmax, as every preset's is."""
    layers = getattr(model, "layers", None) or []
    if not layers:
        return "the model has no layers"
    layer = layers[-1]
    if type(layer).__name__ != "Dense":
        return f"its last layer is {type(layer).__name__}, not a Dense layer"
    config = layer.get_config()
    if config.get("activation") != "softmax":
        return "its last layer has no softmax"
    if not config.get("use_bias", True) or len(layer.get_weights()) != 2:
        return "its last layer has no bias"
    return None


def fold_temperature(model: Any, temperature: float) -> None:
    """Divide the last layer's kernel and bias by ``temperature`` (multiply by it to undo), so
    the model's softmax gives ``softmax(logits / temperature)``. Raises ValueError when
    :func:`output_layer_problem` finds the model unsuitable."""
    problem = output_layer_problem(model)
    if problem:
        raise ValueError(f"cannot fold a temperature into this model: {problem}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"the temperature must be a positive number, not {temperature}")
    layer: _Layer = model.layers[-1]
    kernel, bias = layer.get_weights()
    layer.set_weights(
        [(kernel / temperature).astype(kernel.dtype), (bias / temperature).astype(bias.dtype)]
    )


@dataclass(frozen=True)
class Calibration:
    """What calibrating a model did, as stored in its file (``meta.json`` ``calibration``).

    ``temperature`` is folded into the weights (1.0: nothing was). ``ece_before``/``ece_after``
    and the bins and costs are measured on the ``images`` validation images the temperature was
    fitted on (after calibration), so they flatter it a little; ``note`` says why a model was
    not calibrated.
    """

    temperature: float = 1.0
    ece_before: float | None = None
    ece_after: float | None = None
    images: int = 0
    bins: tuple[ReliabilityBin, ...] = ()
    costs: tuple[ThresholdCost, ...] = ()
    note: str = ""

    @property
    def calibrated(self) -> bool:
        return self.temperature != 1.0 or self.ece_after is not None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"method": "temperature", "temperature": self.temperature}
        if self.ece_before is not None:
            data["ece_before"] = round(self.ece_before, 6)
        if self.ece_after is not None:
            data["ece_after"] = round(self.ece_after, 6)
        data["images"] = self.images
        if self.bins:
            data["bins"] = [b.to_dict() for b in self.bins]
        if self.costs:
            data["costs"] = [c.to_dict() for c in self.costs]
        if self.note:
            data["note"] = self.note
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Calibration:
        """The inverse of :meth:`to_dict` (checked by :mod:`core.modelfile.schema` first); an empty
        or missing block (a file from before calibration) is an uncalibrated model."""
        if not data:
            return cls(note="made before calibration existed: the network's own probabilities")
        before, after = data.get("ece_before"), data.get("ece_after")
        return cls(
            temperature=float(data.get("temperature", 1.0)),
            ece_before=None if before is None else float(before),
            ece_after=None if after is None else float(after),
            images=int(data.get("images", 0)),
            bins=tuple(ReliabilityBin.from_dict(b) for b in data.get("bins", [])),
            costs=tuple(ThresholdCost.from_dict(c) for c in data.get("costs", [])),
            note=str(data.get("note", "")),
        )


def _why_not(model: Any, probabilities: np.ndarray, labels: np.ndarray) -> str:
    """Why no temperature is fitted ("" when one is)."""
    problem = output_layer_problem(model)
    if problem:
        return f"not calibrated: {problem}"
    n = len(labels)
    if not n:
        return "not calibrated: no validation images were held out to fit it on"
    if n < MIN_CALIBRATION_IMAGES:
        return (
            f"not calibrated: {n} validation images are too few to fit it on "
            f"(at least {MIN_CALIBRATION_IMAGES} are needed)"
        )
    if (probabilities.argmax(axis=1) == labels).all():
        # The likelihood then keeps rising as the temperature falls: the fit would claim
        # certainty for every answer, on the strength of no mistake at all.
        return (
            "not calibrated: every validation image was answered right, so there is no "
            "mistake to measure its confidence against"
        )
    return ""


def calibrate(
    model: Any, probabilities: np.ndarray, labels: np.ndarray
) -> tuple[Calibration, np.ndarray]:
    """Fit a temperature on validation ``probabilities`` (the model's own, for true
    ``labels``), fold it into ``model`` and return what was done with the calibrated
    probabilities. Leaves the model as it is (T = 1, with a note saying why) when there are
    too few images, none is answered wrong, or its last layer is not a softmax Dense layer."""
    probabilities = np.asarray(probabilities, np.float32)
    labels = np.asarray(labels, np.int64)
    n = len(labels)
    before = expected_calibration_error(probabilities, labels) if n else None
    note = _why_not(model, probabilities, labels)
    if note:
        found = Calibration(
            ece_before=before,
            images=n,
            bins=tuple(reliability_bins(probabilities, labels)) if n else (),
            costs=tuple(threshold_costs(probabilities, labels)) if n else (),
            note=note,
        )
        return found, probabilities
    temperature = fit_temperature(probabilities, labels, probabilities=True)
    fold_temperature(model, temperature)
    calibrated = apply_temperature(probabilities, temperature)
    found = Calibration(
        temperature=temperature,
        ece_before=before,
        ece_after=expected_calibration_error(calibrated, labels),
        images=n,
        bins=tuple(reliability_bins(calibrated, labels)),
        costs=tuple(threshold_costs(calibrated, labels)),
    )
    return found, calibrated


def uncalibrate(model: Any, calibration: Calibration) -> None:
    """Undo :func:`calibrate`'s folding (multiply the last layer back by the temperature), so
    training continues from the weights it stopped at."""
    if calibration.temperature != 1.0:
        fold_temperature(model, 1.0 / calibration.temperature)
