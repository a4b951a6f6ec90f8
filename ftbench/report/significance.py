"""Section 10: per-item scores -> bootstrap CIs per metric and paired tests between models.

Per-item scores are keyed by article, so two models are always compared on the same test items
(pairs present for only one model are dropped). The ranking's "vs leader" marks come from here.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd

from ftbench.report import intervals, stats
from ftbench.report.samples import article_overall
from ftbench.report.section import Context, Section
from ftbench.report.vocab import BINARY, COLUMN_TASK, OVERALL, TASK_COLUMNS

_EXTRA = {"bmw_perplexity": ("word_perplexity",)}


def sample_metrics(frame: pd.DataFrame, task: str) -> list[str]:
    """The per-item metric columns of one task's sample frame."""
    cols = list(TASK_COLUMNS.get(task, {}).values()) + list(_EXTRA.get(task, ()))
    return [c for c in dict.fromkeys(cols) if c in frame and frame[c].notna().any()]


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    key = "article_id" if frame["article_id"].is_unique else "doc_id"
    return frame.set_index(key)


def item_scores(ctx: Context, model: str, metric: str) -> pd.Series | None:
    """One value per test item for `model` (the overall score: per article)."""
    samples = ctx.data.samples.get(model) or {}
    if metric == OVERALL:
        cache = ctx.shared.setdefault("article_overall", {})
        if model not in cache:
            cache[model] = article_overall(samples)
        return cache[model]
    frame = samples.get(COLUMN_TASK.get(metric, ""))
    if frame is None or metric not in frame:
        return None
    return _keyed(frame)[metric]


def compare_items(a: pd.Series, b: pd.Series, metric: str, ctx: Context) -> dict:
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    return stats.paired_test(joined["a"].to_numpy(), joined["b"].to_numpy(),
                             binary=metric in BINARY, n_boot=ctx.options.n_boot,
                             seed=ctx.options.seed)


def vs_leader(ctx: Context) -> pd.DataFrame | None:
    """CI of every model's score and a paired test against the leader (Holm-adjusted)."""
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
               "ci_method": ci["method"], "p_vs_leader": math.nan}
        if model != leader and s is not None:
            row["p_vs_leader"] = compare_items(s, items[leader], ctx.score, ctx)["p"]
        rows.append(row)
    out = pd.DataFrame(rows)
    out["p_holm"] = stats.holm(out["p_vs_leader"].tolist())
    out["vs_leader"] = [
        "leader" if m == leader else "n/a" if math.isnan(p) else "sig." if p < stats.ALPHA
        else "n.s." for m, p in zip(out["model"], out["p_holm"])]
    return out


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
    rows = []
    models = ctx.scored()["model"].tolist()
    for a, b in combinations(models, 2):
        sa, sb = item_scores(ctx, a, ctx.score), item_scores(ctx, b, ctx.score)
        if sa is None or sb is None:
            continue
        rows.append({"model_a": a, "model_b": b, "metric": ctx.score,
                     **compare_items(sa, sb, ctx.score, ctx)})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["p_holm"] = stats.holm(out["p"].tolist())
    return out


def significance(ctx: Context) -> Section:
    sec = Section("significance", "10. Significance")
    if not ctx.data.samples:
        return sec.skip("confidence intervals and paired tests need per-sample results "
                        "(lm-eval samples_*.jsonl in a study directory); a flat table has none")
    cis = metric_cis(ctx)
    if not cis.empty:
        sec.tables["metric_ci"] = cis
    lead = ctx.shared.get("vs_leader")
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
                    "for 0/1 metrics; Holm adjustment across comparisons.")
    return sec
