"""Article-type classification: map free-text answers to labels and score them.

Generative models rarely answer with the bare label ("It is a Speech.", "Type: press-release"),
so `parse_label` searches for the labels in a normalised form of the answer. An answer naming no
label is `None` ("unparseable"): it always counts as wrong, and gets its own confusion column so
format failures stay visible instead of being folded into a wrong class.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cache

UNPARSEABLE = "unparseable"


def _canonical(text: str) -> str:
    """Casefolded words: '&' -> 'and', hyphens/underscores/punctuation -> spaces."""
    text = (text or "").casefold().replace("&", " and ")
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


@cache
def _label_pattern(label: str) -> re.Pattern[str] | None:
    words = _canonical(label).split()
    if not words:
        return None
    # Optional plural per word ("press releases", "facts and figures", "speeches"); words may be
    # run together ("PressRelease").
    body = r"\s*".join(re.escape(w) + r"(?:s|es)?" for w in words)
    return re.compile(rf"\b{body}\b")


def parse_label(text: str, labels: Sequence[str]) -> str | None:
    """The label mentioned EARLIEST in `text` (case/punctuation/hyphen/'&'-'and' tolerant).

    Ties at the same position go to the longer label (so "Press Kit Extra" beats "Press Kit").
    Returns None when no label occurs. The earliest mention wins because models tend to answer
    first and explain afterwards ("Speech. It is not a press release ..."). Lenient: a list of
    every label or a negated label still yields one; `label_answer.committed_label` (used by
    bmw_type) counts an answer only when it commits to exactly one label.
    """
    canonical = _canonical(text)
    best: tuple[int, int] | None = None
    best_label: str | None = None
    for label in labels:
        pattern = _label_pattern(label)
        match = pattern.search(canonical) if pattern else None
        if match is None:
            continue
        rank = (match.start(), -(match.end() - match.start()))
        if best is None or rank < best:
            best, best_label = rank, label
    return best_label


def _check(golds: Sequence, preds: Sequence) -> None:
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} gold labels but {len(preds)} predictions")


def accuracy(golds: Sequence[str], preds: Sequence[str | None]) -> float:
    """Share of exact matches; None (unparseable) is wrong; NaN for no items."""
    _check(golds, preds)
    if not golds:
        return math.nan
    return sum(g == p for g, p in zip(golds, preds)) / len(golds)


def per_class_accuracy(
    golds: Sequence[str], preds: Sequence[str | None], labels: Sequence[str]
) -> dict[str, dict]:
    """Per gold class: accuracy (= recall of the class; NaN if absent) and support n.

    Shows whether a model only ever predicts the majority class (Press Release is ~93% of the
    BMW corpus), which plain accuracy hides.
    """
    _check(golds, preds)
    out: dict[str, dict] = {}
    for label in labels:
        hits = [p == label for g, p in zip(golds, preds) if g == label]
        out[label] = {"accuracy": sum(hits) / len(hits) if hits else math.nan, "n": len(hits)}
    return out


def macro_f1(golds: Sequence[str], preds: Sequence[str | None], labels: Sequence[str]) -> float:
    """Unweighted mean of per-class F1 over `labels`.

    A class with neither gold items nor predictions is skipped (its F1 is undefined); None
    predictions are misses (false negatives of the gold class). NaN when no class is scored.
    """
    _check(golds, preds)
    scores = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(golds, preds))
        fp = sum(g != label and p == label for g, p in zip(golds, preds))
        fn = sum(g == label and p != label for g, p in zip(golds, preds))
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else math.nan


def confusion_matrix(
    golds: Sequence[str], preds: Sequence[str | None], labels: Sequence[str]
) -> dict:
    """Counts with rows = gold, columns = prediction, over `[*labels, "unparseable"]`.

    The matrix is square (the "unparseable" row stays 0 because gold labels are never None), so
    the same label list serves both axes. A gold or predicted value outside `labels` (other than
    None) raises ValueError: it means the label set passed in is wrong.
    """
    _check(golds, preds)
    axis = [*labels, UNPARSEABLE]
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(axis) for _ in axis]
    for gold, pred in zip(golds, preds):
        if gold not in index:
            raise ValueError(f"gold label {gold!r} is not one of {list(labels)}")
        if pred is not None and pred not in index:
            raise ValueError(f"predicted label {pred!r} is not one of {list(labels)} or None")
        matrix[index[gold]][len(labels) if pred is None else index[pred]] += 1
    return {"labels": axis, "matrix": matrix}


def matthews_corrcoef(
    golds: Sequence[str], preds: Sequence[str | None], labels: Sequence[str]
) -> float:
    """Multi-class Matthews correlation (Gorodkin's R_K, as in sklearn); None is its own class.

    Robust to the heavy class imbalance: always predicting the majority class gives 0.0.
    Returns 0.0 when undefined (a constant gold or prediction column, sklearn's convention) and
    NaN for no items. Classes outside `labels` are included as observed.
    """
    _check(golds, preds)
    if not golds:
        return math.nan
    classes = list(dict.fromkeys([*labels, *golds, *preds]))
    index = {c: i for i, c in enumerate(classes)}
    k = len(classes)
    true_counts, pred_counts = [0] * k, [0] * k
    correct = 0
    for gold, pred in zip(golds, preds):
        true_counts[index[gold]] += 1
        pred_counts[index[pred]] += 1
        correct += gold == pred
    total = len(golds)
    cov_ytyp = correct * total - sum(t * p for t, p in zip(true_counts, pred_counts))
    cov_ypyp = total * total - sum(p * p for p in pred_counts)
    cov_ytyt = total * total - sum(t * t for t in true_counts)
    if cov_ypyp == 0 or cov_ytyt == 0:
        return 0.0
    return cov_ytyp / math.sqrt(cov_ytyt * cov_ypyp)
