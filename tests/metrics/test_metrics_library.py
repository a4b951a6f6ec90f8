"""The arithmetic is the libraries' (scikit-learn, scipy, lm-eval); the numbers did not change.

Each library-backed function is compared, on real data (the GLUE dev sets, the 500 BMW articles,
the published 24-model table) and on hand-checked edge cases, with the hand-written code it
replaced, kept below verbatim as an independent reference. The sign-flip permutation test stays
vectorised numpy (scipy's is 5-60x slower) and is checked against `scipy.stats.permutation_test`.
Conventions we fix on top of the
libraries (tested here): None = an unparseable answer is a class of its own; no items = NaN;
macro-F1 averages only the classes that occur (scikit-learn would count an absent class as 0);
MCC is 0.0 where undefined (scikit-learn's convention, kept); a class absent from the gold labels
has NaN recall (scikit-learn's `zero_division=nan`).
"""

from __future__ import annotations

import csv
import json
import math
import random

import numpy as np
import pytest
from file_modules import load_file
from scipy import stats as sps

from ftbench.metrics import (
    accuracy,
    confusion_matrix,
    length_ratio,
    macro_f1,
    matthews_corrcoef,
    parse_label,
    per_class_accuracy,
)
from ftbench.report import stats
from ftbench.suites.bmw.schema import ARTICLE_TYPES
from ftbench.suites.glue.data import GLUE_TASKS

# --- the replaced hand-written code (independent references) --------------------------------


def ref_accuracy(golds, preds):
    return sum(g == p for g, p in zip(golds, preds)) / len(golds) if golds else math.nan


def ref_per_class(golds, preds, labels):
    out = {}
    for label in labels:
        hits = [p == label for g, p in zip(golds, preds) if g == label]
        out[label] = {"accuracy": sum(hits) / len(hits) if hits else math.nan, "n": len(hits)}
    return out


def ref_macro_f1(golds, preds, labels):
    scores = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(golds, preds))
        fp = sum(g != label and p == label for g, p in zip(golds, preds))
        fn = sum(g == label and p != label for g, p in zip(golds, preds))
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else math.nan


def ref_confusion(golds, preds, labels):
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * (len(labels) + 1) for _ in range(len(labels) + 1)]
    for gold, pred in zip(golds, preds):
        matrix[index[gold]][len(labels) if pred is None else index[pred]] += 1
    return matrix


def ref_mcc(golds, preds, labels):
    if not golds:
        return math.nan
    classes = list(dict.fromkeys([*labels, *golds, *preds]))
    index = {c: i for i, c in enumerate(classes)}
    t, p = [0] * len(classes), [0] * len(classes)
    correct = 0
    for gold, pred in zip(golds, preds):
        t[index[gold]] += 1
        p[index[pred]] += 1
        correct += gold == pred
    s = len(golds)
    cov_tp = correct * s - sum(a * b for a, b in zip(t, p))
    cov_pp, cov_tt = s * s - sum(b * b for b in p), s * s - sum(a * a for a in t)
    return 0.0 if cov_pp == 0 or cov_tt == 0 else cov_tp / math.sqrt(cov_tt * cov_pp)


def ref_nanmean(values):
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


# --- real label pairs --------------------------------------------------------------------------

NEGATION = {"not", "no", "never", "nobody", "nothing", "n't"}
POSITIVE = {"good", "great", "best", "fun", "love", "beautiful", "funny", "moving", "wonderful"}
NEGATIVE = {"bad", "dull", "worst", "boring", "mess", "fails", "flat", "tedious", "stupid"}


def _glue_pairs(glue_dir, task: str, file: str) -> tuple[list[str], list[str | None], list[str]]:
    """Real GLUE gold labels and a deterministic word-rule 'model' on the real text (None when
    the rule has no answer, as an unparseable generation)."""
    labels = list(GLUE_TASKS[task].labels)
    golds, preds = [], []
    for line in (glue_dir / task / file).open():
        row = json.loads(line)
        golds.append(labels[row["label"]])
        if task == "sst2":
            words = set(row["sentence"].lower().split())
            score = len(words & POSITIVE) - len(words & NEGATIVE)
            preds.append(None if score == 0 else labels[score > 0])
            continue
        premise, hypo = (row.get("premise") or row["sentence1"]), (row.get("hypothesis")
                                                                    or row["sentence2"])
        h = set(hypo.lower().split())
        overlap = len(h & set(premise.lower().split())) / max(1, len(h))
        if overlap < 0.2:
            preds.append(None)
        elif h & NEGATION:
            preds.append(labels[-1])  # contradiction / not_entailment
        elif overlap > 0.7:
            preds.append(labels[0])  # entailment
        else:
            preds.append(labels[1])  # neutral / not_entailment
    return golds, preds, labels


def _bmw_pairs(bmw_raw) -> tuple[list[str], list[str | None], list[str]]:
    """Real article types and the label parser run on each real summary."""
    rows = [json.loads(line) for line in bmw_raw.open()]
    return ([r["type"] for r in rows], [parse_label(r["summary"], ARTICLE_TYPES) for r in rows],
            list(ARTICLE_TYPES))


@pytest.fixture(scope="module", params=["sst2", "rte", "mnli", "bmw"])
def real_pairs(request, glue_dir, bmw_raw):
    if request.param == "bmw":
        return _bmw_pairs(bmw_raw)
    file = "validation_matched.jsonl" if request.param == "mnli" else "validation.jsonl"
    return _glue_pairs(glue_dir, request.param, file)


def test_label_metrics_equal_the_hand_written_ones_on_real_data(real_pairs):
    golds, preds, labels = real_pairs
    assert None in preds and len({p for p in preds if p is not None}) >= 2  # realistic mix
    assert accuracy(golds, preds) == pytest.approx(ref_accuracy(golds, preds), abs=1e-12)
    assert macro_f1(golds, preds, labels) == pytest.approx(ref_macro_f1(golds, preds, labels),
                                                           abs=1e-12)
    assert matthews_corrcoef(golds, preds, labels) == pytest.approx(
        ref_mcc(golds, preds, labels), abs=1e-12)
    assert confusion_matrix(golds, preds, labels)["matrix"] == ref_confusion(golds, preds, labels)
    _same_per_class(per_class_accuracy(golds, preds, labels), ref_per_class(golds, preds, labels))


def _same_per_class(ours: dict, ref: dict) -> None:
    assert ours.keys() == ref.keys()
    for label in ref:
        assert ours[label]["n"] == ref[label]["n"]
        assert ours[label]["accuracy"] == pytest.approx(ref[label]["accuracy"], abs=1e-12,
                                                        nan_ok=True)


def test_glue_task_aggregations_equal_lm_evals_own_mcc(glue_dir):
    """agg_mcc (scikit-learn through ftbench.metrics) gives what lm-eval's registered
    `matthews_corrcoef` aggregation gives on the same pairs (None as its own class)."""
    from lm_eval.api.registry import get_aggregation

    from ftbench.core.paths import TASKS_DIR
    from ftbench.metrics.classification import UNPARSEABLE

    utils = load_file(TASKS_DIR / "glue_small" / "utils.py", "glue_small_utils")
    golds, preds, labels = _glue_pairs(glue_dir, "mnli", "validation_matched.jsonl")
    golds, preds = golds[:500], preds[:500]
    items = [{"gold": g, "pred": p} for g, p in zip(golds, preds)]
    lm_eval_mcc = get_aggregation("matthews_corrcoef")(
        [(g, UNPARSEABLE if p is None else p) for g, p in zip(golds, preds)])
    assert utils.agg_mcc(items) == pytest.approx(lm_eval_mcc, abs=1e-12)
    assert utils.agg_macro_f1(items) == pytest.approx(ref_macro_f1(golds, preds, labels), abs=1e-12)


# --- hand-checked edge cases -------------------------------------------------------------------

EDGES = [
    # (golds, preds, labels): a class never predicted, a single class, all unparseable,
    # an unused label, a gold label outside `labels`, one item
    (["A", "A", "B"], ["A", "A", "A"], ["A", "B"]),
    (["A", "A"], ["A", "A"], ["A", "B"]),
    (["A", "B"], [None, None], ["A", "B"]),
    (["A", "B", "B"], ["A", "B", None], ["A", "B", "C", "D"]),
    (["A", "Z", "B"], ["A", "A", "B"], ["A", "B"]),
    (["A"], ["B"], ["A", "B"]),
]


@pytest.mark.parametrize("golds, preds, labels", EDGES)
def test_edge_cases_equal_the_hand_written_ones(golds, preds, labels):
    assert accuracy(golds, preds) == pytest.approx(ref_accuracy(golds, preds))
    assert macro_f1(golds, preds, labels) == pytest.approx(ref_macro_f1(golds, preds, labels))
    assert matthews_corrcoef(golds, preds, labels) == pytest.approx(ref_mcc(golds, preds, labels))
    _same_per_class(per_class_accuracy(golds, preds, labels), ref_per_class(golds, preds, labels))
    if set(golds) <= set(labels):
        assert confusion_matrix(golds, preds, labels)["matrix"] == ref_confusion(golds, preds,
                                                                                 labels)


def test_edge_case_values_by_hand():
    # a class never predicted: F1(A) = 2*2/(4+1) = 0.8, F1(B) = 0; recall(B) = 0; MCC 0.0
    assert macro_f1(["A", "A", "B"], ["A", "A", "A"], ["A", "B"]) == pytest.approx(0.4)
    assert per_class_accuracy(["A", "A", "B"], ["A", "A", "A"], ["A", "B"])["B"] == {
        "accuracy": 0.0, "n": 1}
    assert matthews_corrcoef(["A", "A", "B"], ["A", "A", "A"], ["A", "B"]) == 0.0
    # a single class, all right: accuracy and macro-F1 1.0; MCC undefined -> 0.0
    assert macro_f1(["A", "A"], ["A", "A"], ["A", "B"]) == 1.0
    assert matthews_corrcoef(["A", "A"], ["A", "A"], ["A", "B"]) == 0.0
    # every answer unparseable: nothing right, the unparseable column holds everything
    assert macro_f1(["A", "B"], [None, None], ["A", "B"]) == 0.0
    assert confusion_matrix(["A", "B"], [None, None], ["A", "B"])["matrix"] == [
        [0, 0, 1], [0, 0, 1], [0, 0, 0]]
    # no items: NaN (scikit-learn raises or warns on empty input)
    assert math.isnan(accuracy([], [])) and math.isnan(macro_f1([], [], ["A"]))
    assert math.isnan(matthews_corrcoef([], [], ["A"]))
    assert math.isnan(per_class_accuracy([], [], ["A"])["A"]["accuracy"])
    assert confusion_matrix([], [], ["A"])["matrix"] == [[0, 0], [0, 0]]
    # a real label spelled like the unparseable column is still a label of its own
    assert accuracy(["unparseable"], [None]) == 0.0


# --- statistics --------------------------------------------------------------------------------


def _peer_columns(peer_csv, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    rows = list(csv.DictReader(peer_csv.open()))
    return (np.array([float(r[a]) for r in rows]), np.array([float(r[b]) for r in rows]))


def _scipy_signflip(a, b, n_resamples=np.inf) -> float:
    return float(sps.permutation_test((np.asarray(b) - np.asarray(a),),
                                      lambda d, axis: np.abs(np.mean(d, axis=axis)),
                                      permutation_type="samples", vectorized=True,
                                      n_resamples=n_resamples, alternative="greater",
                                      rng=1).pvalue)


@pytest.mark.parametrize("n", [5, 12, 14])
def test_exact_sign_flip_equals_scipys_on_real_pairs(peer_csv, n):
    """The sign-flip test stays vectorised numpy (scipy's is 60x slower at n = 16); its exact
    p-values equal `scipy.stats.permutation_test`'s on real paired scores."""
    a, b = _peer_columns(peer_csv, "summ_rouge1_f1", "title_rouge1_f1")
    assert stats.permutation_test(a[:n], b[:n]) == pytest.approx(_scipy_signflip(a[:n], b[:n]),
                                                                 abs=1e-12)
    ties = np.round(a[:n] * 10) / 10  # tied |means| (equal differences) count on both tails
    shifted = ties + np.r_[0.1, -0.1, 0.2][np.arange(n) % 3]
    assert stats.permutation_test(ties, shifted) == pytest.approx(_scipy_signflip(ties, shifted))


def test_monte_carlo_sign_flip_agrees_with_scipy_within_sampling_error(peer_csv):
    """n = 24 > 16: two Monte Carlo estimates with different draws (10,000 each) agree within
    four standard errors of their difference."""
    a, b = _peer_columns(peer_csv, "summ_bertscore_f1", "title_bertscore_f1")  # p ~ 0.33
    ours, ref = stats.permutation_test(a, b), _scipy_signflip(a, b, 10000)
    assert 0.05 < ref < 0.95
    assert abs(ours - ref) < 4 * math.sqrt(2 * ref * (1 - ref) / 10000)
    assert stats.permutation_test(a, b) == ours  # seeded
    assert stats.permutation_test([1, 2, 3], [1, 2, 3]) == 1.0
    assert math.isnan(stats.permutation_test([], []))


def test_lm_eval_nanmean_is_the_task_aggregation_and_equals_the_hand_written_one(bmw_raw):
    from lm_eval.api.metrics import nanmean
    from lm_eval.tasks import TaskManager

    from ftbench.core.paths import TASKS_DIR

    rows = [json.loads(line) for line in bmw_raw.open()]
    ratios = [length_ratio(r["summary"], r["title"]) for r in rows] + [length_ratio("", "x")]
    assert math.isnan(ratios[-1])  # an empty reference has no ratio
    assert nanmean(ratios) == pytest.approx(ref_nanmean(ratios), abs=1e-12)
    assert math.isnan(nanmean([math.nan])) and math.isnan(ref_nanmean([math.nan]))
    random.Random(0).shuffle(ratios)
    assert nanmean(ratios) == pytest.approx(ref_nanmean(ratios), abs=1e-12)
    tasks = TaskManager(include_path=str(TASKS_DIR)).load(["bmw_title", "bmw_summarization"])
    for task in tasks["tasks"].values():
        assert task.aggregation()["length_ratio"] is nanmean
