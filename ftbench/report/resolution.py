"""How fine can this test set tell models apart? One item's worth, the minimum detectable
difference, which adjacent ranks are closer than that, and recommendations that say "tie".

With 108 type-classification items, one item is worth 1/108 of type accuracy and 0.2/108 = 0.0019
of the overall score; ranks that differ by less than that swap when a single answer changes.
The minimum detectable difference (MDE) is the true paired difference a two-sided test at
alpha = 0.05 finds with 80% power at the study's n: a paired t approximation (noncentral t) from
the SD of per-item differences for continuous scores, McNemar's normal approximation (Connor
1987) from the share of discordant items for 0/1 scores. A flat table has no items: its 0/1
metrics get an MDE under independent errors (stated as such) and its n is inferred from the
values' granularity (the smallest denominator that makes every value a whole count).
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import pairwise

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.optimize import brentq

from ftbench.report import stats
from ftbench.report.families import verdict
from ftbench.report.items import item_scores
from ftbench.report.section import Context
from ftbench.report.vocab import BINARY, COLUMN_TASK, OVERALL, headlines

POWER = 0.8
_MAX_DENOMINATOR = 5000
_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


def mde_paired_t(sd: float, n: int, alpha: float = stats.ALPHA, power: float = POWER) -> float:
    """Smallest true mean difference a two-sided paired t-test detects with `power` (NaN if
    sd is not positive or n < 2)."""
    if n < 2 or not sd > 0:
        return math.nan
    df = n - 1
    crit = sps.t.ppf(1 - alpha / 2, df)

    def gap(effect: float) -> float:
        nc = effect * math.sqrt(n)
        return float(sps.nct.sf(crit, df, nc) + np.nan_to_num(sps.nct.cdf(-crit, df, nc)) - power)

    high = 1.0
    while gap(high) < 0:
        high *= 2
    return sd * brentq(gap, 1e-12, high)


def mde_mcnemar(p_discordant: float, n: int, alpha: float = stats.ALPHA,
                power: float = POWER) -> float:
    """Smallest difference of two paired proportions McNemar's test detects with `power`:
    Connor's n = (z_a sqrt(pd) + z_b sqrt(pd - d^2))^2 / d^2 solved for d. NaN when even
    d = pd (every discordant item one way) is not detectable at this n."""
    if n < 1 or not 0 < p_discordant <= 1:
        return math.nan
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)

    def excess(d: float) -> float:
        return (za * math.sqrt(p_discordant) + zb * math.sqrt(max(p_discordant - d * d, 0.0))) \
            ** 2 / (d * d) - n

    if excess(p_discordant) > 0:
        return math.nan
    return brentq(excess, 1e-9, p_discordant)


def pair_mde(a: pd.Series, b: pd.Series, binary: bool) -> float:
    """MDE for two models from their per-item scores on the items both answered."""
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    n = len(joined)
    if n < 2:
        return math.nan
    if binary:
        disc = float(((joined["a"] > 0.5) != (joined["b"] > 0.5)).mean())
        return mde_mcnemar(disc, n)
    return mde_paired_t(float((joined["b"] - joined["a"]).std(ddof=1)), n)


def infer_denominator(values) -> int | None:
    """Smallest n making every value a whole count k/n (needs >= 3 distinct values)."""
    v = np.asarray([x for x in values if pd.notna(x)], dtype=float)
    if len(set(np.round(v, 9))) < 3 or ((v < 0) | (v > 1)).any():
        return None
    dens = [Fraction(float(x)).limit_denominator(_MAX_DENOMINATOR).denominator for x in v]
    n = math.lcm(*dens)
    if n > _MAX_DENOMINATOR or not np.allclose(v * n, np.round(v * n), atol=1e-6):
        return None
    return n


def item_counts(ctx: Context) -> dict[str, tuple[int, str]]:
    """task -> (test items, where the count comes from)."""
    out: dict[str, tuple[int, str]] = {}
    for tasks in ctx.data.samples.values():
        for task, frame in tasks.items():
            out.setdefault(task, []).append(len(frame))
    if out:
        return {t: (int(pd.Series(ns).mode().iloc[0]), "per-sample logs") for t, ns in out.items()}
    table = ctx.table
    for col in sorted(c for c in BINARY if c in table):
        n = infer_denominator(table[col])
        task = COLUMN_TASK.get(col)
        if n and task and task not in out:
            out[task] = (n, f"inferred: smallest denominator of {table[col].notna().sum()} "
                            f"{col} values")
    return out


def overall_item_value(counts: dict[str, tuple[int, str]], composite: dict[str, float]) -> float:
    """What flipping one item of a 0/1 component does to the overall score (its weight / n;
    the published study: type accuracy, 0.2 / n): the smallest exact step of the overall
    score. NaN when no 0/1 component's n is known."""
    steps = [w / n for c, w in composite.items() if c in BINARY
             and (n := counts.get(COLUMN_TASK.get(c, ""), (0, ""))[0])]
    return min(steps) if steps else math.nan


def _all_tasks(ctx: Context) -> str:
    """'articles scored in all four tasks': the items the per-item overall score covers."""
    n = len({COLUMN_TASK.get(c) for c in ctx.data.composite})
    return f"{ctx.data.domain.item_noun}s scored in all {_WORDS.get(n, n)} tasks"


def _headlines(table: pd.DataFrame, suite: str | None) -> list[tuple[str, str]]:
    out = []
    for key, options in headlines(suite).items():
        if key == "perplexity":  # a corpus ratio, not a mean of item scores: no item value
            continue
        col = next((c for c in options if c in table and table[c].notna().any()), None)
        if col:
            out.append((COLUMN_TASK.get(col) or key, col))
    return out


def _median_adjacent_mde(ctx: Context, metric: str) -> float:
    ranked = ctx.table.dropna(subset=[metric]).sort_values(metric, ascending=False)["model"]
    items = [item_scores(ctx, m, metric) for m in ranked]
    mdes = [pair_mde(a, b, metric in BINARY) for a, b in pairwise(items)
            if a is not None and b is not None]
    mdes = [m for m in mdes if not math.isnan(m)]
    return float(np.median(mdes)) if mdes else math.nan


def resolution_table(ctx: Context) -> pd.DataFrame:
    counts = item_counts(ctx)
    ctx.shared.item_counts = counts
    rows = []
    for task, metric in [("all", ctx.score)] + _headlines(ctx.table, ctx.data.domain.suite):
        if task == "all" and ctx.score != OVERALL:
            continue
        n, source = counts.get(task, (0, "unknown"))
        if task == "all":
            articles = [item_scores(ctx, m, OVERALL) for m in ctx.data.samples]
            sizes = [len(s) for s in articles if s is not None]
            n, source = (int(np.median(sizes)), _all_tasks(ctx)) if sizes else (0, "unknown")
        weight = sum(w for c, w in ctx.data.composite.items() if COLUMN_TASK.get(c) == task)
        row = {"task": task, "metric": metric, "n": n or math.nan, "n_source": source,
               "item_value": 1 / n if n else math.nan,
               "overall_weight": weight if task != "all" else 1.0,
               "overall_per_item": (weight if task != "all" else 1.0) / n if n else math.nan,
               "mde": math.nan, "mde_basis": ""}
        if ctx.data.samples:
            row["mde"] = _median_adjacent_mde(ctx, metric)
            row["mde_basis"] = ("McNemar; median over adjacent models of their discordance"
                                if metric in BINARY else "paired t; median over adjacent models "
                                "of the SD of their item differences")
        elif metric in BINARY and n:
            acc = float(ctx.table[metric].mean())
            row["mde"] = mde_mcnemar(2 * acc * (1 - acc), n)
            row["mde_basis"] = (f"McNemar at the mean {metric} {acc:.3f}, assuming independent "
                                "errors (no per-item results)")
        else:
            row["mde_basis"] = "needs per-item results"
        rows.append(row)
    return pd.DataFrame(rows)


def adjacent_ranks(ctx: Context) -> pd.DataFrame:
    """Each rank vs the next: gap, one item's worth, MDE and paired test. The test's p_holm is
    the pair's in the score's family (every pair of models), the same in every table."""
    ranked = ctx.scored()
    counts = ctx.shared.item_counts or item_counts(ctx)
    one_item = overall_item_value(counts, ctx.data.composite) if ctx.score == OVERALL \
        else math.nan
    rows = []
    for (_, hi), (_, lo) in zip(ranked.iterrows(), ranked.iloc[1:].iterrows()):
        row = {"rank": len(rows) + 1, "model": hi["model"], "next_model": lo["model"],
               "gap": hi[ctx.score] - lo[ctx.score], "one_item": one_item, "mde": math.nan,
               "p": math.nan, "p_holm": math.nan, "correction": ""}
        a, b = item_scores(ctx, hi["model"], ctx.score), item_scores(ctx, lo["model"], ctx.score)
        if a is not None and b is not None:
            row["mde"] = pair_mde(b, a, ctx.score in BINARY)
            v = verdict(ctx, lo["model"], hi["model"], ctx.score)
            if v is not None:
                row.update(p=v["p"], p_holm=v["p_holm"], correction=v["correction"])
        rows.append(row)
    out = pd.DataFrame(rows, columns=["rank", "model", "next_model", "gap", "one_item", "mde",
                                      "p", "p_holm", "correction"])
    out["below_one_item"] = out["gap"] < out["one_item"]
    out["below_mde"] = out["gap"] < out["mde"]
    out["verdict"] = [_verdict(r) for r in out.itertuples()]
    return out


def _verdict(r) -> str:
    if not math.isnan(r.p_holm):
        return "resolved" if r.p_holm < stats.ALPHA else (
            "below MDE" if r.below_mde else "not significant")
    if r.below_one_item:
        return "below one item"
    return "untested (no per-item results)"
