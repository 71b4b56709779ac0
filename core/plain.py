"""Plain words for people who are not ML engineers: accuracy as "N in 10", terms explained.

Used by both front ends (the app's results and tooltips, the command line's summary lines), so
a figure is put into the same words wherever it is read. Needs nothing but the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

#: One sentence per term a user meets on screen, for tooltips and the help text.
TERMS: dict[str, str] = {
    "accuracy": "The share of images the model got right.",
    "validation": "Images held back from training and used only to check the model: the "
    "fair test of how it does on images it never saw.",
    "loss": "How wrong the model's guesses are, weighting confident mistakes most; training "
    "lowers it. Lower is better.",
    "validation loss": "The loss on the held-back validation images. When it stops falling "
    "while the training loss still falls, the model has begun to memorise its training "
    "images (over-fitting).",
    "epoch": "One pass of training over every training image.",
    "batch size": "How many images the model looks at before each small correction. Larger "
    "is faster per epoch and uses more memory; the default suits most data.",
    "learning rate": "How big each correction is. Too high and training jumps around; too "
    "low and it crawls. The default suits most data.",
    "patience": "With early stopping: how many epochs in a row the validation loss may fail "
    "to improve before training stops (and the best model so far is kept).",
    "f1": "One score per class, from 0 to 1: high only when the model finds the class's "
    "images and seldom takes other images for it. 1.00 is perfect; 0 means the class was "
    "never recognised.",
    "augmentation": "Random flips, turns, zoom and contrast changes applied to training "
    "images, so the model learns the object rather than its exact pixels. Helps with few "
    "images; slows training a little.",
    "confusion matrix": "Rows are the real classes, columns what the model answered. The "
    "diagonal holds the right answers; every other cell is one kind of mistake.",
    "learning curve": "The validation accuracy of the same model trained on a quarter, half, "
    "three quarters and all of the training images: how much more photos added so far, and "
    "so how much still more would likely add.",
}


def in_ten(share: float) -> str:
    """``share`` (0..1) as "about N in 10" (or "in 100" near the top, where tens hide a lot)."""
    share = min(max(share, 0.0), 1.0)
    if share == 1.0:
        return "every one"
    if share == 0.0:
        return "none"
    if share >= 0.95:
        return f"about {min(round(share * 100), 99)} in 100"  # 100 in 100 is "every one"
    tens = round(share * 10)
    if tens == 0:
        return "almost none"
    return f"about {tens} in 10"


def accuracy_in_words(accuracy: float, classes: int, held_out: bool | None = True) -> str:
    """The accuracy said the way a person would, against what guessing gets.

    ``held_out``: True when measured on images the model never trained on (the validation
    set), False on its training images, None when unknown or mixed.
    """
    where = {True: "on images it never saw", False: "on its training images"}.get(
        held_out, "on these images"
    )
    said = in_ten(accuracy)
    right = f"{said} right {where}"
    if classes < 2:
        return right
    chance = 1 / classes
    # Near chance: within a tenth of the way from guessing to perfect, and under twice what
    # guessing gets (with thirty classes, 8 % is poor but clearly learnt something).
    if accuracy <= min(chance + 0.1 * (1 - chance), 2 * chance):
        return f"{right}: no better than guessing, which gets 1 in {classes}"
    return f"{right}; guessing would get 1 in {classes}"


def copies_in_words(unseen: Mapping[str, Any]) -> str:
    """How many scored images were copies of training images (``unseen`` as
    :func:`core.use.evaluate.unseen_score` makes it): "39 were in its training set", "3 are near
    copies of its training images", or both joined."""
    exact, near = int(unseen.get("exact_copies") or 0), int(unseen.get("near_copies") or 0)
    parts = []
    if exact:
        parts.append(f"{exact} {'was' if exact == 1 else 'were'} in its training set")
    if near:
        are = "is a near copy" if near == 1 else "are near copies"
        parts.append(f"{near} {are} of {'its training images' if exact else 'training images'}")
    return " and ".join(parts)


def unseen_in_words(unseen: Mapping[str, Any] | None, digits: int = 1) -> str | None:
    """The fair figure beside a whole one: "88.0% on the 461 it never saw (39 were in its
    training set, which flatters the whole figure)"; None when no scored image was a copy of
    a training image (the whole figure is then the fair one) or nothing is known.

    A model may have learnt its training pictures by heart, so a score that counts them, or
    re-saved copies of them, says more about its memory than about new images.
    """
    if not unseen:
        return None
    copies = copies_in_words(unseen)
    if not copies:
        return None
    if unseen.get("accuracy") is None:
        return f"no image it never saw ({copies}), so there is no fair figure here"
    images = int(unseen["images"])
    return (
        f"{unseen['accuracy']:.{digits}%} on the {images} it never saw "
        f"({copies}, which flatters the whole figure)"
    )


# --- how far its confidence can be trusted -----------------------------------------------------


class ConfidenceBin(Protocol):
    """One bar of a reliability diagram, as :class:`core.learn.calibration.ReliabilityBin` has
    it: how sure the model was on average (``confidence``), how often it was right
    (``accuracy``) and of how many images (``count``)."""

    @property
    def confidence(self) -> float: ...

    @property
    def accuracy(self) -> float: ...

    @property
    def count(self) -> int: ...


#: The level of confidence the example sentence is about, when enough images were that sure.
EXAMPLE_CONFIDENCE = 0.8


def times_in_ten(share: float) -> str:
    """``share`` (0..1) as "about 8 times in 10" (see :func:`in_ten`): "every time", "never"."""
    said = in_ten(share)
    special = {"every one": "every time", "none": "never", "almost none": "almost never"}
    return special.get(said, said.replace(" in ", " times in "))


def _example_bin(bins: Sequence[ConfidenceBin], lean: float = 0.0) -> ConfidenceBin | None:
    """The bin to give as the example: the one nearest 80 % sure among those holding a fair
    share of the images (at least 5, and 5 % of them), else the fullest one. With a ``lean``
    (> 0: right more often than it says; < 0: less often), a bin that errs the same way is
    preferred, so the example shows what the verdict says."""
    filled = [b for b in bins if b.count > 0]
    if not filled:
        return None
    total = sum(b.count for b in filled)
    enough = [b for b in filled if b.count >= max(5, 0.05 * total)]
    if not enough:
        return max(filled, key=lambda b: b.count)
    same_way = [b for b in enough if (b.accuracy - b.confidence) * lean > 0]
    return min(same_way or enough, key=lambda b: abs(b.confidence - EXAMPLE_CONFIDENCE))


def confidence_in_words(error: float, bins: Sequence[ConfidenceBin] = ()) -> str:
    """How far the model's confidence can be trusted, as a person would say it: "When it says
    it is 80% sure, it is right about 8 times in 10: its confidence can be taken at its word."

    ``error`` is the expected calibration error (0..1, the average gap between how sure the
    model is and how often it is right); ``bins`` the reliability diagram's bins it was
    measured on, which give the example and say which way a poorly calibrated model errs.
    Without bins the sentence gives the average gap instead of an example.
    """
    total = sum(b.count for b in bins)
    lean = sum(b.count * (b.accuracy - b.confidence) for b in bins) / total if total else 0.0
    if error <= 0.02:
        verdict, lean = "its confidence can be taken at its word", 0.0
    elif error <= 0.05:
        verdict, lean = "its confidence is close to how often it is right", 0.0
    elif lean > 0:
        verdict = "it is usually right more often than it says"
    elif lean < 0:
        verdict = "it is usually right less often than it says"
    else:
        verdict = "its confidence is not a reliable guide to how often it is right"
    example = _example_bin(bins, lean)
    if example is None:
        verdict = verdict[:1].upper() + verdict[1:]
        return f"{verdict}: off by {error * 100:.1f} percentage points on average."
    if lean:  # the gap is the point: "8 in 10" could hide it, so in hundredths
        right = f"{'only ' if lean < 0 else ''}{round(example.accuracy * 100)} times in 100"
    else:
        right = times_in_ten(example.accuracy)
    return f"When it says it is {percent(example.confidence)} sure, it is right {right}: {verdict}."


# --- why an image surprised the model ----------------------------------------------------------


def percent(probability: float) -> str:
    """A probability as a person reads it: "87%", "under 1%", "over 99%" (never a rounded
    "0%" or "100%" for a probability that is neither)."""
    if probability <= 0:
        return "0%"
    if probability >= 1:
        return "100%"
    if probability < 0.005:
        return "under 1%"
    if probability > 0.995:
        return "over 99%"
    return f"{probability:.0%}"


def surprise_in_words(
    true_label: str,
    predicted_label: str,
    predicted_probability: float,
    true_probability: float | None,
    loss: float | None,
) -> str:
    """What the model makes of an image labelled ``true_label``, for the image's tooltip in
    *Most surprising first*: "The model thinks this is 'shirt' (87%), not 'dress' (9%)." and,
    on a second line, the number that sorted it: "(surprise: loss 3.56)".

    ``predicted_label`` is the model's answer with its probability; ``true_probability`` the
    probability it gives the label (None for a class the model was not trained on, which
    then has no ``loss`` either). Every argument is plain data, so the grid can pass the
    engine's record of an image straight in (``surprise_in_words(**record)``).
    """
    said = percent(predicted_probability)
    if true_probability is None:
        first = (
            f"The model thinks this is '{predicted_label}' ({said}); it was not trained on "
            f"the class '{true_label}'."
        )
    elif predicted_label == true_label:
        if predicted_probability >= 0.5:
            first = f"The model agrees this is '{true_label}' ({said})."
        else:
            first = f"The model also thinks this is '{true_label}', but is only {said} sure."
    else:
        first = (
            f"The model thinks this is '{predicted_label}' ({said}), not '{true_label}' "
            f"({percent(true_probability)})."
        )
    if loss is None or loss != loss:  # None or NaN: nothing sorted it
        return first
    return f"{first}\n(surprise: loss {loss:.3g})"


def kept_epoch_in_words(
    best_epoch: int | None, history: Sequence[Mapping[str, float]]
) -> str | None:
    """Says which epoch's weights the model kept ("kept the weights of epoch 17 of 22, the
    best on the validation images") when early stopping gave it an earlier epoch's weights
    than its last, so the last epoch's figures are not the model's; None when it kept its
    last epoch's (or nothing is known)."""
    epochs = len(history)
    if best_epoch is None or not 1 <= best_epoch < epochs:
        return None
    judged = "validation" if "val_loss" in history[best_epoch - 1] else "training"
    return f"kept the weights of epoch {best_epoch} of {epochs}, the best on the {judged} images"


def run_in_words(
    outcome: str,
    epochs: int,
    best_epoch: int | None,
    history: Sequence[Mapping[str, float]],
    accuracy: str | None,
) -> str:
    """How a training run ended, for the command line's summary and the app's status line:
    "stopped early after 22 epochs; kept the weights of epoch 17 of 22, the best on the
    validation images: validation accuracy 72.50%" (``accuracy``: the kept model's figure as
    the front end writes it, or None). Early stopping gives the model its best epoch's
    weights, so when that was not the last, the figure is said to be that epoch's."""
    ended = {"early-stopped": "stopped early"}.get(outcome, outcome)
    line = f"{ended} after {epochs} epoch{'s' if epochs != 1 else ''}"
    kept = kept_epoch_in_words(best_epoch, history)
    if kept:  # the last epoch's figures are not the model's: say whose they are
        line += f"; {kept}"
    if accuracy is not None:
        line += f"{':' if kept else ','} validation accuracy {accuracy}"
    return line


def points_per_doubling(points: Sequence[Sequence[float]]) -> float | None:
    """What doubling the training images added to the accuracy, in percentage points, read from
    a learning curve's (images, accuracy) points: the slope of the straight line that fits them
    best against the logarithm of the images (learning curves are close to straight there).
    All the points count, not only the half and the whole, so one lucky or unlucky fit moves it
    less. None with fewer than two points (or all at one size)."""
    pairs = [(math.log2(n), a * 100) for n, a in points if n > 0]
    if len(pairs) < 2:
        return None
    mean_x = sum(x for x, _ in pairs) / len(pairs)
    mean_y = sum(y for _, y in pairs) / len(pairs)
    spread = sum((x - mean_x) ** 2 for x, _ in pairs)
    if spread <= 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in pairs) / spread


#: Doubling the photos must add at least this many points for more photos to "likely help".
CLEAR_GAIN = 3
#: At or above this accuracy on the whole training set, more photos can add little anyway.
NEARLY_ALL = 0.98


def learning_curve_in_words(points: Sequence[Sequence[float]]) -> str | None:
    """One plain sentence on how much more photos would help, from a learning curve's
    (images, accuracy) points, fewest images first: "Each doubling of the photos added about 6
    points; more photos will likely help." The gain is :func:`points_per_doubling`'s, read from
    every point (one fit's luck moved the half-to-whole gain on the clothing photos anywhere
    from 1 to 14 points across seeds); None without a curve."""
    gain = points_per_doubling(points)
    if gain is None:
        return None
    added = round(gain)
    if added >= 1:
        said = f"Each doubling of the photos added about {added} point{'s' if added != 1 else ''}"
    elif gain > 0:
        said = "Doubling the photos added less than a point"
    else:
        said = "Doubling the photos added nothing"
    if points[-1][1] >= NEARLY_ALL and added < CLEAR_GAIN:
        return f"{said}; it already gets almost every image right, so more photos can add little."
    if added >= CLEAR_GAIN:
        return f"{said}; more photos will likely help."
    if added >= 1:
        return f"{said}; more photos of the same kind will likely help only a little."
    return f"{said}; more photos of the same kind will likely help little."


def learning_curve_figures(points: Sequence[Sequence[float]]) -> str:
    """A learning curve's points in a line: "65.0% with 80 photos, 73.8% with 160, ...".

    "Photos" is the training images each point's model learnt from; the accuracy is on the
    validation images."""
    return ", ".join(
        f"{a:.1%} with {int(n)}{' photos' if k == 0 else ''}" for k, (n, a) in enumerate(points)
    )
