"""Section 12: catastrophic forgetting — what fine-tuning cost each model on general skills.

Every fine-tuned model is compared with *its own* base model on every benchmark of the
general-skills suites (`Suite.role == "general"`) and metric (MMLU acc, HellaSwag acc / acc_norm, GSM8K exact_match under both filters): lm-eval's
values and stderr, the absolute change, and a paired test on the items both answered (McNemar
for 0/1 scores: `lost` = items the base got right and the fine-tuned model got wrong, `gained` =
the reverse). One trade-off row per model sets the domain gain (the report's ranking score vs
the base) against the general change (mean change of each benchmark's headline metric); with
several training sizes, a second table asks whether forgetting grows with data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ftbench.report import stats
from ftbench.report.general_results import (
    GeneralResults,
    benchmark_name,
    headline,
    item_values,
    read_general,
)
from ftbench.report.pairing import pair_bases
from ftbench.report.section import Context, Section
from ftbench.suites.registry import general_task_prefixes


def _paired(base_items, tuned_items, key, ctx: Context) -> dict:
    a, b = item_values(base_items, key), item_values(tuned_items, key)
    if a is None or b is None:
        return {}
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    if joined.empty:
        return {}
    va, vb = joined["a"].to_numpy(), joined["b"].to_numpy()
    binary = bool(np.isin(np.concatenate([va, vb]), (0.0, 1.0)).all())
    test = stats.paired_test(va, vb, binary=binary, n_boot=ctx.options.n_boot,
                             seed=ctx.options.seed)
    out = {"n_items": test["n"], "change_lo": test["diff_lo"], "change_hi": test["diff_hi"],
           "p": test["p"], "test": test["test"]}
    if binary:
        mc = stats.mcnemar(va, vb)
        out.update(lost=mc["a_only"], gained=mc["b_only"])
    return out


def forgetting_rows(ctx: Context, general: dict[str, GeneralResults],
                    pairs: dict[str, str]) -> pd.DataFrame:
    """One row per (fine-tuned model, benchmark, metric, filter)."""
    t = ctx.table.set_index("model")
    rows = []
    for model, base in pairs.items():
        g_base, g_model = general.get(base), general.get(model)
        if g_base is None or g_model is None:
            continue
        for task in [k for k in g_base.metrics if k in g_model.metrics]:
            head = headline(g_base.metrics[task])
            for key in g_base.metrics[task]:
                if key not in g_model.metrics[task]:
                    continue
                (bv, bse), (fv, fse) = g_base.metrics[task][key], g_model.metrics[task][key]
                rows.append({
                    "model": model, "base": base,
                    "train_size": t.at[model, "train_size"] if "train_size" in t else math.nan,
                    "method": t.at[model, "method"] if "method" in t else None,
                    "benchmark": benchmark_name(task), "metric": key[0], "filter": key[1],
                    "headline": key == head, "base_value": bv, "base_stderr": bse,
                    "finetuned_value": fv, "finetuned_stderr": fse, "abs_change": fv - bv,
                    **_paired(g_base.items.get(task), g_model.items.get(task), key, ctx)})
    cols = ["model", "base", "train_size", "method", "benchmark", "metric", "filter", "headline",
            "base_value", "base_stderr", "finetuned_value", "finetuned_stderr", "abs_change",
            "change_lo", "change_hi", "n_items", "lost", "gained", "p", "test"]
    return adjust(pd.DataFrame(rows, columns=cols))


def adjust(table: pd.DataFrame) -> pd.DataFrame:
    """p_holm within each benchmark, metric and filter: the family is every fine-tuned model vs
    its base on that one score, so a model's verdict does not depend on other benchmarks.
    `significant` follows p_holm."""
    table = table.assign(p_holm=math.nan, correction="")
    for (bench, metric, filt), grp in table.groupby(["benchmark", "metric", "filter"]):
        p = pd.to_numeric(grp["p"], errors="coerce")
        m = int(p.notna().sum())
        what = f"{bench} {metric}" + (f" [{filt}]" if filt != "none" else "")
        label = (f"Holm over {m} comparisons of {what} (each fine-tuned model vs its base)"
                 if m > 1 else f"1 comparison of {what}, no adjustment needed")
        table.loc[grp.index, "p_holm"] = stats.holm(p.tolist())
        table.loc[grp.index, "correction"] = [label if not pd.isna(x) else "" for x in p]
    table["significant"] = table["p_holm"] < stats.ALPHA
    return table


def tradeoff_rows(ctx: Context, table: pd.DataFrame, pairs: dict[str, str]) -> pd.DataFrame:
    """One row per fine-tuned model: domain gain vs mean general change (headline metrics)."""
    t = ctx.table.set_index("model")
    head = table[table["headline"]]
    rows = []
    for model, base in pairs.items():
        mine = head[head["model"] == model]
        if mine.empty:
            continue
        dom_b = t.at[base, ctx.score] if ctx.score in t else math.nan
        dom_f = t.at[model, ctx.score] if ctx.score in t else math.nan
        row = {"model": model, "base": base, "train_size": mine["train_size"].iloc[0],
               "method": mine["method"].iloc[0], "domain_metric": ctx.score,
               "domain_base": dom_b, "domain_finetuned": dom_f, "domain_gain": dom_f - dom_b,
               "general_change": float(mine["abs_change"].mean()),
               "n_benchmarks": len(mine),
               "significant_losses": int((mine["significant"].eq(True)
                                          & (mine["abs_change"] < 0)).sum())}
        for r in mine.itertuples():
            row[f"{r.benchmark}:{r.metric}"] = r.abs_change
        rows.append(row)
    return pd.DataFrame(rows)


def by_train_size(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Headline change per base x benchmark x train size, and Spearman of change vs size."""
    head = table[table["headline"]].dropna(subset=["train_size"])
    if head["train_size"].nunique() < 2:
        return pd.DataFrame(), []
    g = head.groupby(["base", "benchmark", "metric", "filter", "train_size"])["abs_change"]
    out = g.agg(n_models="size", mean_change="mean", min_change="min",
                max_change="max").reset_index()
    text = []
    for bench, grp in head.groupby("benchmark"):
        c = stats.correlation(grp["train_size"], grp["abs_change"])
        if c["n"] >= 3 and not math.isnan(c["spearman_rho"]):
            trend = ("forgetting grows with training size" if c["spearman_rho"] < 0
                     else "no growing loss with training size")
            sig = "significant" if c["spearman_p"] < stats.ALPHA else "not significant"
            text.append(f"{bench}: Spearman rho(train size, change) = {c['spearman_rho']:.3f} "
                        f"(p = {c['spearman_p']:.3g}, n = {c['n']}; {sig}) — {trend}.")
    return out, text


def _general(groups: bool = False) -> str:
    """The general-skills suites' task groups (`<group>`) or task patterns (`<group>_*`), as
    the skip reasons name them."""
    prefixes = general_task_prefixes()
    names = [p[:-1] for p in prefixes] if groups else [p + "*" for p in prefixes]
    return " / ".join(names) or "general-skills"


def forgetting(ctx: Context) -> Section:
    sec = Section("forgetting", "12. Forgetting (general skills)")
    if ctx.data.kind != "study":
        return sec.skip(f"needs a study directory with {_general()} results (a flat table has "
                        "no general-skill columns)")
    models = ctx.table["model"].tolist()
    general = {m: read_general(ctx.data.model_dirs[m], ctx.data.notes, m)
               for m in models if ctx.data.model_dirs[m].is_dir()}
    general = {m: g for m, g in general.items() if g.metrics}
    if not general:
        return sec.skip(f"no model has {_general()} results (add {_general(groups=True)} to "
                        "`ftbench eval --tasks`, or to eval.tasks in a study config)")
    pairs, unmatched = pair_bases(ctx)
    if unmatched:
        sec.skipped.append(f"no base model found for {', '.join(unmatched)}")
    missing = sorted({b for b in pairs.values() if b not in general} |
                     {m for m in pairs if m not in general})
    if missing:
        sec.skipped.append(f"no {_general(groups=True)} results for {', '.join(missing)}")
    table = forgetting_rows(ctx, general, pairs)
    if table.empty:
        return sec.skip(f"needs {_general(groups=True)} results of a base model and of a "
                        "fine-tuned model")
    sec.tables["forgetting"] = table
    trade = tradeoff_rows(ctx, table, pairs)
    sec.tables["forgetting_tradeoff"] = trade
    ctx.shared.forgetting_tradeoff = trade
    sizes, trend = by_train_size(table)
    if not sizes.empty:
        sec.tables["forgetting_by_train_size"] = sizes
        ctx.shared.forgetting_by_train_size = sizes
        sec.text += trend
    losses = table[table["significant"].eq(True) & (table["abs_change"] < 0)]
    sec.text.append(
        "Each fine-tuned model vs its base on the same items: change = fine-tuned - base; "
        "stderr from lm-eval; paired test on the items both answered (McNemar for 0/1 scores, "
        "exact below 25 discordant pairs: `lost` = base right and fine-tuned wrong, `gained` = "
        "the reverse). Trade-off: domain gain in "
        f"`{ctx.score}` vs the mean change of each benchmark's headline metric.")
    sec.text.append("Significance: p_holm, Holm-adjusted within each benchmark, metric and "
                    "filter over the fine-tuned models (each vs its own base); `significant` "
                    "follows p_holm, p is unadjusted.")
    sec.text.append(f"Significant losses (p_holm < {stats.ALPHA}): " + (
        ", ".join(f"{r.model} {r.benchmark} {r.metric}" + (f" [{r.filter}]" if r.filter != "none"
                                                           else "") + f" {r.abs_change:+.3f}"
                  for r in losses.itertuples()) or "none") + ".")
    return sec
