"""Key findings: the sentences a researcher would quote, generated from the computed tables.

Each generator reads the tables the sections produced and returns one sentence (or None when
its data is absent), carrying its number, its uncertainty and its test, and hedged by them:
"not distinguishable from", "not significant", "untested". No number here is typed by hand;
every one comes from a table that is also written as CSV, so a sentence can be traced.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from ftbench.report import stats
from ftbench.report.baselines import classification_tasks
from ftbench.report.section import Context, Section
from ftbench.report.vocab import BINARY, OVERALL, headlines, tasks_of_kind

Tables = dict[str, pd.DataFrame]


@dataclass
class Finding:
    key: str
    text: str


def num(value: float, digits: int = 4) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def pval(p: float, name: str = "p") -> str:
    if p is None or pd.isna(p):
        return f"{name} n/a"
    return f"{name} = {p:.1e}" if p < 1e-3 else f"{name} = {p:.3f}"


def joined(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def _correction(frame: pd.DataFrame | None) -> str:
    """The comparison family (and its correction) a table's verdicts were adjusted in."""
    if frame is None or "correction" not in frame:
        return "unadjusted"
    found = [c for c in dict.fromkeys(frame["correction"].dropna()) if c]
    return "; ".join(found) if found else "unadjusted"


def _sig(p: float) -> str:
    if p is None or pd.isna(p):
        return "untested"
    return "significant" if p < stats.ALPHA else "not significant"


def _lead(ctx: Context, ranked: pd.DataFrame) -> tuple[list[str], str]:
    """The models sharing the top score (ties: more than one) and the sentence's head."""
    best = ranked[ctx.score].iloc[0]
    top = ranked["model"][np.isclose(ranked[ctx.score], best, rtol=0, atol=1e-12)].tolist()
    if len(top) == 1:
        return top, f"**{top[0]}** leads on {ctx.score} with {num(best)}"
    return top, (f"{joined([f'**{m}**' for m in top])} share the lead on {ctx.score} with "
                 f"{num(best)}")


def leader(ctx: Context, tables: Tables) -> Finding | None:
    ranked = ctx.scored()
    if ranked.empty:
        return None
    top, head = _lead(ctx, ranked)
    sig = ctx.shared.vs_leader
    if sig is not None:
        return _leader_tested(ctx, ranked, top, head, sig)
    if len(ranked) < 2:
        return Finding("leader", head + " (the only model with a score).")
    rest = ranked[~ranked["model"].isin(top)]
    if rest.empty:
        return Finding("leader", head + f" (all {len(ranked)} models score the same); a flat "
                       "table has no per-item results, so no confidence interval or paired test "
                       "is possible.")
    second = rest.iloc[0]
    gap = ranked[ctx.score].iloc[0] - second[ctx.score]
    adj = tables.get("adjacent_ranks")
    one = adj["one_item"].iloc[0] if adj is not None and not adj.empty else math.nan
    text = head + f", {num(gap)} ahead of {second['model']}"
    if not pd.isna(one) and gap < one:
        text += (f" — less than one type-classification item ({num(one)}), so the two are not "
                 "resolvable")
    elif not pd.isna(one):
        text += f" — more than one type item ({num(one)}) but untested"
    return Finding("leader", text + "; a flat table has no per-item results, so no confidence "
                   "interval or paired test is possible.")


def _leader_tested(ctx: Context, ranked: pd.DataFrame, top: list[str], head: str,
                   sig: pd.DataFrame) -> Finding:
    s = sig.set_index("model")
    first = ranked["model"].iloc[0]
    row = s.loc[first]
    n = int(row["n_items"])
    who = f" for {first}" if len(top) > 1 else ""
    head += (f" (all {n} articles score the same: no sampling variation)"
             if str(row["ci_method"]).startswith("none") else
             f" (95% {row['ci_method']} CI {num(row['ci_lo'])}-{num(row['ci_hi'])}{who}, "
             f"n = {n} articles)")
    if len(s) == 1:
        return Finding("leader", head + "; it is the only model with a score, so no other "
                       "model is compared with it.")
    tied, below = s[s["vs_leader"] == "n.s."], s[s["vs_leader"] == "sig."]
    untested = s.index[s["vs_leader"] == "n/a"].tolist()
    note = f"; untested (no per-item results): {', '.join(untested)}" if untested else ""
    how = f"paired tests, {_correction(sig)}"
    if tied.empty and below.empty:
        return Finding("leader", head + "; no other model has per-item results, so none is "
                       f"tested against it{note}.")
    if tied.empty:
        return Finding("leader", head + "; every other model with per-item results is "
                       f"significantly below it ({how}; largest "
                       f"{pval(below['p_holm'].max(), 'p_holm')}){note}.")
    scores = ranked.set_index("model")[ctx.score]
    names = ", ".join(f"{m} ({num(scores[m])}, {pval(r.p_holm, 'p_holm')})"
                      for m, r in tied.iterrows())
    return Finding("leader", head + f"; not distinguishable from it ({how}; p_holm >= "
                   f"{stats.ALPHA}): {names}{note}.")


def resolution(ctx: Context, tables: Tables) -> Finding | None:
    adj, res, rec = (tables.get(k) for k in ("adjacent_ranks", "resolution", "recommendations"))
    if adj is None or adj.empty:
        return None
    parts = []
    small = adj[adj["verdict"] == "below one item"]
    if not small.empty:
        parts.append(f"{len(small)} of {len(adj)} adjacent rank gaps are smaller than one "
                     f"type-classification item ({num(small['one_item'].iloc[0])}): "
                     + ", ".join(f"ranks {r.rank}-{r.rank + 1} ({num(r.gap)})"
                                 for r in small.head(4).itertuples())
                     + (", ..." if len(small) > 4 else ""))
    if res is not None and not res.empty and adj["mde"].notna().any():
        row = res.iloc[0]
        below = adj[adj["below_mde"]]
        parts.append(f"the minimum detectable difference of {row['metric']} at n = "
                     f"{int(row['n'])} is {num(row['mde'])} ({row['mde_basis']}), and "
                     f"{len(below)} of {len(adj)} adjacent gaps are below it; "
                     f"{int((adj['verdict'] == 'resolved').sum())} are resolved by a paired "
                     f"test ({_correction(adj)})")
    if rec is not None and not rec.empty:
        best = rec.iloc[0]
        parts.append(_best(best))
    if not parts:
        return None
    text = "; ".join(parts)
    return Finding("resolution", text[0].upper() + text[1:] + ".")


def _best(best: pd.Series) -> str:
    if best["verdict"] == "resolved":
        return f"{best['winner']} is resolved as the best model"
    if best["verdict"] == "only candidate":
        return f"{best['winner']} is the only candidate, so nothing is compared with it"
    return ("the recommendations name no single best model ("
            + (f"{best['leader']} is tied with {best['tied_with']}" if best["tied_with"]
               else f"{best['leader']}'s lead is untested") + ")")


def training_size(ctx: Context, tables: Tables) -> Finding | None:
    corr, fits = tables.get("score_correlations"), tables.get("scaling_fit")
    if corr is None or "train_size" not in set(corr["x"]):
        return None
    c = corr.set_index("x").loc["train_size"]
    if pd.isna(c["pearson_r"]):
        return None
    effect = ("More training data raises" if c["pearson_r"] > 0 else "More training data lowers")
    if c["pearson_p"] >= stats.ALPHA:
        effect = "Training size does not significantly change"
    text = (f"{effect} {ctx.score}: Pearson r = {num(c['pearson_r'], 2)} ({pval(c['pearson_p'])}), "
            f"Spearman rho = {num(c['spearman_rho'], 2)}, n = {int(c['n'])} models")
    log = _fits(fits).get("log")
    if log is not None:
        t = sps.t.ppf(0.975, log["n_points"] - 2) if log["n_points"] > 2 else math.nan
        half = t * log["b_se"] * math.log(2)
        gain = log["gain_per_doubling"]
        text += (f"; the log fit a + b*ln(n) gives {gain:+.4f} per doubling of the data (95% CI "
                 f"{gain - half:+.4f} to {gain + half:+.4f}, R^2 {num(log['r2'], 3)})")
    return Finding("training_size", text + ".")


def _fits(fits: pd.DataFrame | None) -> dict[str, pd.Series]:
    if fits is None or fits.empty:
        return {}
    ok = fits[(fits["scope"] == "all models") & fits["aic"].notna()]
    return {r["fit"]: r for _, r in ok.sort_values("aic").iterrows()}


def plateau(ctx: Context, tables: Tables) -> Finding | None:
    sat = [f for name, f in _fits(tables.get("scaling_fit")).items() if name != "log"]
    if not sat:
        return None
    f = sat[0]  # the saturating fit with the lower AIC
    largest = ctx.table["train_size"].max()
    where = "beyond" if f["n_95"] > largest else "within"
    text = (f"Returns diminish: the saturating fit {f['formula']} (the lower AIC of the two, R^2 "
            f"{num(f['r2'], 3)}) puts the plateau at {num(f['plateau'])} (95% CI "
            f"{num(f['plateau_lo'])}-{num(f['plateau_hi'])}) and reaches 95% of it at "
            f"n = {f['n_95']:.0f}, {where} the largest size tried ({largest:.0f})")
    return Finding("plateau", text + _last_step(ctx, tables) + ".")


def _last_step(ctx: Context, tables: Tables) -> str:
    per = tables.get("scaling_per_model")
    if per is None or per.empty or per["train_size"].nunique() < 3:
        return ""
    sizes = sorted(per["train_size"].unique())
    first = per[per["train_size"] == sizes[1]]["delta_prev"].dropna()
    last = per[per["train_size"] == sizes[-1]]["delta_prev"].dropna()
    if len(last) < 2:
        return ""
    test = "every model by the same amount, no test" if _constant(last) else \
        f"one-sample t {pval(sps.ttest_1samp(last, 0.0).pvalue)}, " \
        f"{_sig(sps.ttest_1samp(last, 0.0).pvalue)}"
    return (f"; mean gain per model {sizes[0]}->{sizes[1]}: {first.mean():+.4f}, "
            f"{sizes[-2]}->{sizes[-1]}: {last.mean():+.4f} ({int((last > 0).sum())} of "
            f"{len(last)} models gained; {test})")


def _constant(values) -> bool:
    """All equal up to rounding: a t-test of them would divide by a zero spread."""
    v = np.asarray(values, dtype=float)
    return bool(np.allclose(v, v[0], rtol=0, atol=1e-9))


def family(ctx: Context, tables: Tables) -> Finding | None:
    t = ctx.scored()
    if "family" not in t or t["family"].nunique() < 2:
        return None
    sub, where = t, "over all sizes"
    if "train_size" in t and t["train_size"].notna().any():
        largest = t["train_size"].max()
        sub, where = t[t["train_size"] == largest], f"at {largest:.0f} training examples"
    means = sub.groupby("family")[ctx.score].agg(["mean", "size"]).sort_values("mean",
                                                                               ascending=False)
    if len(means) < 2:
        return None
    (fa, a), (fb, b) = list(means.iterrows())[:2]
    xa = sub[sub["family"] == fa][ctx.score]
    xb = sub[sub["family"] == fb][ctx.score]
    text = (f"{where.capitalize()}, {fa} averages {num(a['mean'])} (n = {int(a['size'])} models) "
            f"and {fb} {num(b['mean'])} (n = {int(b['size'])}): {a['mean'] - b['mean']:+.4f}")
    if len(xa) >= 2 and len(xb) >= 2:
        p = sps.mannwhitneyu(xa, xb, alternative="two-sided").pvalue
        text += f", Mann-Whitney {pval(p)} ({_sig(p)})"
    else:
        text += " (too few models per family for a test)"
    pivot = tables.get("family_by_size")
    if pivot is not None and {fa, fb} <= set(pivot["family"]):
        p2 = pivot.set_index("family").loc[[fa, fb]].T.dropna()
        if len(p2) >= 2:
            d = p2[fa] - p2[fb]
            if _constant(d):
                test = "the same difference at every size, no test"
            else:
                p = sps.ttest_rel(p2[fa], p2[fb]).pvalue
                test = f"paired t over sizes {pval(p)}, {_sig(p)}"
            text += (f"; matched by training size, {fa} is ahead at {int((d > 0).sum())} of "
                     f"{len(d)} sizes (mean {d.mean():+.4f}, {test})")
    return Finding("family", text + ".")


def parameters(ctx: Context, tables: Tables) -> Finding | None:
    corr, rec = tables.get("score_correlations"), tables.get("recommendations")
    parts = []
    if corr is not None and "params_b" in set(corr["x"]):
        c = corr.set_index("x").loc["params_b"]
        if not pd.isna(c["spearman_rho"]):
            verb = "predicts" if c["spearman_p"] < stats.ALPHA else "does not significantly predict"
            parts.append(f"Parameter count {verb} {ctx.score} (Spearman rho = "
                         f"{num(c['spearman_rho'], 2)}, {pval(c['spearman_p'])}, n = {int(c['n'])})")
    if rec is not None and not rec.empty and "params_b" in ctx.table:
        row = rec[rec["recommendation"] == "smallest viable"]
        if not row.empty:
            r = row.iloc[0]
            if r["winner"] == r["leader"]:
                parts.append(f"no smaller model is tied with the leader {r['leader']}")
            else:
                parts.append(f"the smallest model not distinguishable from the leader is "
                             f"{r['winner']} ({_size(ctx, r['winner'])}, {num(r['score'])}) vs "
                             f"{r['leader']} ({_size(ctx, r['leader'])}) — {r['evidence']}")
    if not parts:
        return None
    text = "; ".join(parts)
    return Finding("parameters", text[0].upper() + text[1:] + ".")


def _size(ctx: Context, model: str) -> str:
    """'1 B parameters, 500 training examples' (what is known of the two)."""
    row = ctx.table.set_index("model").loc[model]
    parts = []
    if pd.notna(row.get("params_b")):
        parts.append(f"{row['params_b']:.3g} B parameters")
    if pd.notna(row.get("train_size")):
        parts.append(f"{int(row['train_size'])} training examples")
    return ", ".join(parts) or "size unknown"


def gains(ctx: Context, tables: Tables) -> Finding | None:
    bvf = tables.get("base_vs_finetuned")
    if bvf is None or bvf.empty:
        return None
    score = bvf[bvf["metric"] == ctx.score]
    if score.empty:
        return None
    best = score["abs_change"].max()
    tops = score[np.isclose(score["abs_change"], best, rtol=0, atol=1e-12)]
    top = tops.iloc[0]
    tested = "p_holm" in score and score["p_holm"].notna().any()
    test = (f"{top['test']} {pval(top['p'])}, {pval(top['p_holm'], 'p_holm')}"
            if tested and pd.notna(top.get("p_holm")) else "untested: no per-item results")
    who = joined(tops["model"].tolist()) + (" (tied)" if len(tops) > 1 else "")
    lead = (f"Biggest gain over the base {top['base']}: {who}" if best > 0 else
            f"No other model gained over the base {top['base']} on {ctx.score}; the best "
            f"change: {who}")
    text = (f"{lead}, {ctx.score} {num(top['base_value'])} -> {num(top['finetuned_value'])} "
            f"({top['abs_change']:+.4f}; {test})")
    if tested:
        sig = score["significant"].eq(True)
        ups = int((sig & (score["abs_change"] > 0)).sum())
        downs = int((sig & (score["abs_change"] < 0)).sum())
        # counted over every model compared with the base, the one just named included ("of
        # the other models" read as "other than the biggest gain", a different count)
        text += (f"; of the {len(score)} model{'s' if len(score) > 1 else ''} compared with "
                 f"the base, {ups} {'is' if ups == 1 else 'are'} significantly above it and "
                 f"{downs} significantly below ({_correction(score)})")
    return Finding("gains", text + _hollow(bvf) + ".")


def _true(value) -> bool:
    """A verdict cell that says yes (NaN and missing say no)."""
    return isinstance(value, (bool, np.bool_)) and bool(value)


def _hollow(bvf: pd.DataFrame) -> str:
    """Classification gains that are significant vs the base but not above the majority class."""
    if "significant" not in bvf:
        return ""
    cls = bvf[bvf["metric"].isin(set(classification_tasks().values()))]
    hollow = [r for r in cls.itertuples() if _true(r.significant) and r.abs_change > 0
              and getattr(r, "vs_majority", "above") != "above"]
    text = ""
    for r in sorted(hollow, key=lambda r: r.finetuned_value)[:3]:  # the emptiest gains first
        where = "below" if r.vs_majority == "below" else "not significantly above"
        text += (f"; {r.model}'s {r.metric} gain {num(r.base_value, 2)} -> "
                 f"{num(r.finetuned_value, 2)} ({pval(r.p_holm, 'p_holm')} vs base) is {where} "
                 f"the {num(r.majority_baseline, 2)} majority baseline (binomial "
                 f"{pval(r.p_vs_majority)})" + (": its answers collapse onto one class"
                                                if getattr(r, "collapsed", False) else ""))
    return text


def forgetting(ctx: Context, tables: Tables) -> Finding | None:
    table = tables.get("forgetting")
    if table is None or table.empty:
        return None
    head = table[table["headline"]]
    losses = head[head["significant"].eq(True) & (head["abs_change"] < 0)]
    how = _forgetting_family(table)
    if losses.empty:
        worst = head.sort_values("abs_change").iloc[0]
        return Finding("forgetting", f"No significant loss of general skills in {len(head)} "
                       f"model x benchmark comparisons ({how}); the largest drop is "
                       f"{worst['model']} on {worst['benchmark']} ({worst['abs_change']:+.3f}, "
                       f"{pval(worst['p'])}, {pval(worst.get('p_holm'), 'p_holm')}).")
    parts = [f"{r.model} {r.benchmark} {r.metric} {num(r.base_value, 3)} -> "
             f"{num(r.finetuned_value, 3)} ({r.abs_change:+.3f}; lost {int(r.lost)} / gained "
             f"{int(r.gained)} items, McNemar {pval(r.p)}, {pval(r.p_holm, 'p_holm')})"
             for r in losses.sort_values("abs_change").head(3).itertuples()]
    return Finding("forgetting", f"Fine-tuning cost general skills in {len(losses)} of "
                   f"{len(head)} model x benchmark comparisons (p_holm < {stats.ALPHA}; {how}): "
                   + "; ".join(parts) + ".")


def _forgetting_family(table: pd.DataFrame) -> str:
    """Forgetting's families: each benchmark, metric and filter over its fine-tuned models."""
    sizes = sorted(set(table.groupby(["benchmark", "metric", "filter"])["p"].count()))
    if sizes == [1]:
        return "1 comparison per benchmark and metric, no adjustment needed"
    k = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
    return (f"Holm over the {k} fine-tuned-vs-base comparisons of each benchmark and metric")


def difficulty(ctx: Context, tables: Tables) -> Finding | None:
    rows = []
    for key, options in headlines(ctx.data.domain.suite).items():
        col = next((c for c in options if c in ctx.table and ctx.table[c].notna().any()), None)
        if key == "perplexity" or col is None:
            continue
        s = ctx.table[col].dropna()
        rows.append((s.mean(), col, s.min(), s.max(), len(s)))
    if len(rows) < 2:
        return None
    rows.sort()
    (m1, c1, lo1, hi1, n1), (m2, c2, lo2, hi2, _) = rows[0], rows[-1]
    text = (f"Hardest task by its headline metric: {c1} (mean {num(m1, 3)} over {n1} models, "
            f"range {num(lo1, 3)}-{num(hi1, 3)}); easiest: {c2} (mean {num(m2, 3)}, range "
            f"{num(lo2, 3)}-{num(hi2, 3)})")
    res = tables.get("resolution")
    if res is not None and c2 in set(res["metric"]):
        r = res.set_index("metric").loc[c2]
        if c2 in BINARY and not pd.isna(r["n"]):
            assumed = " under independent errors" if "independent" in r["mde_basis"] else ""
            text += (f"; its whole range is {round((hi2 - lo2) * r['n'])} of {int(r['n'])} items"
                     + (f", below its minimum detectable difference {num(r['mde'], 3)}{assumed}"
                        if not pd.isna(r["mde"]) and hi2 - lo2 < r["mde"] else ""))
    base = tables.get("class_baselines")
    if base is not None and not base.empty:
        first = next((t for t in tasks_of_kind("label") if (base["task"] == t).any()), None)
        b = base[base["task"] == first] if first else base
        below = int((b["accuracy"] <= b["majority_acc"]).sum())
        text += (f"; the majority-class baseline of {b['task'].iloc[0]} is "
                 f"{num(b['majority_acc'].iloc[0], 3)} ({b['majority_class'].iloc[0]}) and "
                 f"{below} of {len(b)} models do not beat it")
    return Finding("difficulty", text + ".")


def answer_health(ctx: Context, tables: Tables) -> Finding | None:
    flags = ctx.data.flags
    base = tables.get("class_baselines")
    collapsed = base[base["collapsed"]] if base is not None and not base.empty else pd.DataFrame()
    if not flags and collapsed.empty:
        return None
    parts = [f"{f['model']} {f['task']} {100 * f['rate']:.0f}% "
             + ("unparseable" if f["problem"] == "unparseable" else "at the token budget")
             for f in flags[:4]]
    parts += [f"{r.model} {r.task} answers collapse onto '{r.top_prediction}' (balanced accuracy "
              f"{num(r.balanced_acc, 2)})" for r in collapsed.itertuples()]
    return Finding("answer_health", "Scores that measure the answer format, not the task: "
                   + "; ".join(parts) + (f"; {len(flags) - 4} more in the notes"
                                          if len(flags) > 4 else "") + ".")


GENERATORS: tuple[Callable[[Context, Tables], Finding | None], ...] = (
    leader, resolution, training_size, plateau, family, parameters, gains, forgetting,
    difficulty, answer_health)


def key_findings(ctx: Context, sections: list[Section]) -> Section:
    """The first section: one sentence per generator whose data the report has."""
    sec = Section("findings", "Key findings")
    tables: Tables = {n: f for s in sections for n, f in s.tables.items()}
    found = [f for gen in GENERATORS if (f := gen(ctx, tables)) is not None]
    if not found:
        return sec.skip("no analysis table to draw findings from")
    sec.text = [f"{i}. {f.text}" for i, f in enumerate(found, 1)]
    sec.tables["findings"] = pd.DataFrame([{"key": f.key, "finding": f.text} for f in found])
    if ctx.score != OVERALL:
        sec.text.append(f"(Ranked by {ctx.score}: no model has the overall score.)")
    return sec
