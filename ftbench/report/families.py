"""One verdict per pair of models and metric: the report's comparison families, adjusted once.

The ranking against its leader, adjacent ranks, the recommendations, the all-pairs table, the
base comparison and the paired section all test pairs of models. Adjusting each table's tests on
their own gave one pair two verdicts (Holm over 2 comparisons in one table, over 3 in another,
never said). So each metric has one family — every pair of models the report tests on it —
planned before any section runs and Holm-adjusted once; every table and sentence takes its
pair's verdict from here and names the family (`label`).

The families: the ranking score — every pair of models with per-item scores (the all-pairs table
tests them all, so every other view of the score is a subset). Any other metric — the base vs
each other model (section 7), and the focus pair of section 8 when it is not one of those.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

from ftbench.report import stats
from ftbench.report.items import compare_items, item_scores, sample_metrics
from ftbench.report.section import Context
from ftbench.report.tables import headline_columns
from ftbench.report.vocab import OVERALL, ordered_descriptive

_FLIP = {"diff": "diff", "diff_lo": "diff_hi", "diff_hi": "diff_lo"}


@dataclass
class Family:
    """The pairs tested on one metric, and (once computed) each pair's adjusted test."""

    metric: str
    scope: str
    pairs: list[tuple[str, str]] = field(default_factory=list)
    results: dict[frozenset, dict] | None = None

    def add(self, a: str, b: str, scope: str) -> None:
        if frozenset((a, b)) not in {frozenset(p) for p in self.pairs}:
            self.pairs.append((a, b))
            self.scope = f"{self.scope}; {scope}" if self.scope else scope

    @property
    def size(self) -> int:
        """Comparisons that were tested (pairs without per-item scores do not count)."""
        return sum(not math.isnan(r["p"]) for r in (self.results or {}).values())

    def label(self) -> str:
        if self.size <= 1:
            return f"1 comparison of {self.metric} ({self.scope}), no adjustment needed"
        return f"Holm over {self.size} comparisons of {self.metric}: {self.scope}"


def compared_metrics(ctx: Context) -> list[str]:
    """The metrics of the base comparison (section 7): overall, headlines, length statistics."""
    cols = [OVERALL] + headline_columns(ctx.table, ctx.data.domain.suite) + [c for c in ordered_descriptive() if c in ctx.table]
    return list(dict.fromkeys(cols))


def focus_metrics(ctx: Context, a: str, b: str) -> list[str]:
    """The per-item metrics both models of the focus pair have (section 8)."""
    sa, sb = ctx.data.samples.get(a) or {}, ctx.data.samples.get(b) or {}
    return list(dict.fromkeys(m for task in sorted(set(sa) & set(sb))
                              for m in sample_metrics(sa[task], task) if m in sb[task]))


def plan(ctx: Context) -> dict[str, Family]:
    """Every family of the report, from the base and focus pair already in `ctx.shared`."""
    models = [m for m in ctx.scored()["model"] if item_scores(ctx, m, ctx.score) is not None]
    fams = {ctx.score: Family(ctx.score, f"every pair of the {len(models)} models with per-item "
                                         "scores", list(combinations(models, 2)))}
    base = ctx.shared.base
    if base is not None:
        others = [m for m in ctx.table["model"] if m != base]
        for metric in compared_metrics(ctx):
            fam = fams.setdefault(metric, Family(metric, ""))
            if fam.scope == "":
                fam.scope = f"the base {base} vs each other model"
                fam.pairs = [(base, m) for m in others]
    if ctx.shared.focus:
        a, b = ctx.shared.focus
        for metric in focus_metrics(ctx, a, b):
            fams.setdefault(metric, Family(metric, "")).add(a, b, f"{a} vs {b}")
    return fams


def _compute(ctx: Context, fam: Family) -> None:
    results = {}
    for a, b in fam.pairs:
        sa, sb = item_scores(ctx, a, fam.metric), item_scores(ctx, b, fam.metric)
        test = compare_items(sa, sb, fam.metric, ctx) if sa is not None and sb is not None \
            else {"p": math.nan}
        test.pop("significant", None)  # the unadjusted verdict never leaves this module
        results[frozenset((a, b))] = {"a": a, **test}
    keys = list(results)
    for key, adjusted in zip(keys, stats.holm([results[k]["p"] for k in keys])):
        results[key]["p_holm"] = adjusted
        results[key]["significant"] = bool(adjusted < stats.ALPHA)
    fam.results = results


def family(ctx: Context, metric: str) -> Family | None:
    """The family of `metric` (computed on first use); None when the report tests no pair on it."""
    fams = ctx.shared.families
    if fams is None:
        fams = ctx.shared.families = plan(ctx)
    fam = fams.get(metric)
    if fam is not None and fam.results is None:
        _compute(ctx, fam)
    return fam


def verdict(ctx: Context, a: str, b: str, metric: str) -> dict | None:
    """b vs a on `metric`: n, diff (b - a) and its CI, p, test, p_holm, significant, correction.

    None when either model has no per-item scores. A pair the plan did not include is a bug of
    the caller, not a reason to test it outside every family: it raises.
    """
    fam = family(ctx, metric)
    found = fam.results.get(frozenset((a, b))) if fam is not None else None
    if found is None:
        if item_scores(ctx, a, metric) is None or item_scores(ctx, b, metric) is None:
            return None
        raise LookupError(f"{a} vs {b} on {metric} is in no comparison family of this report")
    if math.isnan(found["p"]):
        return None
    out = {k: v for k, v in found.items() if k != "a"}
    if found["a"] != a:  # tested the other way round: the difference changes sign
        for key, other in _FLIP.items():
            if other in found:
                out[key] = -found[other]
    out["correction"] = fam.label()
    return out

