"""Scores of a label classifier (GLUE-style): one call gives accuracy, macro-F1, MCC and counts.

Why one function: the lm-eval tasks, the encoder baseline and the experiment report must compute
the same numbers from (gold, predicted) label pairs; they all call `label_scores`, which is built
on the unit-tested functions in `classification` (None = an unparseable answer, always wrong).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ftbench.metrics.classification import (
    accuracy,
    confusion_matrix,
    macro_f1,
    matthews_corrcoef,
)


def choice_prediction(loglikelihoods: Sequence[float], labels: Sequence[str]) -> str:
    """The label whose answer has the highest loglikelihood (first one on ties, like lm-eval)."""
    if len(loglikelihoods) != len(labels) or not labels:
        raise ValueError(f"{len(loglikelihoods)} loglikelihoods for {len(labels)} labels")
    best = max(range(len(labels)), key=lambda i: (loglikelihoods[i], -i))
    return labels[best]


def class_counts(golds: Sequence[str], preds: Sequence[str | None],
                 labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per label: gold support, times predicted, and correct predictions (true positives)."""
    return {label: {"gold": sum(g == label for g in golds),
                    "predicted": sum(p == label for p in preds),
                    "correct": sum(g == label and p == label for g, p in zip(golds, preds))}
            for label in labels}


def label_scores(golds: Sequence[str], preds: Sequence[str | None],
                 labels: Sequence[str]) -> dict:
    """{n, acc, macro_f1, mcc, unparseable (share), counts, confusion} for one run."""
    n = len(golds)
    return {
        "n": n,
        "acc": accuracy(golds, preds),
        "macro_f1": macro_f1(golds, preds, labels),
        "mcc": matthews_corrcoef(golds, preds, labels),
        "unparseable": sum(p is None for p in preds) / n if n else math.nan,
        "counts": class_counts(golds, preds, labels),
        "confusion": confusion_matrix(golds, preds, labels),
    }
