"""Sections 1-6: ranking, training size, family/params, per task, perplexity, descriptives.

These need only the per-model table, so they run on a flat CSV as well as on a study. Each
function returns a `Section`; a missing column skips the part that needs it, with the reason.
"""

from __future__ import annotations

import math

import pandas as pd

from ftbench.report import scaling, stats
from ftbench.report.section import Context, Section
from ftbench.report.vocab import (
    COLUMN_TASK,
    DESCRIPTIVE,
    OVERALL,
    answer_headlines,
    headlines,
    higher_is_better,
    metric_columns,
    perplexity_column,
)

_ID = ["model", "family", "params_b", "train_size"]
# the published study's classification bands
ACCURACY_BANDS = ((0.9, "good (>= 90%)"), (0.8, "acceptable (80-90%)"),
                  (-math.inf, "needs improvement (< 80%)"))


def _has(table: pd.DataFrame, col: str) -> bool:
    return col in table and table[col].notna().any()


def headline_columns(table: pd.DataFrame, suite: str | None = None) -> list[str]:
    """The first two headline candidates of each task key (the report's suite's own first)."""
    cols = []
    for options in headlines(suite).values():  # up to two per task: the first ones present
        #                                        (a study of one task may have only its third)
        cols += [c for c in options if _has(table, c)][:2]
    return cols


def task_headlines(table: pd.DataFrame, suite: str | None = None) -> list[str]:
    """Each task's one headline metric: the first of its candidates the table has (the number
    the findings, plots and terminal quote for the task)."""
    found = (next((c for c in options if _has(table, c)), None)
             for options in headlines(suite).values())
    return [c for c in found if c]


def ranking(ctx: Context) -> Section:
    sec = Section("ranking", "1. Overall ranking")
    ranked = ctx.scored()
    if ranked.empty:
        return sec.skip(f"no model has {ctx.score}")
    ranked = ranked.drop(columns=["rank"], errors="ignore")  # recomputed, never trusted
    ranked.insert(0, "rank", range(1, len(ranked) + 1))
    cols = ["rank"] + [c for c in _ID if c in ranked] + [ctx.score]
    sig = ctx.shared.vs_leader
    if sig is not None:
        ranked = ranked.merge(sig, on="model", how="left")
        cols += [c for c in sig.columns if c != "model"]
    else:
        sec.text.append("Confidence intervals and significance vs the leader need per-sample "
                        "results (a study directory); this source has none.")
    cols += [c for c in headline_columns(ranked, ctx.data.domain.suite) if c not in cols]
    sec.tables["ranking"] = ranked[cols]
    ids = ["model", "family", "params_b", "train_size", "base_model", "method", "meta_source"]
    models = ctx.table
    sec.tables["models"] = models[[c for c in ids if c in models]
                                  + [c for c in models.columns if c not in ids]]
    n = ctx.options.top_n
    if len(ranked) > 2 * n:
        sec.text.append(f"Top {n} and bottom {n} of {len(ranked)} models by {ctx.score}; "
                        "the full ranking is in tables/ranking.csv.")
    best = ranked[ctx.score].iloc[0]
    top = ranked["model"][(ranked[ctx.score] - best).abs() <= 1e-12].tolist()
    who = "Leader" if len(top) == 1 else f"Shared lead ({len(top)} models with the same score)"
    sec.text.append(f"{who}: {', '.join(f'**{m}**' for m in top)} ({ctx.score} {best:.4f}).")
    if sig is not None and "vs_leader" in ranked:
        tied = ranked["model"][ranked["vs_leader"] == "n.s."].tolist()
        family = next((c for c in sig["correction"] if c), "no model tested")
        sec.text.append(f"Not significantly different from the leader (paired test, {family}; "
                        f"p_holm >= {stats.ALPHA}): {', '.join(tied) if tied else 'none'}.")
    return sec


def by_train_size(ctx: Context) -> Section:
    sec = Section("train_size", "2. By training size")
    t = ctx.scored()
    if not _has(t, "train_size"):
        return sec.skip("train size unknown for every model")
    t = t.dropna(subset=["train_size"])
    g = t.groupby("train_size")[ctx.score]
    summary = pd.DataFrame({
        "n_models": g.size(), "mean": g.mean(), "median": g.median(), "std": g.std(ddof=1),
        "best": g.max(), "best_model": t.loc[g.idxmax(), "model"].values,
        "worst": g.min(), "worst_model": t.loc[g.idxmin(), "model"].values,
    }).reset_index()
    summary["range"] = summary["best"] - summary["worst"]
    sec.tables["train_size_summary"] = summary
    per_model = []
    for base, grp in t.sort_values("train_size").groupby("base_model", sort=True):
        prev = None
        for _, row in grp.iterrows():
            delta = row[ctx.score] - prev if prev is not None else math.nan
            per_model.append({"base_model": base, "train_size": int(row["train_size"]),
                              "model": row["model"], ctx.score: row[ctx.score],
                              "delta_prev": delta,
                              "delta_prev_pct": 100 * delta / prev if prev else math.nan})
            prev = row[ctx.score]
    sec.tables["scaling_per_model"] = pd.DataFrame(per_model)
    fits = [{"scope": "all models", **f} for f in scaling.fit_all(t["train_size"], t[ctx.score])]
    for base, grp in t.groupby("base_model"):
        if grp["train_size"].nunique() >= 3:
            fits += [{"scope": base, **f}
                     for f in scaling.fit_all(grp["train_size"], grp[ctx.score])]
    fit_table = pd.DataFrame(fits)
    sec.tables["scaling_fit"] = fit_table
    ctx.shared.scaling_fit = fit_table
    ok = fit_table[(fit_table["scope"] == "all models") & fit_table["aic"].notna()]
    if ok.empty:
        sec.skipped.append("scaling fit: " + (fit_table["note"].iloc[0] or "no fit converged"))
    else:
        best = ok.sort_values("aic").iloc[0]
        sec.text.append(f"Best fit over all models by AIC: {best['fit']} ({best['formula']}, "
                        f"R^2 {best['r2']:.3f}).")
        for _, f in ok[ok["fit"] != "log"].iterrows():
            sec.text.append(f"{f['fit']}: plateau {f['plateau']:.4f} +/- {f['plateau_se']:.4f} "
                            f"(95% CI {f['plateau_lo']:.4f} to {f['plateau_hi']:.4f}); "
                            f"95% of the gain by n = {f['n_95']:.0f}. {f['note']}".strip())
        log = ok[ok["fit"] == "log"]
        if not log.empty:
            sec.text.append(f"log fit: +{log['gain_per_doubling'].iloc[0]:.4f} per doubling of "
                            "the training size.")
    return sec


def by_family(ctx: Context) -> Section:
    sec = Section("family", "3. By family and parameter count")
    t = ctx.scored()
    if _has(t, "family"):
        sub, where = t, "all sizes"
        if _has(t, "train_size"):
            largest = t["train_size"].max()
            sub, where = t[t["train_size"] == largest], f"train size {int(largest)}"
        g = sub.groupby("family")[ctx.score]
        fam = pd.DataFrame({"n_models": g.size(), "mean": g.mean(), "best": g.max(),
                            "best_model": sub.loc[g.idxmax(), "model"].values,
                            "worst": g.min()}).reset_index()
        sec.tables["family_comparison"] = fam.sort_values("mean", ascending=False)
        sec.text.append(f"Family comparison at the largest size ({where}).")
        if _has(t, "train_size"):
            pivot = t.pivot_table(index="family", columns="train_size", values=ctx.score,
                                  aggfunc="mean")
            pivot.columns = [f"size_{int(c)}" for c in pivot.columns]
            sec.tables["family_by_size"] = pivot.reset_index()
    else:
        sec.skip("family unknown for every model")
    if _has(t, "params_b"):
        eff = t.dropna(subset=["params_b"])[[c for c in _ID if c in t] + [ctx.score]].copy()
        eff["score_per_b_params"] = eff[ctx.score] / eff["params_b"]
        sec.tables["params_efficiency"] = eff.sort_values("score_per_b_params", ascending=False)
        g = t.groupby("params_b")[ctx.score]
        sec.tables["by_params"] = pd.DataFrame({"n_models": g.size(), "mean": g.mean(),
                                                "best": g.max()}).reset_index()
    else:
        sec.skip("parameter count unknown for every model")
    return sec


def per_task(ctx: Context) -> Section:
    sec = Section("per_task", "4. Per task")
    t = ctx.table
    rows = []
    for col in metric_columns(t.columns):
        if col in DESCRIPTIVE or col == OVERALL or not _has(t, col):
            continue
        s = t.set_index("model")[col].dropna()
        hib = higher_is_better(col)
        best, worst = (s.idxmax(), s.idxmin()) if hib else (s.idxmin(), s.idxmax())
        rows.append({"task": COLUMN_TASK.get(col, ""), "metric": col,
                     "higher_is_better": hib, "best_model": best, "best": s[best],
                     "worst_model": worst, "worst": s[worst], "mean": s.mean(), "n_models": len(s)})
    if not rows:
        return sec.skip("no per-task metric columns")
    sec.tables["task_best_worst"] = pd.DataFrame(rows)
    col = next((c for c in answer_headlines("label").values() if _has(t, c)), None)
    if col is not None:
        acc = t.dropna(subset=[col])
        band = acc[col].apply(lambda v: next(label for lo, label in ACCURACY_BANDS if v >= lo))
        bands = [{"band": label, "n_models": int((band == label).sum()),
                  "models": ", ".join(acc["model"][band == label])}
                 for _, label in ACCURACY_BANDS]
        sec.tables[f"{col}_bands"] = pd.DataFrame(bands)
    else:
        sec.skipped.append("accuracy bands: no classification accuracy column")
    return sec


def perplexity(ctx: Context) -> Section:
    sec = Section("perplexity", "5. Perplexity")
    t = ctx.table
    col = perplexity_column(t.columns)
    if col is None or not _has(t, col):
        return sec.skip("no perplexity column")
    sec.text.append(f"Perplexity column: `{col}` (lower is better).")
    if _has(t, "family"):
        g = t.dropna(subset=[col]).groupby("family")[col]
        sec.tables["perplexity_by_family"] = pd.DataFrame(
            {"n_models": g.size(), "min": g.min(), "max": g.max(), "mean": g.mean()}).reset_index()
    c = stats.correlation(t[col], t[ctx.score])
    sec.tables["perplexity_correlation"] = pd.DataFrame([{"x": col, "y": ctx.score, **c}])
    if c["n"] < 3 or math.isnan(c["pearson_r"]):
        sec.skipped.append(f"perplexity vs score correlation: needs >= 3 models with both "
                           f"(have {c['n']}) and some spread")
    return sec


def descriptives(ctx: Context) -> Section:
    sec = Section("descriptives", "6. Descriptive statistics and correlations")
    t = ctx.table
    sec.tables["score_descriptive"] = pd.DataFrame([{"metric": ctx.score,
                                                     **stats.describe(t[ctx.score])}])
    rows = []
    for x in ("train_size", "params_b", perplexity_column(t.columns)):
        if x and _has(t, x):
            rows.append({"x": x, "y": ctx.score, **stats.correlation(t[x], t[ctx.score])})
    if rows:
        sec.tables["score_correlations"] = pd.DataFrame(rows)
    else:
        sec.skipped.append("correlations: no train size, parameter count or perplexity")
    return sec
