"""Honest intervals: Wilson for proportions and BCa bootstrap for means, checked by simulation
(coverage of the true value over many simulated test sets), plus the MDE's promised power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from ftbench.report import intervals, stats
from ftbench.report.resolution import infer_denominator, mde_mcnemar, mde_paired_t

Z = 1.959963984540054


def test_wilson_matches_the_textbook_formula_and_never_collapses():
    for k, n in ((7, 10), (2, 2), (0, 5), (46, 49)):
        p = k / n
        center = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
        half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
        lo, hi = intervals.wilson(k, n)
        assert (lo, hi) == pytest.approx((center - half, center + half), abs=1e-9)
    lo, hi = intervals.wilson(2, 2)
    assert hi == pytest.approx(1.0) and lo < 0.5  # a percentile bootstrap gives [1, 1] here
    ci = intervals.proportion_ci([1, 0, 1, np.nan, 1])
    assert (ci["estimate"], ci["n"], ci["method"]) == (0.75, 4, "Wilson")


def _coverage(intervals_by_k: dict[int, tuple[float, float]], p: float, n: int,
              draws: int = 4000, seed: int = 0) -> float:
    ks = np.random.default_rng(seed).binomial(n, p, size=draws)
    return float(np.mean([intervals_by_k[k][0] <= p <= intervals_by_k[k][1] for k in ks]))


@pytest.mark.parametrize(("p", "n"), [(0.9, 20), (0.94, 49), (0.5, 12)])
def test_wilson_covers_and_the_percentile_bootstrap_does_not(p, n):
    rng = np.random.default_rng(1)
    wilson = {k: intervals.wilson(k, n) for k in range(n + 1)}
    percentile = {}
    for k in range(n + 1):  # what the report did before: percentile bootstrap of the 0/1 items
        items = np.r_[np.ones(k), np.zeros(n - k)]
        means = items[rng.integers(0, n, size=(500, n))].mean(axis=1)
        percentile[k] = tuple(np.percentile(means, [2.5, 97.5]))
    cover_w, cover_p = _coverage(wilson, p, n), _coverage(percentile, p, n)
    assert 0.92 <= cover_w <= 0.99, cover_w
    if p > 0.85:  # near the ceiling the percentile interval collapses onto [1, 1]
        assert cover_p < cover_w - 0.03, (cover_p, cover_w)


def test_bca_interval_of_a_skewed_mean_covers():
    rng = np.random.default_rng(2)
    truth = 2 / 7  # mean of Beta(2, 5): bounded and skewed like per-item ROUGE
    hits = [intervals.bootstrap_ci(rng.beta(2, 5, size=40), n_boot=400, seed=i)
            for i in range(200)]
    coverage = np.mean([h["lo"] <= truth <= h["hi"] for h in hits])
    assert 0.88 <= coverage <= 0.99, coverage
    assert {h["method"] for h in hits} == {"BCa bootstrap"}


def test_bootstrap_degenerate_cases_and_ratio_statistic():
    same = intervals.bootstrap_ci([0.3] * 8)
    assert (same["lo"], same["hi"], same["method"]) == (0.3, 0.3, "none (all items equal)")
    one = intervals.bootstrap_ci([0.3])
    assert one["estimate"] == 0.3 and math.isnan(one["lo"])
    rows = np.array([[-10.0, 5.0], [-20.0, 5.0], [-15.0, 10.0], [-12.0, 6.0]])
    ci = intervals.bootstrap_ci(rows, stat=lambda r: math.exp(-r[:, 0].sum() / r[:, 1].sum()))
    assert ci["lo"] <= ci["estimate"] <= ci["hi"]
    # interval(): Wilson for 0/1 metrics, BCa otherwise
    assert intervals.interval([1, 0, 1, 1], binary=True)["method"] == "Wilson"
    assert intervals.interval([0.2, 0.5, 0.9, 0.4], binary=False)["method"] != "Wilson"


def test_paired_difference_p_value_and_constant_differences():
    assert intervals.paired_difference([0.0] * 5)["p"] == 1.0
    assert intervals.paired_difference([0.2] * 5)["p"] == 0.0
    d = np.random.default_rng(3).normal(0.1, 0.05, size=50)
    r = stats.paired_bootstrap(np.zeros(50), d)
    assert r["lo"] < d.mean() < r["hi"] and r["p"] < 0.01 and r["n"] == 50


# --- minimum detectable difference: the power it promises, by simulation ---------------------


def test_paired_t_mde_has_80_percent_power():
    n, sd = 30, 0.2
    mde = mde_paired_t(sd, n)
    assert mde == pytest.approx((Z + 0.8416) * sd / math.sqrt(n), rel=0.05)
    d = np.random.default_rng(4).normal(mde, sd, size=(4000, n))
    power = np.mean(sps.ttest_1samp(d, 0.0, axis=1).pvalue < 0.05)
    assert 0.77 <= power <= 0.83, power
    assert math.isnan(mde_paired_t(0.0, n)) and math.isnan(mde_paired_t(0.1, 1))


def test_mcnemar_mde_has_about_80_percent_power():
    n, p_disc = 120, 0.2
    delta = mde_mcnemar(p_disc, n)
    rng = np.random.default_rng(5)
    probs = [(p_disc - delta) / 2, (p_disc + delta) / 2, 1 - p_disc]  # a-only, b-only, agree
    rejections = 0
    for _ in range(1500):
        counts = rng.multinomial(n, probs)
        a = np.r_[np.ones(counts[0]), np.zeros(counts[1]), np.ones(counts[2])]
        b = np.r_[np.zeros(counts[0]), np.ones(counts[1]), np.ones(counts[2])]
        rejections += stats.mcnemar(a, b)["p"] < 0.05
    assert 0.72 <= rejections / 1500 <= 0.88, rejections / 1500
    assert math.isnan(mde_mcnemar(0.01, 10))  # too few discordant items to detect anything


def test_item_count_inferred_from_the_values_granularity(peer_csv):
    import pandas as pd

    peer = pd.read_csv(peer_csv)
    assert infer_denominator(peer["type_accuracy"]) == 108
    assert infer_denominator(peer["tag_exact_match"]) == 110
    assert infer_denominator(peer["summ_rougeL_f1"]) is None  # continuous scores
    assert infer_denominator([3 / 37, 10 / 37, 22 / 37]) == 37
    assert infer_denominator([0.5, 0.5, 1.0]) is None  # too few distinct values to tell
