"""label_scores: the GLUE metrics (accuracy, macro-F1, MCC, counts) on hand-checked examples."""

from __future__ import annotations

import math

import pytest

from ftbench.metrics.label_scores import choice_prediction, class_counts, label_scores

# A binary SST-2-like example (P = positive, N = negative), 8 items:
#   gold P P P P P N N N
#   pred P P P N N N N P
# TP(P) = 3, FN(P) = 2, FP(P) = 1, TN(P) = 2
LABELS = ["negative", "positive"]
GOLDS = ["positive"] * 5 + ["negative"] * 3
PREDS = ["positive", "positive", "positive", "negative", "negative",
         "negative", "negative", "positive"]


def test_binary_scores_by_hand():
    s = label_scores(GOLDS, PREDS, LABELS)
    assert s["n"] == 8
    assert s["acc"] == pytest.approx(5 / 8)
    # F1(positive) = 2*3/(6+1+2) = 6/9; F1(negative) = 2*2/(4+2+1) = 4/7
    assert s["macro_f1"] == pytest.approx((6 / 9 + 4 / 7) / 2)
    # binary MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))
    #            = (3*2 - 1*2) / sqrt(4*5*3*4) = 4 / sqrt(240)
    assert s["mcc"] == pytest.approx(4 / math.sqrt(240))
    assert s["unparseable"] == 0.0
    # predicted positive = TP + FP = 4, predicted negative = FN + TN = 4
    assert s["counts"] == {"negative": {"gold": 3, "predicted": 4, "correct": 2},
                           "positive": {"gold": 5, "predicted": 4, "correct": 3}}
    assert s["confusion"]["matrix"] == [[2, 1, 0], [2, 3, 0], [0, 0, 0]]


def test_unparseable_answers_are_wrong_and_counted():
    s = label_scores(["positive", "negative"], [None, "negative"], LABELS)
    assert s["acc"] == 0.5 and s["unparseable"] == 0.5
    assert s["confusion"]["matrix"][1] == [0, 0, 1]  # gold positive → unparseable column
    assert class_counts(["positive"], [None], LABELS)["positive"] == {
        "gold": 1, "predicted": 0, "correct": 0}


def test_majority_class_collapse_has_zero_mcc():
    s = label_scores(GOLDS, ["positive"] * 8, LABELS)
    assert s["acc"] == pytest.approx(5 / 8) and s["mcc"] == 0.0
    # F1(positive) = 10/13, F1(negative) = 0
    assert s["macro_f1"] == pytest.approx((10 / 13) / 2)


def test_empty_input_is_nan():
    s = label_scores([], [], LABELS)
    assert math.isnan(s["acc"]) and math.isnan(s["mcc"]) and math.isnan(s["unparseable"])


def test_choice_prediction_is_argmax_first_on_ties():
    assert choice_prediction([-3.0, -1.5, -2.0], ["a", "b", "c"]) == "b"
    assert choice_prediction([-1.0, -1.0], ["a", "b"]) == "a"
    with pytest.raises(ValueError):
        choice_prediction([-1.0], ["a", "b"])
