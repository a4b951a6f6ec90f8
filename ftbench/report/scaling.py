"""Score vs training size: a log fit and two saturating fits, with the plateau and its error.

The question a researcher asks is "does more data still help, and where does it stop?". A log
fit never stops (it gives the gain per doubling); the saturating fits `a - b*exp(-n/c)` and
`a*n/(n+c)` estimate a plateau `a`, whose standard error comes from curve_fit's covariance.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats as sps
from scipy.optimize import OptimizeWarning, curve_fit


def _log(n, a, b):
    return a + b * np.log(n)


def _exp_sat(n, a, b, c):
    return a - b * np.exp(-n / c)


def _hyperbolic(n, a, c):
    return a * n / (n + c)


FITS = {
    "log": (_log, "a + b*ln(n)"),
    "exp_saturating": (_exp_sat, "a - b*exp(-n/c)"),
    "hyperbolic": (_hyperbolic, "a*n/(n+c)"),
}


def _p0(name: str, x: np.ndarray, y: np.ndarray):
    span = max(float(np.ptp(y)), 1e-3)
    if name == "log":
        return [float(y.mean()), 0.0], (-np.inf, np.inf)
    if name == "exp_saturating":
        return ([float(y.max()) + 0.1 * span, span, float(np.median(x))],
                ([-np.inf, -np.inf, 1e-9], [np.inf, np.inf, np.inf]))
    return [float(y.max()) * 1.05, float(np.median(x)) * 0.1], ([-np.inf, 1e-9], [np.inf, np.inf])


def fit_one(name: str, x, y) -> dict:
    """One fit: parameters, their stderr, R^2, RMSE, AIC, plateau (+stderr, 95% CI) and n_95
    (the size reaching 95% of the way to the plateau). Failures give NaNs and a reason."""
    func, formula = FITS[name]
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y)) & (x > 0)
    x, y = x[keep], y[keep]
    k = func.__code__.co_argcount - 1
    out = {"fit": name, "formula": formula, "n_points": len(x), "n_sizes": len(set(x)),
           "a": math.nan, "a_se": math.nan, "b": math.nan, "b_se": math.nan, "c": math.nan,
           "c_se": math.nan, "r2": math.nan, "rmse": math.nan, "aic": math.nan,
           "plateau": math.nan, "plateau_se": math.nan, "plateau_lo": math.nan,
           "plateau_hi": math.nan, "n_95": math.nan, "gain_per_doubling": math.nan, "note": ""}
    if len(set(x)) < 3 or len(x) <= k:
        out["note"] = f"needs >= 3 distinct sizes and > {k} points"
        return out
    p0, bounds = _p0(name, x, y)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            popt, pcov = curve_fit(func, x, y, p0=p0, bounds=bounds, maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        out["note"] = f"fit failed: {str(exc)[:80]}"
        return out
    se = np.sqrt(np.clip(np.diag(pcov), 0, None)) if np.all(np.isfinite(pcov)) else \
        np.full(len(popt), math.nan)
    names = ["a", "b", "c"] if name != "hyperbolic" else ["a", "c"]
    for pname, value, err in zip(names, popt, se):
        out[pname], out[f"{pname}_se"] = float(value), float(err)
    resid = y - func(x, *popt)
    rss = float(np.sum(resid ** 2))
    tss = float(np.sum((y - y.mean()) ** 2))
    out["r2"] = 1 - rss / tss if tss > 0 else math.nan
    out["rmse"] = math.sqrt(rss / len(x))
    out["aic"] = len(x) * math.log(max(rss, 1e-300) / len(x)) + 2 * k
    if name == "log":
        out["gain_per_doubling"] = out["b"] * math.log(2)
        out["note"] = "no plateau: a log fit grows without bound"
        return out
    out["plateau"], out["plateau_se"] = out["a"], out["a_se"]
    dof = len(x) - k
    if dof > 0 and not math.isnan(out["a_se"]):
        t = float(sps.t.ppf(0.975, dof))
        out["plateau_lo"], out["plateau_hi"] = out["a"] - t * out["a_se"], out["a"] + t * out["a_se"]
    out["n_95"] = out["c"] * math.log(20) if name == "exp_saturating" else 19 * out["c"]
    if out["n_95"] > 10 * float(x.max()):
        out["note"] = "plateau far beyond the data: extrapolated, treat with care"
    return out


def fit_all(x, y) -> list[dict]:
    return [fit_one(name, x, y) for name in FITS]


def curve(name: str, row: dict, xs: np.ndarray) -> np.ndarray:
    """Fitted values of a fit row (for plotting)."""
    func, _ = FITS[name]
    params = [row["a"], row["b"], row["c"]] if name == "exp_saturating" else \
        [row["a"], row["c"]] if name == "hyperbolic" else [row["a"], row["b"]]
    return func(np.asarray(xs, dtype=float), *params)
