"""Sections 7-9: base vs fine-tuned, a paired per-sample comparison, qualitative examples.

These answer "what did fine-tuning change, item by item?". The base is the `baseline` option,
else the base the run manifests name (`pairing.default_base`; name patterns only without them).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ftbench.core.io import InputError
from ftbench.metrics import confusion_matrix, per_class_accuracy
from ftbench.report.baselines import majority_columns
from ftbench.report.families import compared_metrics, verdict
from ftbench.report.intervals import wilson
from ftbench.report.items import sample_metrics
from ftbench.report.pairing import default_base
from ftbench.report.section import Context, Section
from ftbench.report.vocab import (
    BINARY,
    COLUMN_TASK,
    TASK_KINDS,
    answer_headlines,
    resolve_metric,
    tasks_of_kind,
)
from ftbench.report.wins import verdict_codes

GENERATED = ("text", "set", "label")  # task kinds whose answers are generated text


def clip(text, limit: int = 200) -> str:
    text = " ".join(str(text or "").split())
    if not text:
        return "(empty)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_models(ctx: Context, *names: str) -> None:
    known = set(ctx.table["model"])
    missing = [n for n in names if n not in known]
    if missing:
        raise InputError(f"model(s) {', '.join(missing)} not in the source; "
                         f"known: {', '.join(sorted(known))}")


def find_base(ctx: Context) -> str | None:
    """The base model; a `baseline` that the study lists but has no results for (its
    evaluation failed) skips section 7 with that reason instead of failing the report."""
    if ctx.options.baseline:
        name = ctx.options.baseline
        if name not in set(ctx.table["model"]) and name in ctx.data.specs:
            ctx.shared.base_missing = f"baseline {name} has no results in the study"
            return None
        _check_models(ctx, name)
        return name
    return default_base(ctx)


def focus_pair(ctx: Context) -> tuple[str, str] | None:
    """(A, B) for the detailed comparisons: `compare`, else (base, best other), else top two."""
    if ctx.options.compare:
        a, b = ctx.options.compare
        _check_models(ctx, a, b)
        return a, b
    ranked = ctx.scored()["model"].tolist() or ctx.table["model"].tolist()
    base = ctx.shared.base
    if base:
        others = [m for m in ranked if m != base]
        return (base, others[0]) if others else None
    return (ranked[0], ranked[1]) if len(ranked) >= 2 else None


def _tests(ctx: Context, base: str, model: str, metric: str) -> dict:
    """The pair's verdict in the metric's family (the same wherever the pair appears)."""
    v = verdict(ctx, base, model, metric)
    if v is None:
        return {}
    return {k: v[k] for k in ("p", "p_holm", "test", "significant", "correction")}


def base_vs_finetuned(ctx: Context) -> Section:
    sec = Section("base_vs_finetuned", "7. Base vs fine-tuned")
    base = ctx.shared.base
    if base is None:
        return sec.skip(ctx.shared.base_missing or
                        "no base model: pass --baseline NAME to ftbench report (no model name "
                        "contains 'base' and "
                        "no study model is a plain checkpoint without train size)")
    t = ctx.table.set_index("model")
    if len(t) < 2:
        return sec.skip(f"only the base model {base} has results")
    rows = []
    for model in [m for m in t.index if m != base]:
        for metric in compared_metrics(ctx):
            b, f = t.at[base, metric], t.at[model, metric]
            if pd.isna(b) and pd.isna(f):
                continue
            rel = 100 * (f - b) / abs(b) if not pd.isna(b) and b != 0 else math.nan
            rows.append({"base": base, "model": model, "task": COLUMN_TASK.get(metric, "all"),
                         "metric": metric, "base_value": b, "finetuned_value": f,
                         "abs_change": f - b, "rel_change_pct": rel,
                         **_tests(ctx, base, model, metric),
                         **majority_columns(ctx, model, metric)})
    sec.tables["base_vs_finetuned"] = pd.DataFrame(rows)
    sec.text.append(f"Base model: **{base}**; every other model is compared with it. p_holm is "
                    "the pair's p-value adjusted in its metric's family (named in `correction`, "
                    "listed in section 10), the same p_holm the pair has in every other table; "
                    "`significant` follows p_holm.")
    pair = focus_pair(ctx)
    if pair:
        sec.text.append(f"The markdown shows {pair[1]}; all models are in the CSV.")
    _classes(ctx, sec)
    return sec


def _classes(ctx: Context, sec: Section) -> None:
    """Per-class accuracy with class counts and confusion matrices (needs type samples)."""
    per_class, confusion = [], {}
    for model, tasks in ctx.data.samples.items():
        for task in tasks_of_kind("label", "choice"):
            frame = tasks.get(task)
            if frame is None or "gold_label" not in frame:
                continue
            golds = frame["gold_label"].tolist()
            preds = [p if isinstance(p, str) else None for p in frame.get("pred_label", [])]
            if len(preds) != len(golds):
                continue
            labels = TASK_KINDS[task].labels
            for label, v in per_class_accuracy(golds, preds, labels).items():
                right = sum(g == label and p == label for g, p in zip(golds, preds))
                lo, hi = wilson(right, v["n"])
                per_class.append({"model": model, "task": task, "class": label, "n": v["n"],
                                  "correct": right, "accuracy": v["accuracy"], "ci_lo": lo,
                                  "ci_hi": hi})
            confusion[(model, task)] = confusion_matrix(golds, preds, labels)
    if not per_class:
        sec.skipped.append("per-class accuracy and confusion matrices: need the samples of a "
                           "classification task")
        return
    sec.tables["per_class_accuracy"] = pd.DataFrame(per_class)
    cells = []
    for (model, task), cm in confusion.items():
        for i, gold in enumerate(cm["labels"]):
            for j, pred in enumerate(cm["labels"]):
                cells.append({"model": model, "task": task, "gold": gold, "pred": pred,
                              "count": cm["matrix"][i][j]})
    sec.tables["confusion"] = pd.DataFrame(cells)
    ctx.shared.confusion = confusion


def pair_frames(ctx: Context, a: str, b: str) -> dict[str, pd.DataFrame]:
    """task -> items both models answered, columns suffixed _a / _b."""
    sa, sb = ctx.data.samples.get(a) or {}, ctx.data.samples.get(b) or {}
    out = {}
    for task in sorted(set(sa) & set(sb)):
        joined = sa[task].merge(sb[task], on="doc_id", how="inner", suffixes=("_a", "_b"))
        out[task] = joined.set_index("doc_id")
    return out


def _better_worse(d: pd.Series, thr: float) -> dict:
    """Items where B is above / below A by more than the tie threshold (`wins`'s rule)."""
    codes = verdict_codes(d.dropna(), thr)
    return {"b_better": int((codes > 0).sum()), "b_worse": int((codes < 0).sum()),
            "similar": int((codes == 0).sum())}


def paired(ctx: Context) -> Section:
    sec = Section("paired", "8. Paired per-sample comparison")
    pair = focus_pair(ctx)
    if pair is None:
        return sec.skip("needs two models")
    a, b = pair
    if not (ctx.data.samples.get(a) and ctx.data.samples.get(b)):
        return sec.skip(f"needs per-sample results for {a} and {b} (a study directory)")
    frames = pair_frames(ctx, a, b)
    thr = ctx.options.tie_threshold
    rows = []
    for task, joined in frames.items():
        for metric in sample_metrics(ctx.data.samples[a][task], task):
            if f"{metric}_a" not in joined:
                continue
            d = joined[f"{metric}_b"] - joined[f"{metric}_a"]
            r = verdict(ctx, a, b, metric) or {}
            rows.append({"task": task, "metric": metric, "n": r.get("n", 0),
                         "mean_a": joined[f"{metric}_a"].mean(),
                         "mean_b": joined[f"{metric}_b"].mean(), "diff": r.get("diff", math.nan),
                         "diff_lo": r.get("diff_lo", math.nan),
                         "diff_hi": r.get("diff_hi", math.nan), "p": r.get("p", math.nan),
                         "p_holm": r.get("p_holm", math.nan), "test": r.get("test", ""),
                         "significant": r.get("significant", False),
                         "correction": r.get("correction", ""),
                         **_better_worse(d, thr)})
    if not rows:
        return sec.skip(f"{a} and {b} share no task with per-sample results")
    sec.tables["paired_summary"] = pd.DataFrame(rows)
    sec.text.append(f"A = **{a}**, B = **{b}**, on the same items; diff = B - A, and a "
                    f"difference within +/-{thr} counts as similar (b_better / b_worse count "
                    "items; for lower-is-better metrics such as perplexity, b_worse is good). "
                    f"Per-item word_perplexity is each {ctx.data.domain.item_noun}'s own "
                    "perplexity.")
    available = [r["metric"] for r in rows]
    metric = resolve_metric(ctx.options.metric, available) if ctx.options.metric else \
        next((m for m in answer_headlines("text", "set").values() if m in available),
             available[0])
    joined = frames[COLUMN_TASK[metric]]
    d = (joined[f"{metric}_b"] - joined[f"{metric}_a"]).dropna().sort_values()
    n = ctx.options.n_samples
    picks = [("B better", i) for i in d[d > thr].index[::-1][:n]] + \
            [("B worse", i) for i in d[d < -thr].index[:n]]
    sec.tables["paired_examples"] = pd.DataFrame([{
        "direction": how, "doc_id": i, "metric": metric, "delta": d[i],
        "value_a": joined.at[i, f"{metric}_a"], "value_b": joined.at[i, f"{metric}_b"],
        "prompt": clip(joined.at[i, "prompt_a"], 160), "expected": clip(joined.at[i, "target_a"]),
        "pred_a": clip(joined.at[i, "pred_a"]), "pred_b": clip(joined.at[i, "pred_b"]),
    } for how, i in picks], columns=["direction", "doc_id", "metric", "delta", "value_a",
                                     "value_b", "prompt", "expected", "pred_a", "pred_b"])
    sec.text.append(f"Most telling examples by `{metric}`"
                    + (" (binary metric: McNemar)" if metric in BINARY else "") + ".")
    ctx.shared.pair = (a, b)
    return sec


def qualitative(ctx: Context) -> Section:
    sec = Section("qualitative", "9. Qualitative samples")
    pair = ctx.shared.pair or focus_pair(ctx)
    if pair is None or not ctx.data.samples:
        return sec.skip("needs per-sample results of two models")
    a, b = pair
    frames = pair_frames(ctx, a, b)
    rng = np.random.default_rng(ctx.options.seed)
    rows = []
    for task, metric in answer_headlines(*GENERATED).items():
        joined = frames.get(task)
        if joined is None or joined.empty:
            continue
        k = min(ctx.options.n_samples, len(joined))
        for i in sorted(rng.choice(joined.index.to_numpy(), size=k, replace=False)):
            r = joined.loc[i]
            rows.append({"task": task, "doc_id": i, "prompt": clip(r["prompt_a"], 160),
                         "expected": clip(r["target_a"], 300), "pred_a": clip(r["pred_a"], 300),
                         "pred_b": clip(r["pred_b"], 300), "metric": metric,
                         "value_a": r.get(f"{metric}_a"), "value_b": r.get(f"{metric}_b")})
    if not rows:
        return sec.skip(f"{a} and {b} share no generation task samples")
    sec.tables["qualitative_samples"] = pd.DataFrame(rows)
    sec.text.append(f"{ctx.options.n_samples} seeded random items per task: prompt (truncated), "
                    f"expected, A = {a} (pred_a), B = {b} (pred_b).")
    return sec
