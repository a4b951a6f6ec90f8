"""ftbench.metrics.label_answer: an answer counts only when it commits to ONE label."""

from __future__ import annotations

import pytest

from ftbench.metrics.label_answer import (
    AMBIGUOUS,
    EMPTY,
    NEGATED,
    NO_LABEL,
    OK,
    committed_label,
    label_answer,
)

TYPES = ("Press Release", "Press Kit", "Fact & Figures", "Speech")


@pytest.mark.parametrize(
    ("text", "label", "status"),
    [
        # bare labels in any spelling
        ("Press Release", "Press Release", OK),
        ("fact and figures", "Fact & Figures", OK),
        ("FACT & FIGURES.", "Fact & Figures", OK),
        ("Facts & Figures", "Fact & Figures", OK),
        ("fact&figures", "Fact & Figures", OK),
        ("Type: press-release", "Press Release", OK),
        ("type: press_kit", "Press Kit", OK),
        ("speeches", "Speech", OK),
        ("PressRelease", "Press Release", OK),
        ("Article Type: **Press Release**", "Press Release", OK),
        # a sentence that commits to one label; markdown bold
        ("Based on its content and structure, I would classify this article as a "
         "**Press Release**.", "Press Release", OK),
        ("It is a Speech.", "Speech", OK),
        # the same label mentioned twice is one answer
        ("It is a Press Release. Press releases are official statements to the media.",
         "Press Release", OK),
        # a first line that is only a label commits, whatever the explanation mentions
        ("**Press Kit**\n\nThis article bundles several press releases.", "Press Kit", OK),
        # negated labels are not answers
        ("This is not a Press Kit; it is a Press Release.", "Press Release", OK),
        ("It isn't a Press Kit, but a Speech.", "Speech", OK),
        ("Neither a Press Kit nor a Speech: it is a Press Release", "Press Release", OK),
        ("The article is a Press Release. It is not a Speech or a Press Kit.",
         "Press Release", OK),
        ("Not a Press Kit, a Speech or Fact & Figures, but a Press Release.",
         "Press Release", OK),
        ("It is a press release rather than a speech.", "Press Release", OK),
        ("Speech - not a press release", "Speech", OK),
        # a negation word far from the label does not negate it
        ("There is no doubt that this is a press release", "Press Release", OK),
        # only negated labels: no answer
        ("This article is not a press release.", None, NEGATED),
        # two or more candidate labels: ambiguous, no answer
        ("Press Release, Press Kit, Fact & Figures, or Speech", None, AMBIGUOUS),
        ("Press Release or Speech", None, AMBIGUOUS),
        ("Is it a Press Release or a Press Kit?", None, AMBIGUOUS),
        ("This press release quotes a speech", None, AMBIGUOUS),
        # no label at all
        ("", None, EMPTY),
        ("   \n", None, EMPTY),
        ("Press", None, NO_LABEL),
        ("impressive release", None, NO_LABEL),
        ("speechless", None, NO_LABEL),
        ("The BMW news article is focused on", None, NO_LABEL),
        ("qwerty " * 300, None, NO_LABEL),
        # a first line without any word (seen from a LoRA-tuned tiny model)
        ("@@ ~\nPress Kit", "Press Kit", OK),
        ("—\n\n", None, NO_LABEL),
        ("%%%", None, NO_LABEL),
    ],
)
def test_label_answer(text, label, status):
    result = label_answer(text, TYPES)
    assert (result.label, result.status) == (label, status)
    assert committed_label(text, TYPES) == label


def test_mentions_are_reported_in_order():
    assert label_answer("Press Release or Speech", TYPES).mentioned == ("Press Release", "Speech")


def test_generic_labels_longest_match_wins():
    assert committed_label("Sports car review", ["Sport", "Sports Car"]) == "Sports Car"
    assert committed_label("the answer is NEGATIVE", ("positive", "negative")) == "negative"
    assert committed_label("not positive", ("positive", "negative")) is None
    assert committed_label("anything", []) is None


def test_parsers_never_raise_on_arbitrary_text():
    """Seeded random answers built from label words, markup and punctuation: every stage
    returns a value (a crash would fail the whole task for a model)."""
    import random

    from ftbench.metrics import extract_answer, parse_tags

    rng = random.Random(0)
    pieces = ["Press", "Release", "Kit", "Fact", "&", "Figures", "Speech", "not", "or", "**",
              "\n", "\n\n", ":", "-", "—", "(", ")", "[1]", "<think>", "</think>", "<|im_end|>",
              "assistant", "1.", "@@", "~", ",", ";", " ", "", "é", "{", "}", '"', "'"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(0, 12)))
        answer = extract_answer(text)
        result = label_answer(answer, TYPES)
        assert result.label is None or result.label in TYPES
        assert isinstance(parse_tags(answer), list)
