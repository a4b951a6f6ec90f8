"""Confidence intervals that keep their promise: Wilson for proportions, BCa bootstrap otherwise.

A percentile bootstrap of a proportion collapses to [1, 1] at 2/2 correct and under-covers at the
small n a test split has (49 articles), so 0/1 metrics (accuracy, exact match, per-class
accuracy) get the Wilson score interval (scipy's `binomtest(...).proportion_ci`). Means of
continuous per-item scores and ratio statistics (corpus perplexity) use `scipy.stats.bootstrap`
with the bias-corrected and accelerated (BCa) method, which corrects the skew of bounded scores;
where BCa cannot be computed (all items equal, too few items) the percentile interval is used and
the method column says so. Every interval carries its method name and n.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats as sps

N_BOOT = 1000
LEVEL = 0.95
WILSON = "Wilson"
BCA = "BCa bootstrap"
PERCENTILE = "percentile bootstrap"


def clean(values) -> np.ndarray:
    """Values as floats without NaN (rows with any NaN dropped for 2-D input)."""
    arr = np.asarray(values, dtype=float)
    return arr[~np.isnan(arr)] if arr.ndim == 1 else arr[~np.isnan(arr).any(axis=1)]


def wilson(successes: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval of a proportion; (nan, nan) for n = 0."""
    if n <= 0:
        return math.nan, math.nan
    ci = sps.binomtest(int(successes), int(n)).proportion_ci(confidence_level=level,
                                                              method="wilson")
    return float(ci.low), float(ci.high)


def is_binary(values) -> bool:
    v = clean(values)
    return v.ndim == 1 and len(v) > 0 and bool(np.isin(v, (0.0, 1.0)).all())


def proportion_ci(values, level: float = LEVEL) -> dict:
    """{estimate, lo, hi, n, method} of 0/1 outcomes (NaN dropped) with the Wilson interval."""
    v = clean(values)
    n = len(v)
    if n == 0:
        return {"estimate": math.nan, "lo": math.nan, "hi": math.nan, "n": 0, "method": WILSON}
    k = round(float(v.sum()))
    lo, hi = wilson(k, n, level)
    return {"estimate": k / n, "lo": lo, "hi": hi, "n": n, "method": WILSON}


def _resample(data: np.ndarray, stat: Callable | None, n_boot: int, seed: int, level: float,
              method: str):
    if stat is None:
        return sps.bootstrap((data,), np.mean, n_resamples=n_boot, method=method,
                             confidence_level=level, rng=seed, vectorized=True, axis=-1)
    columns = tuple(data[:, j] for j in range(data.shape[1]))
    return sps.bootstrap(columns, lambda *cols, axis=-1: stat(np.stack(cols, axis=-1)),
                         n_resamples=n_boot, method=method, confidence_level=level, rng=seed,
                         paired=True, vectorized=False)


def _bootstrap(data: np.ndarray, stat: Callable | None, n_boot: int, seed: int,
               level: float) -> tuple[float, float, str, np.ndarray]:
    """(lo, hi, method, resampled statistics): BCa, else percentile where BCa is undefined."""
    for method, name in (("BCa", BCA), ("percentile", PERCENTILE)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = _resample(data, stat, n_boot, seed, level, method)
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if not (math.isnan(lo) or math.isnan(hi)):
            return lo, hi, name, np.asarray(res.bootstrap_distribution)
    return lo, hi, PERCENTILE, np.asarray(res.bootstrap_distribution)


def bootstrap_ci(values, *, stat: Callable[[np.ndarray], float] | None = None,
                 n_boot: int = N_BOOT, seed: int = 0, level: float = LEVEL) -> dict:
    """BCa bootstrap CI over items: {estimate, lo, hi, n, method}. NaNs are dropped first.

    `stat` receives the items (rows of 2-D input, e.g. (loglik, words) per article) and returns
    a number; the default is the mean of 1-D input. Seeded: a rerun prints the same interval.
    """
    data = clean(values)
    n = len(data)
    out = {"estimate": math.nan, "lo": math.nan, "hi": math.nan, "n": n, "method": BCA}
    if n == 0:
        return out
    if stat is None and data.ndim != 1:
        raise ValueError("2-D data needs a `stat` function")
    out["estimate"] = float(data.mean()) if stat is None else float(stat(data))
    if n == 1:
        out["method"] = "none (one item)"
    elif np.all(np.ptp(data, axis=0) == 0):  # every item the same: no sampling variation
        out.update(lo=out["estimate"], hi=out["estimate"], method="none (all items equal)")
    else:
        lo, hi, method, _ = _bootstrap(data, stat, n_boot, seed, level)
        out.update(lo=lo, hi=hi, method=method)
    return out


def interval(values, *, binary: bool, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """The right interval for a metric's per-item values: Wilson for 0/1, BCa otherwise."""
    if binary and is_binary(values):
        return proportion_ci(values)
    return bootstrap_ci(values, n_boot=n_boot, seed=seed)


def paired_difference(d, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Mean of paired differences with its BCa CI and a two-sided bootstrap p-value (twice the
    share of resampled means on the far side of zero): {diff, lo, hi, p, n}."""
    d = clean(d)
    n = len(d)
    if n == 0:
        return {"diff": math.nan, "lo": math.nan, "hi": math.nan, "p": math.nan, "n": 0}
    mean = float(d.mean())
    if n == 1 or np.ptp(d) == 0:  # constant differences: the resampled mean never moves
        p = 1.0 if mean == 0 else 0.0
        return {"diff": mean, "lo": mean if n > 1 else math.nan,
                "hi": mean if n > 1 else math.nan, "p": p if n > 1 else math.nan, "n": n}
    lo, hi, _, boots = _bootstrap(d, None, n_boot, seed, LEVEL)
    p = min(1.0, 2 * min(float(np.mean(boots <= 0)), float(np.mean(boots >= 0))))
    return {"diff": mean, "lo": lo, "hi": hi, "p": p, "n": n}
