"""Keyword overlap and normalised exact match on hand-checked pairs."""

from __future__ import annotations

import math

import pytest

from ftbench.metrics import keyword_overlap, normalized_exact_match
from ftbench.metrics.overlap import content_words


def test_content_words_drop_stop_words_single_letters_and_stem():
    # "the", "were", "on", "a" are stop words; "x" is one letter; plurals meet their stem
    assert content_words("The models were trained on 12 datasets, a model-based x.") == {
        "model", "train", "12", "dataset", "base"}


@pytest.mark.parametrize("reference, answer, expected", [
    # reference content words {lora, adapt, larg, languag, model, cheapli}: the answer has
    # adapt, larg, model -> 3/6
    ("LoRA adapts large language models cheaply.",
     "It adapts a large model with low-rank matrices.", 0.5),
    # {sky, blue, scatter, light}: all four, in other forms and order
    ("The sky is blue because light scatters.", "Scattered light makes skies look blue.", 1.0),
    # {ottawa, capit, canada}: only "Canada"
    ("Ottawa is the capital of Canada.", "Toronto is in Canada.", 1 / 3),
    # nothing shared
    ("Photosynthesis makes sugar.", "I do not know.", 0.0),
])
def test_keyword_overlap_hand_checked(reference, answer, expected):
    assert keyword_overlap(reference, answer) == pytest.approx(expected)


def test_keyword_overlap_counts_distinct_words_and_ignores_answer_length():
    assert keyword_overlap("cats cats cats dogs", "cats") == pytest.approx(0.5)
    assert keyword_overlap("cats", "cats and a great many other words") == 1.0


def test_keyword_overlap_without_content_words_is_nan():
    assert math.isnan(keyword_overlap("It is what it is.", "anything"))
    assert keyword_overlap("Paris", "") == 0.0


@pytest.mark.parametrize("reference, answer, expected", [
    ("The Pacific Ocean.", "pacific ocean", 1.0),
    ("Ottawa", "  Ottawa!  ", 1.0),
    ("Ottawa", "Ottawa, Ontario", 0.0),
    ("", "", 0.0),
])
def test_normalized_exact_match(reference, answer, expected):
    assert normalized_exact_match(reference, answer) == expected
