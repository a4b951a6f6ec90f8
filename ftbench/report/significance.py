"""Section 10: per-item scores -> bootstrap CIs per metric and paired tests between models.

Per-item scores are keyed by article, so two models are always compared on the same test items
(pairs present for only one model are dropped). Every paired verdict comes from `families`: the
ranking's "vs leader" marks and the all-pairs table are two views of one Holm-adjusted family.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ftbench.report import intervals
from ftbench.report.families import family, verdict
from ftbench.report.items import compare_items, item_scores, sample_metrics
from ftbench.report.section import Context, Section
from ftbench.report.vocab import BINARY, OVERALL

__all__ = ["compare_items", "item_scores", "metric_cis", "pairwise_overall", "sample_metrics",
           "significance", "vs_leader"]


def vs_leader(ctx: Context) -> pd.DataFrame | None:
    """CI of every model's score and its paired test against the leader, adjusted in the
    score's family (every pair of models), so it agrees with the all-pairs table."""
    ranked = ctx.scored()
    if ranked.empty or not ctx.data.samples:
        return None
    items = {m: item_scores(ctx, m, ctx.score) for m in ranked["model"]}
    leader = ranked["model"].iloc[0]
    if items.get(leader) is None:
        return None
    rows = []
    for model in ranked["model"]:
        s = items.get(model)
        ci = intervals.bootstrap_ci(s.to_numpy(), n_boot=ctx.options.n_boot,
                                    seed=ctx.options.seed) \
            if s is not None else {"lo": math.nan, "hi": math.nan, "n": 0, "method": ""}
        row = {"model": model, "ci_lo": ci["lo"], "ci_hi": ci["hi"], "n_items": ci["n"],
               "ci_method": ci["method"], "p_vs_leader": math.nan, "p_holm": math.nan,
               "vs_leader": "leader" if model == leader else "n/a", "correction": ""}
        v = verdict(ctx, leader, model, ctx.score) if model != leader else None
        if v is not None:
            row.update(p_vs_leader=v["p"], p_holm=v["p_holm"],
                       vs_leader="sig." if v["significant"] else "n.s.",
                       correction=v["correction"])
        rows.append(row)
    return pd.DataFrame(rows)


def _ppl_stat(rows: np.ndarray) -> float:
    return float(math.exp(-rows[:, 0].sum() / rows[:, 1].sum()))


def metric_cis(ctx: Context) -> pd.DataFrame:
    """model x metric: mean of the items, its 95% CI and n. 0/1 metrics get the Wilson
    interval, the rest a BCa bootstrap (perplexity: of the corpus ratio over articles)."""
    rows = []
    opts = ctx.options
    for model, tasks in ctx.data.samples.items():
        overall = item_scores(ctx, model, OVERALL)
        if overall is not None:
            ci = intervals.bootstrap_ci(overall.to_numpy(), n_boot=opts.n_boot, seed=opts.seed)
            rows.append({"model": model, "task": "all", "metric": OVERALL, **ci})
        for task, frame in tasks.items():
            for metric in sample_metrics(frame, task):
                if metric == "word_perplexity" and {"loglik", "words"} <= set(frame):
                    ci = intervals.bootstrap_ci(frame[["loglik", "words"]].to_numpy(),
                                                stat=_ppl_stat, n_boot=opts.n_boot,
                                                seed=opts.seed)
                else:
                    ci = intervals.interval(frame[metric].to_numpy(), binary=metric in BINARY,
                                            n_boot=opts.n_boot, seed=opts.seed)
                rows.append({"model": model, "task": task, "metric": metric, **ci})
    out = pd.DataFrame(rows)
    if not out.empty:
        out = out.rename(columns={"estimate": "value", "lo": "ci_lo", "hi": "ci_hi",
                                  "method": "ci_method"})
        reported = ctx.table.set_index("model")
        out["reported"] = [reported.at[m, k] if k in reported else math.nan
                           for m, k in zip(out["model"], out["metric"])]
    return out


def pairwise_overall(ctx: Context) -> pd.DataFrame:
    """Every pair of ranked models on the score: the whole family the other views draw from."""
    rows = []
    fam = family(ctx, ctx.score)
    for a, b in fam.pairs:
        v = verdict(ctx, a, b, ctx.score)
        if v is not None:
            rows.append({"model_a": a, "model_b": b, "metric": ctx.score, **v})
    return pd.DataFrame(rows)


def _families_text(ctx: Context) -> str:
    """The families, metrics with the same pairs and size said once."""
    groups: dict[tuple, list[str]] = {}
    for metric in ctx.shared.families or {}:
        fam = family(ctx, metric)
        if fam.size:
            groups.setdefault((fam.size, fam.scope), []).append(metric)
    texts = [(f"Holm over {k} comparisons" if k > 1 else "1 comparison, no adjustment needed")
             + f" each of {', '.join(metrics)}: {scope}" for (k, scope), metrics in groups.items()]
    return "; ".join(texts) if texts else "no pair has per-item results"


def significance(ctx: Context) -> Section:
    sec = Section("significance", "10. Significance")
    if not ctx.data.samples:
        return sec.skip("confidence intervals and paired tests need per-sample results "
                        "(lm-eval samples_*.jsonl in a study directory); a flat table has none")
    cis = metric_cis(ctx)
    if not cis.empty:
        sec.tables["metric_ci"] = cis
    lead = ctx.shared.vs_leader
    if lead is not None:
        sec.tables["significance_vs_leader"] = lead
    pairs = pairwise_overall(ctx)
    if not pairs.empty:
        sec.tables["pairwise_significance"] = pairs
    encoders = sorted({f.attrs["encoder"] for tasks in ctx.data.samples.values()
                       for f in tasks.values() if f.attrs.get("encoder")})
    if encoders:
        sec.text.append(f"Per-sample BERTScore recomputed with {', '.join(encoders)}.")
    sec.text.append("95% CIs: Wilson score intervals for 0/1 metrics (accuracy, exact match), "
                    f"BCa bootstrap for the rest ({ctx.options.n_boot} resamples over test items, "
                    f"seed {ctx.options.seed}); paired tests on the same items: sign-flip permutation "
                    "for continuous metrics, McNemar (exact binomial below 25 discordant pairs) "
                    "for 0/1 metrics. One family per metric, Holm-adjusted once, so a pair has one "
                    "verdict in every table: " + _families_text(ctx) + ". `significant` and "
                    "every verdict follow p_holm; p is the unadjusted p-value.")
    return sec
