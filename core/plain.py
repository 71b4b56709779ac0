"""Plain words for people who are not ML engineers: accuracy as "N in 10", terms explained.

Used by both front ends (the app's results and tooltips, the command line's summary lines), so
a figure is put into the same words wherever it is read. Needs nothing but the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
