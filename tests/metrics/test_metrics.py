"""ftbench.metrics: lexical metrics, classification metrics, the overall score.

Expected values are worked out by hand in the comments. Tags: test_metrics_tags.py; BERTScore:
test_metrics_bertscore.py.
"""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import pytest

from ftbench.metrics import (
    accuracy,
    confusion_matrix,
    length_ratio,
    macro_f1,
    matthews_corrcoef,
    parse_label,
    per_class_accuracy,
    rouge_scores,
    word_count,
)
from ftbench.suites.bmw.composite import OVERALL_WEIGHTS, overall_score

LONG_GARBAGE = "bmw " * 500  # 2,000 characters, one word repeated
PEER_TABLE = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "bmw" / "peer_model_comparison.csv"
)


# --- text ---------------------------------------------------------------------------------

def test_rouge_cat_sat_vs_cat_ran():
    # unigrams: {the, cat} shared of 3 each -> P = R = F = 2/3
    # bigrams: ref {the cat, cat sat}, pred {the cat, cat ran} -> 1 of 2 -> 1/2
    # LCS = "the cat" = 2 tokens of 3 -> 2/3
    scores = rouge_scores("the cat sat", "the cat ran")
    assert scores == pytest.approx({"rouge1": 2 / 3, "rouge2": 1 / 2, "rougeL": 2 / 3})


def test_rouge_unequal_lengths():
    # ref 4 words, pred = its first 2: P = 2/2, R = 2/4 -> F = 2*1*0.5/1.5 = 2/3
    # bigrams: ref 3, pred 1 ("red blue") matching -> P = 1, R = 1/3 -> F = (2/3)/(4/3) = 1/2
    # LCS = 2 -> same as rouge1 = 2/3
    scores = rouge_scores("red blue green black", "red blue")
    assert scores == pytest.approx({"rouge1": 2 / 3, "rouge2": 1 / 2, "rougeL": 2 / 3})


def test_rouge_uses_stemmer():
    # Porter: cats -> cat, running -> run; tokens [the cat are run] vs [the cat is run] -> 3/4
    assert rouge_scores("the cats are running", "the cat is running")["rouge1"] == pytest.approx(
        0.75
    )


def test_rouge_identical_is_one():
    assert rouge_scores("BMW presents the iX3.", "BMW presents the iX3.") == pytest.approx(
        {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    )


@pytest.mark.parametrize(
    ("reference", "prediction"),
    [("the cat sat", ""), ("the cat sat", "   \n"), ("", "the cat sat"), ("  ", ""),
     ("the cat sat", "!!!"), ("the cat sat", "asdf qwerty")],
)
def test_rouge_empty_and_garbage_are_zero(reference, prediction):
    assert rouge_scores(reference, prediction) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def test_rouge_long_repeated_garbage():
    # pred: 500 x "bmw"; ref 5 tokens with one "bmw" -> clipped overlap 1
    # P = 1/500, R = 1/5 -> F = 2PR/(P+R) = (2/2500)/(101/500) = 2/505; no shared bigram
    scores = rouge_scores("bmw unveils the new x5", LONG_GARBAGE)
    assert scores["rouge1"] == pytest.approx(2 / 505)
    assert scores["rouge2"] == 0.0
    assert scores["rougeL"] == pytest.approx(2 / 505)


def test_word_count():
    assert word_count("  BMW   iX3\nxDrive\tM Sport ") == 5  # BMW|iX3|xDrive|M|Sport
    assert word_count("") == 0
    assert word_count("   ") == 0
    assert word_count(LONG_GARBAGE) == 500


def test_length_ratio():
    assert length_ratio("a b c d", "a b") == 0.5
    assert length_ratio("a b", "a b c d e f") == 3.0
    assert length_ratio("a b", "") == 0.0
    assert math.isnan(length_ratio("", "a b"))
    assert math.isnan(length_ratio("  \n", ""))


# --- classification -----------------------------------------------------------------------

TYPES = ("Press Release", "Press Kit", "Fact & Figures", "Speech")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Press Release", "Press Release"),
        ("fact and figures", "Fact & Figures"),
        ("FACT & FIGURES.", "Fact & Figures"),
        ("Facts & Figures", "Fact & Figures"),
        ("fact&figures", "Fact & Figures"),
        ("Type: press-release", "Press Release"),
        ("type: press_kit", "Press Kit"),
        ("It is a Speech.", "Speech"),
        ("speeches", "Speech"),
        ("PressRelease", "Press Release"),
        ("**Press Kit**\n\nThis article bundles several press releases.", "Press Kit"),
        # earliest mention wins
        ("Speech - not a press release", "Speech"),
        ("This press release quotes a speech", "Press Release"),
        # no label
        ("", None),
        ("!!!", None),
        ("asdf qwerty", None),
        ("Press", None),
        ("impressive release", None),
        ("speechless", None),
        ("qwerty " * 300, None),
    ],
)
def test_parse_label(text, label):
    assert parse_label(text, TYPES) == label


def test_parse_label_is_generic_and_prefers_longer_label_at_same_position():
    assert parse_label("Sports car review", ["Sport", "Sports Car"]) == "Sports Car"
    assert parse_label("the answer is NEGATIVE", ("positive", "negative")) == "negative"
    assert parse_label("anything", []) is None


# A 3-class example used by the tests below (rows = gold, cols = pred, N = unparseable):
#   gold A A A B B    C
#   pred A A B B None A
#            pred: A  B  C  N
#   gold A        [2, 1, 0, 0]
#   gold B        [0, 1, 0, 1]
#   gold C        [1, 0, 0, 0]
LABELS = ["A", "B", "C"]
GOLDS = ["A", "A", "A", "B", "B", "C"]
PREDS = ["A", "A", "B", "B", None, "A"]


def test_accuracy():
    assert accuracy(GOLDS, PREDS) == pytest.approx(3 / 6)  # diagonal 2 + 1 + 0
    assert accuracy(["A"], [None]) == 0.0
    assert math.isnan(accuracy([], []))
    with pytest.raises(ValueError):
        accuracy(["A"], [])


def test_per_class_accuracy():
    out = per_class_accuracy(GOLDS, PREDS, LABELS + ["D"])
    assert out["A"] == {"accuracy": pytest.approx(2 / 3), "n": 3}
    assert out["B"] == {"accuracy": pytest.approx(1 / 2), "n": 2}
    assert out["C"] == {"accuracy": 0.0, "n": 1}
    assert math.isnan(out["D"]["accuracy"]) and out["D"]["n"] == 0


def test_macro_f1_by_hand():
    # A: tp 2, fp 1 (C->A), fn 1 (A->B)    -> 2*2/(4+1+1) = 2/3
    # B: tp 1, fp 1 (A->B), fn 1 (B->None) -> 2/(2+1+1)   = 1/2
    # C: tp 0, fp 0,        fn 1           -> 0
    # macro = (2/3 + 1/2 + 0)/3 = 7/18; D (no gold, no pred) is skipped
    assert macro_f1(GOLDS, PREDS, LABELS) == pytest.approx(7 / 18)
    assert macro_f1(GOLDS, PREDS, LABELS + ["D"]) == pytest.approx(7 / 18)
    assert macro_f1(["A", "B"], ["A", "B"], LABELS) == 1.0
    assert math.isnan(macro_f1([], [], LABELS))


def test_confusion_matrix_3x3():
    cm = confusion_matrix(GOLDS, PREDS, LABELS)
    assert cm["labels"] == ["A", "B", "C", "unparseable"]
    assert cm["matrix"] == [
        [2, 1, 0, 0],
        [0, 1, 0, 1],
        [1, 0, 0, 0],
        [0, 0, 0, 0],
    ]
    with pytest.raises(ValueError):
        confusion_matrix(["Z"], ["A"], LABELS)
    with pytest.raises(ValueError):
        confusion_matrix(["A"], ["Z"], LABELS)


def test_matthews_corrcoef_by_hand():
    # classes A B C None: true counts t = [3, 2, 1, 0], predicted p = [3, 2, 0, 1],
    # correct c = 3, s = 6: cov(yt,yp) = c*s - sum(t*p) = 18 - (9+4) = 5
    # cov(yp,yp) = 36 - (9+4+0+1) = 22, cov(yt,yt) = 36 - (9+4+1) = 22 -> 5/22
    assert matthews_corrcoef(GOLDS, PREDS, LABELS) == pytest.approx(5 / 22)
    assert matthews_corrcoef(GOLDS, GOLDS, LABELS) == pytest.approx(1.0)
    # always the majority class: no correlation (sklearn's 0.0 convention)
    assert matthews_corrcoef(GOLDS, ["A"] * 6, LABELS) == 0.0
    assert math.isnan(matthews_corrcoef([], [], LABELS))


def test_matthews_corrcoef_matches_sklearn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    golds = ["A", "B", "C", "A", "B", "C", "A", "A", "C", "B"]
    preds = ["A", "C", None, "A", "B", "C", "B", "A", "C", None]
    expected = sklearn_metrics.matthews_corrcoef(
        golds, [p if p is not None else "unparseable" for p in preds]
    )
    assert matthews_corrcoef(golds, preds, LABELS) == pytest.approx(expected, abs=1e-12)


# --- overall ------------------------------------------------------------------------------

def test_overall_weights_sum_to_one():
    assert sum(OVERALL_WEIGHTS.values()) == pytest.approx(1.0)


def test_overall_score_by_hand_and_missing_keys():
    ones = {name: 1.0 for name in OVERALL_WEIGHTS}
    assert overall_score(ones) == pytest.approx(1.0)
    # only type_accuracy = 1 -> its weight 0.20
    only_type = {name: 0.0 for name in OVERALL_WEIGHTS} | {"type_accuracy": 1.0}
    assert overall_score(only_type) == pytest.approx(0.20)
    partial = {k: v for k, v in ones.items() if k not in ("tag_f1", "type_accuracy")}
    with pytest.raises(KeyError, match="tag_f1.*type_accuracy"):
        overall_score(partial)


def test_overall_score_reproduces_published_table():
    if not PEER_TABLE.is_file():
        pytest.skip(f"published results table not found at {PEER_TABLE} (../shared beside repo)")
    with PEER_TABLE.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 24
    for row in rows:
        metrics = {name: float(row[name]) for name in OVERALL_WEIGHTS}
        assert abs(overall_score(metrics) - float(row["overall_score"])) < 1e-9, row["model_name"]


# --- packaging ----------------------------------------------------------------------------

def test_import_is_pure_and_light():
    """No lm-eval, and bert_score/torch only when BERTScore is actually computed."""
    code = (
        "import sys, ftbench.metrics; "
        "bad = [m for m in ('lm_eval', 'bert_score', 'torch') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
