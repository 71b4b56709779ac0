"""Figures in plain words (core.plain), at their edges."""

from __future__ import annotations

import pytest

from core.plain import (
    TERMS,
    accuracy_in_words,
    confidence_in_words,
    in_ten,
    percent,
    surprise_in_words,
    times_in_ten,
)


@pytest.mark.parametrize(
    ("share", "said"),
    [
        (0.0, "none"),
        (0.04, "almost none"),
        (0.06, "about 1 in 10"),
        (0.9, "about 9 in 10"),
        (0.949, "about 9 in 10"),
        (0.95, "about 95 in 100"),
        (0.972, "about 97 in 100"),
        (0.998, "about 99 in 100"),  # never "100 in 100" unless every one was right
        (1.0, "every one"),
    ],
)
def test_shares_in_words(share, said):
    assert in_ten(share) == said


def test_accuracy_against_guessing_and_where_it_was_measured():
    assert accuracy_in_words(0.9, 10) == (
        "about 9 in 10 right on images it never saw; guessing would get 1 in 10"
    )
    assert "on its training images" in accuracy_in_words(0.9, 10, held_out=False)
    assert "on these images" in accuracy_in_words(0.9, 10, held_out=None)
    assert "no better than guessing, which gets 1 in 4" in accuracy_in_words(0.3, 4)
    assert "no better than guessing" in accuracy_in_words(0.52, 2)
    # Thirty classes: 8 % is poor, but 2.4 times what guessing gets.
    assert "no better" not in accuracy_in_words(0.08, 30)
    assert "no better" in accuracy_in_words(0.05, 30)


def test_every_term_is_one_plain_sentence_or_two():
    for term, text in TERMS.items():
        assert text.endswith(".") and len(text) < 320, term


# --- how far its confidence can be trusted -------------------------------------------------------


def _bin(confidence: float, accuracy: float, count: int):
    from core.learn.calibration import ReliabilityBin

    return ReliabilityBin(confidence - 0.03, confidence + 0.03, confidence, accuracy, count)


def test_calibration_is_said_as_how_often_it_is_right_when_it_says_how_sure():
    # A calibrated model: the example is the well-filled bin nearest 80 % sure.
    bins = [_bin(0.55, 0.5, 30), _bin(0.81, 0.8, 60), _bin(0.97, 0.98, 300)]
    assert confidence_in_words(0.012, bins) == (
        "When it says it is 81% sure, it is right about 8 times in 10: its confidence can be "
        "taken at its word."
    )
    assert "close to how often it is right" in confidence_in_words(0.04, bins)
    # A bin holding too few images is no example: the 80 % one holds 3 of 393.
    few = [_bin(0.65, 0.6, 90), _bin(0.8, 0.8, 3), _bin(0.97, 0.98, 300)]
    assert confidence_in_words(0.01, few).startswith("When it says it is 65% sure")


def test_a_poorly_calibrated_model_is_said_to_err_the_way_it_errs():
    over = [_bin(0.8, 0.6, 100), _bin(0.95, 0.85, 300)]
    said = confidence_in_words(0.093, over)
    assert said == (
        "When it says it is 80% sure, it is right only 60 times in 100: it is usually right "
        "less often than it says."
    )
    under = [_bin(0.62, 0.9, 100), _bin(0.8, 0.95, 300)]
    assert confidence_in_words(0.2, under) == (
        "When it says it is 80% sure, it is right 95 times in 100: it is usually right "
        "more often than it says."
    )
    # Over-confident on the whole, under-confident at 80 %: the example shows the verdict.
    mixed = [_bin(0.8, 0.9, 50), _bin(0.65, 0.4, 200)]
    assert confidence_in_words(0.15, mixed).startswith(
        "When it says it is 65% sure, it is right only 40 times in 100"
    )


def test_without_bins_the_average_gap_is_said():
    assert confidence_in_words(0.093) == (
        "Its confidence is not a reliable guide to how often it is right: off by 9.3 "
        "percentage points on average."
    )


@pytest.mark.parametrize(
    ("share", "said"),
    [(1.0, "every time"), (0.0, "never"), (0.03, "almost never"), (0.8, "about 8 times in 10")],
)
def test_times_in_ten(share, said):
    assert times_in_ten(share) == said


def test_percentages_are_never_rounded_to_certainty():
    assert [percent(p) for p in (0.0, 0.003, 0.0871, 0.9972, 1.0)] == [
        "0%",
        "under 1%",
        "9%",
        "over 99%",
        "100%",
    ]


# --- why an image surprised the model ------------------------------------------------------------


def test_a_surprise_is_said_as_what_the_model_thinks_the_image_is():
    said = surprise_in_words("dress", "shirt", 0.871, 0.09, 3.5561)
    first, second = said.split("\n")
    assert first == "The model thinks this is 'shirt' (87%), not 'dress' (9%)."
    assert second == "(surprise: loss 3.56)"  # the number kept, for those who want it
    assert surprise_in_words("shirt", "shirt", 0.87, 0.87, 0.139) == (
        "The model agrees this is 'shirt' (87%).\n(surprise: loss 0.139)"
    )
    assert surprise_in_words("shirt", "shirt", 0.41, 0.41, 0.89).startswith(
        "The model also thinks this is 'shirt', but is only 41% sure."
    )
    # A class the model was never trained on has no loss: nothing to sort by, nothing to add.
    assert surprise_in_words("hat", "shirt", 0.6, None, None) == (
        "The model thinks this is 'shirt' (60%); it was not trained on the class 'hat'."
    )
    assert "\n" not in surprise_in_words("hat", "shirt", 0.6, None, float("nan"))
