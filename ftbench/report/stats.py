"""Statistics that decide whether a difference is real: paired tests, correlations, Holm.

Everything random takes a seed, so a report re-run on the same files prints the same numbers.
Paired tests use the fact that every model answered the same test items: the per-item difference
removes item difficulty from the comparison, which an unpaired test on two means would not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from ftbench.report.intervals import N_BOOT, bootstrap_ci, clean, paired_difference

__all__ = ["ALPHA", "as_float", "bootstrap_ci", "correlation", "describe", "holm", "mcnemar", "paired_bootstrap",
           "paired_test", "permutation_test"]

ALPHA = 0.05
_EXACT_SIGNFLIP_MAX_N = 16
_MCNEMAR_EXACT_BELOW = 25


def as_float(value) -> float:
    """A cell or JSON value as a number; NaN when it is none (missing, text, null)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def paired_bootstrap(a, b, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Mean of b - a with a 95% BCa CI and a two-sided bootstrap p-value."""
    return paired_difference(_paired_diff(a, b), n_boot=n_boot, seed=seed)


def _paired_diff(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    keep = ~(np.isnan(a) | np.isnan(b))
    return b[keep] - a[keep]


def permutation_test(a, b, *, n_perm: int = 10000, seed: int = 0) -> float:
    """Two-sided paired sign-flip permutation p-value for mean(b - a) = 0.

    Exact (all 2^n sign patterns) for n <= 16, Monte Carlo with the +1 correction above.
    Vectorised numpy rather than `scipy.stats.permutation_test`, which gives the same exact
    p-values (tested) but enumerates sign patterns through its pairings machinery: 5.5 s
    against 0.09 s at n = 16 and 0.53 s against 0.11 s at n = 49 (measured side by side at load
    7 on 2 cores), and the report runs one test per model pair and metric.
    """
    d = _paired_diff(a, b)
    n = len(d)
    if n == 0:
        return math.nan
    observed = abs(d.mean())
    if observed == 0:
        return 1.0
    if n <= _EXACT_SIGNFLIP_MAX_N:
        signs = 1 - 2 * ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1)
        means = np.abs((signs * d).mean(axis=1))
        return float(np.mean(means >= observed - 1e-12))
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n_perm, n))
    means = np.abs((signs * d).mean(axis=1))
    return float((np.sum(means >= observed - 1e-12) + 1) / (n_perm + 1))


def mcnemar(a, b) -> dict:
    """McNemar's test on paired 0/1 outcomes: exact binomial below 25 discordant pairs
    (`scipy.stats.binomtest`), else chi-square with continuity correction (scipy has no McNemar
    function; the statistic is one line, its tail is `scipy.stats.chi2`). `a_only` = items only a
    got right."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep] > 0.5, b[keep] > 0.5
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    disc = a_only + b_only
    if disc == 0:
        p, method = 1.0, "McNemar (no discordant pairs)"
    elif disc < _MCNEMAR_EXACT_BELOW:
        p, method = float(sps.binomtest(a_only, disc, 0.5).pvalue), "McNemar exact binomial"
    else:
        chi2 = (abs(a_only - b_only) - 1) ** 2 / disc
        p, method = float(sps.chi2.sf(chi2, 1)), "McNemar chi2 (cc)"
    return {"a_only": a_only, "b_only": b_only, "p": p, "method": method, "n": int(keep.sum())}


def paired_test(a, b, *, binary: bool, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """b vs a on the same items: mean diff, bootstrap CI, and the right test's p-value."""
    boot = paired_bootstrap(a, b, n_boot=n_boot, seed=seed)
    if binary:
        mc = mcnemar(a, b)
        p, method = mc["p"], mc["method"]
    else:
        p, method = permutation_test(a, b, seed=seed), "paired sign-flip permutation"
    return {"n": boot["n"], "diff": boot["diff"], "diff_lo": boot["lo"], "diff_hi": boot["hi"],
            "p": p, "p_bootstrap": boot["p"], "test": method,
            "significant": bool(p < ALPHA) if not math.isnan(p) else False}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN): many models against one leader.

    Hand-written: scipy has only Benjamini-Hochberg/Yekutieli (`false_discovery_control`), and
    statsmodels' `multipletests` is not a dependency for six lines."""
    order = [i for i in np.argsort(pvalues) if not math.isnan(pvalues[i])]
    m, running = len(order), 0.0
    out = [math.nan] * len(pvalues)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def correlation(x, y) -> dict:
    """Pearson and Spearman with p-values on the complete pairs; NaN when n < 3 or constant."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    out = {"n": len(x), "pearson_r": math.nan, "pearson_p": math.nan,
           "spearman_rho": math.nan, "spearman_p": math.nan}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    pr = sps.pearsonr(x, y)
    sr = sps.spearmanr(x, y)
    out.update(pearson_r=float(pr.statistic), pearson_p=float(pr.pvalue),
               spearman_rho=float(sr.statistic), spearman_p=float(sr.pvalue))
    return out


def describe(values) -> dict:
    """n, mean, median, sample std (ddof=1), min, max, range."""
    v = clean(values)
    if len(v) == 0:
        return {"n": 0, "mean": math.nan, "median": math.nan, "std": math.nan,
                "min": math.nan, "max": math.nan, "range": math.nan}
    return {"n": len(v), "mean": float(v.mean()), "median": float(np.median(v)),
            "std": float(v.std(ddof=1)) if len(v) > 1 else math.nan,
            "min": float(v.min()), "max": float(v.max()), "range": float(np.ptp(v))}
