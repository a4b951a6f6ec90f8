"""Article-type classification: map free-text answers to labels and score them.

Generative models rarely answer with the bare label ("It is a Speech.", "Type: press-release"),
so `parse_label` searches for the labels in a normalised form of the answer. An answer naming no
label is `None` ("unparseable"): it always counts as wrong, and gets its own confusion column so
format failures stay visible instead of being folded into a wrong class.

The label parsing is ours; the arithmetic is scikit-learn's (`sklearn.metrics`: accuracy,
per-class recall, macro-F1, confusion matrix, MCC). The wrappers only fix the conventions
scikit-learn leaves open: None is mapped to a class of its own, no items give NaN, and macro-F1
averages the classes that occur (see each docstring).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from functools import cache

UNPARSEABLE = "unparseable"
_NONE = "\x00unparseable"  # None as a class for scikit-learn: never equal to a real label


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
    label tasks) counts an answer only when it commits to exactly one label.
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


def _sklearn():
    """sklearn.metrics, imported on first use (3-4 s on a loaded 2-core machine): the parsers and
    lm-eval's task loading, which import this module, do not pay for it."""
    from sklearn import metrics

    return metrics


def _filled(preds: Sequence[str | None]) -> list[str]:
    """Predictions with None as its own class (scikit-learn cannot sort None among strings)."""
    return [_NONE if p is None else p for p in preds]


def accuracy(golds: Sequence[str], preds: Sequence[str | None]) -> float:
    """Share of exact matches; None (unparseable) is wrong; NaN for no items."""
    _check(golds, preds)
    if not golds:
        return math.nan
    return float(_sklearn().accuracy_score(list(golds), _filled(preds)))


def per_class_accuracy(
    golds: Sequence[str], preds: Sequence[str | None], labels: Sequence[str]
) -> dict[str, dict]:
    """Per gold class: accuracy (= recall of the class; NaN if absent) and support n.

    Shows whether a model only ever predicts the majority class (a press-release class can be
    ~93% of a news corpus), which plain accuracy hides. scikit-learn's recall with `zero_division=nan`.
    """
    _check(golds, preds)
    if not golds or not labels:
        return {label: {"accuracy": math.nan, "n": 0} for label in labels}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "recall is ill-defined" for an absent class
        _, recall, _, support = _sklearn().precision_recall_fscore_support(
            list(golds), _filled(preds), labels=list(labels), average=None,
            zero_division=math.nan)
    return {label: {"accuracy": float(r), "n": int(n)}
            for label, r, n in zip(labels, recall, support)}


def macro_f1(golds: Sequence[str], preds: Sequence[str | None], labels: Sequence[str]) -> float:
    """Unweighted mean of per-class F1 over `labels` (scikit-learn's macro `f1_score`).

    A class with neither gold items nor predictions is skipped (its F1 is undefined; scikit-learn
    would count it as 0 or NaN); None predictions are misses (false negatives of the gold class).
    NaN when no class is scored.
    """
    _check(golds, preds)
    present = [c for c in dict.fromkeys(labels) if c in set(golds) or c in set(preds)]
    if not present:
        return math.nan
    return float(_sklearn().f1_score(list(golds), _filled(preds), labels=present, average="macro",
                              zero_division=0))


def confusion_matrix(
    golds: Sequence[str], preds: Sequence[str | None], labels: Sequence[str]
) -> dict:
    """Counts with rows = gold, columns = prediction, over `[*labels, "unparseable"]`.

    The matrix is square (the "unparseable" row stays 0 because gold labels are never None), so
    the same label list serves both axes. A gold or predicted value outside `labels` (other than
    None) raises ValueError: it means the label set passed in is wrong (scikit-learn would drop
    such items silently).
    """
    _check(golds, preds)
    known = set(labels)
    for gold, pred in zip(golds, preds):
        if gold not in known:
            raise ValueError(f"gold label {gold!r} is not one of {list(labels)}")
        if pred is not None and pred not in known:
            raise ValueError(f"predicted label {pred!r} is not one of {list(labels)} or None")
    axis = [*labels, UNPARSEABLE]
    if not golds:
        return {"labels": axis, "matrix": [[0] * len(axis) for _ in axis]}
    matrix = _sklearn().confusion_matrix(list(golds), _filled(preds), labels=[*labels, _NONE])
    return {"labels": axis, "matrix": matrix.astype(int).tolist()}


def matthews_corrcoef(
    golds: Sequence[str], preds: Sequence[str | None], labels: Sequence[str]
) -> float:
    """Multi-class Matthews correlation (Gorodkin's R_K), scikit-learn's; None is its own class.

    Robust to the heavy class imbalance: always predicting the majority class gives 0.0.
    Returns 0.0 when undefined (a constant gold or prediction column, scikit-learn's convention)
    and NaN for no items. `labels` is accepted for symmetry: a class nobody used adds nothing.
    """
    _check(golds, preds)
    if not golds:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant columns: sklearn warns, then returns 0.0
        return float(_sklearn().matthews_corrcoef(list(golds), _filled(preds)))
