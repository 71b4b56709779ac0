"""Figures in plain words (core.plain), at their edges."""

from __future__ import annotations

import pytest

from core.plain import TERMS, accuracy_in_words, in_ten


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
