"""Section 1b: the resolution tables and a recommendations table that names a winner only where
the test set can tell.

"Best overall", "best at N B parameters" and "smallest viable" are the choices a reader makes
from a ranking. Each names a winner only when it is significantly better than every rival
(paired test on the same items, its p_holm in the score's family of every pair of models, so a
pair's verdict here is the one the ranking and the all-pairs table give); otherwise the row lists
the models it is tied with. A flat table cannot be tested: rivals closer than one type-classification item (0.2 / n
of the overall score) are tied for certain, the rest are "untested".
"""

from __future__ import annotations

import math

import pandas as pd

from ftbench.report import stats
from ftbench.report.families import family, verdict
from ftbench.report.items import item_scores
from ftbench.report.resolution import (
    POWER,
    adjacent_ranks,
    item_counts,
    overall_item_value,
    resolution_table,
)
from ftbench.report.section import Context, Section
from ftbench.report.vocab import OVERALL


def rivals(ctx: Context, best: str, others: list[str]) -> dict:
    """Split `others` into tied with / resolved below / untested against `best`."""
    t = ctx.table.set_index("model")[ctx.score]
    out = {"tied": [], "below": [], "untested": [], "evidence": ""}
    if not others:
        return out
    mine = item_scores(ctx, best, ctx.score) if ctx.data.samples else None
    if mine is not None:
        for m in others:
            v = verdict(ctx, best, m, ctx.score)
            out["untested" if v is None else "below" if v["significant"] else "tied"].append(m)
        out["evidence"] = f"paired test on the same items, {family(ctx, ctx.score).label()}"
        return out
    one = overall_item_value(ctx.shared.item_counts or item_counts(ctx),
                             ctx.data.composite) if ctx.score == OVERALL else math.nan
    for m in others:
        gap = t[best] - t[m]
        out["tied" if gap < one else "untested"].append(m)
    out["evidence"] = (f"no per-item results: gaps under one type item ({one:.4f}) are ties, "
                       "larger ones untested" if not math.isnan(one)
                       else "no per-item results and no item count: nothing can be tested")
    return out


def names(models: list[str], limit: int = 5) -> str:
    """A readable list: the first `limit` names and how many more."""
    more = len(models) - limit
    return ", ".join(models[:limit]) + (f" and {more} more" if more > 0 else "")


def _row(ctx: Context, label: str, best: str, others: list[str]) -> dict:
    r = rivals(ctx, best, others)
    score = float(ctx.table.set_index("model").at[best, ctx.score])
    if not others:
        verdict, winner = "only candidate", best
    elif r["tied"]:
        verdict, winner = "tie", "—"
    elif r["untested"]:
        verdict, winner = "untested", "—"
    else:
        verdict, winner = "resolved", best
    return {"recommendation": label, "winner": winner, "leader": best, "score": score,
            "verdict": verdict, "tied_with": names(r["tied"]),
            "untested": names(r["untested"]), "evidence": r["evidence"]}


def _size_key(row: dict, base: str | None) -> tuple:
    """Fewest parameters, then fewest training examples (the untrained base: none)."""
    params = row.get("params_b")
    size = row.get("train_size")
    size = 0 if row["model"] == base and pd.isna(size) else size
    return (math.inf if pd.isna(params) else params, math.inf if pd.isna(size) else size,
            -row["_score"])


def recommendations(ctx: Context) -> pd.DataFrame:
    ranked = ctx.scored()
    leader = ranked["model"].iloc[0]
    rows = [_row(ctx, "best overall", leader, ranked["model"].iloc[1:].tolist())]
    if "params_b" in ranked and ranked["params_b"].nunique() >= 2:
        for params, grp in ranked.dropna(subset=["params_b"]).groupby("params_b"):
            rows.append(_row(ctx, f"best at {params:.3g} B parameters", grp["model"].iloc[0],
                             grp["model"].iloc[1:].tolist()))
    r = rivals(ctx, leader, ranked["model"].iloc[1:].tolist())
    pool = ranked[ranked["model"].isin([leader, *r["tied"]])].assign(_score=ranked[ctx.score])
    smallest = min(pool.to_dict("records"), key=lambda row: _size_key(row, ctx.shared.base))
    rows.append({"recommendation": "smallest viable", "winner": smallest["model"],
                 "leader": leader, "score": smallest[ctx.score],
                 "verdict": "leader itself" if smallest["model"] == leader
                 else "not distinguishable from the leader",
                 "tied_with": names(r["tied"]), "untested": names(r["untested"]),
                 "evidence": "fewest parameters, then fewest training examples, among the "
                             "leader and the models tied with it; " + r["evidence"]})
    return pd.DataFrame(rows)


def resolution_section(ctx: Context) -> Section:
    sec = Section("resolution", "1b. Resolution of the test set")
    if ctx.scored().empty:
        return sec.skip(f"no model has {ctx.score}")
    table = resolution_table(ctx)
    adjacent = adjacent_ranks(ctx)
    sec.tables.update(resolution=table, adjacent_ranks=adjacent,
                      recommendations=recommendations(ctx))
    ctx.shared.resolution, ctx.shared.adjacent_ranks = table, adjacent
    close = adjacent[adjacent["verdict"].isin(["below one item", "below MDE"])]
    if not close.empty:
        what = {"below one item": "one type-classification item",
                "below MDE": "the minimum detectable difference"}
        for verdict, grp in close.groupby("verdict"):
            sec.text.append(f"{len(grp)} of {len(adjacent)} adjacent rank pairs differ by less "
                            f"than {what[verdict]}: ranks "
                            + ", ".join(f"{r}-{r + 1}" for r in grp["rank"]) + ".")
    sec.text.append(f"MDE: the true paired difference found with {POWER:.0%} power by a two-sided "
                    f"test at alpha {stats.ALPHA}. item_value = 1/n (a 0/1 metric moves by exactly "
                    "this per item, a mean of scores in [0, 1] by at most this); "
                    "overall_per_item = the task's weight in the overall score / n. "
                    "Recommendations name a winner only where it is resolved.")
    return sec
