"""Sections 7b-7c: each fine-tuned model against its own base, example by example, and by category.

Means hide what a small test set shows plainly: on which questions fine-tuning helped and on
which it hurt. Every fine-tuned model is paired with its base (`pairing.pair_bases`), on the
per-sample frames the report already loaded (`compare.pair_frames`), by the per-item metrics
its suite names for this (`ReportVocab.comparison`); the counting rule is `wins`.
"""

from __future__ import annotations

import pandas as pd

from ftbench.report.compare import clip, pair_frames
from ftbench.report.items import item_scores
from ftbench.report.pairing import pair_bases
from ftbench.report.section import Context, Section
from ftbench.report.stats import holm
from ftbench.report.vocab import (
    COLUMN_TASK,
    OVERALL,
    TASK_KINDS,
    answer_headlines,
    higher_is_better,
    task_headline,
)
from ftbench.report.wins import SIMILAR, count, verdicts

SCORED = ("text", "set", "label", "choice")  # kinds with one score per item (not perplexity)
NO_CATEGORY = "(none)"


def comparison_metrics(ctx: Context) -> list[str]:
    """The suite's comparison columns, else each text or set task's headline."""
    return list(ctx.data.domain.comparison or answer_headlines("text", "set").values())


def item_table(ctx: Context) -> pd.DataFrame:
    """One row per fine-tuned model x comparison metric x item both it and its base answered:
    both scores, the difference and the verdict (computed once, shared by 7b and 7c)."""
    if ctx.shared.per_example is not None:
        return ctx.shared.per_example
    pairs, _ = pair_bases(ctx)
    margin, rows = ctx.options.tie_threshold, []
    for model, base in pairs.items():
        frames = pair_frames(ctx, base, model)
        for metric in comparison_metrics(ctx):
            joined = frames.get(COLUMN_TASK.get(metric, ""))
            a, b = f"{metric}_a", f"{metric}_b"
            if joined is None or a not in joined or b not in joined:
                continue
            joined = joined.dropna(subset=[a, b])
            said = verdicts(joined[a], joined[b], margin,
                            higher_is_better=higher_is_better(metric))
            for (doc_id, r), verdict in zip(joined.iterrows(), said):
                rows.append({"model": model, "base": base, "metric": metric, "doc_id": doc_id,
                             "item": r["article_id_a"], "category": _category(r),
                             "base_value": r[a], "finetuned_value": r[b],
                             "delta": r[b] - r[a], "verdict": verdict,
                             "prompt": clip(r["prompt_a"], 160),
                             "reference": clip(r["target_a"]), "base_answer": clip(r["pred_a"]),
                             "finetuned_answer": clip(r["pred_b"]),
                             "same_answer": r["pred_a"] == r["pred_b"]})
    items = pd.DataFrame(rows)
    if "category" in items and items["category"].isna().all():
        items = items.drop(columns=["category"])  # the suite's rows have none
    ctx.shared.per_example = items
    return items


def _category(row: pd.Series) -> str | None:
    value = row.get("category_a")
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return str(value) or NO_CATEGORY


def _counts(items: pd.DataFrame, keys: list[str], margin: float) -> pd.DataFrame:
    rows = []
    for key, group in items.groupby(keys, sort=False):
        c = count(group["verdict"].tolist())
        rows.append({**dict(zip(keys, key)), "n": c["n"],
                     "finetuned_better": c["finetuned_better"], "base_better": c["base_better"],
                     "similar": c["similar"], "summary": c["summary"], "tie_margin": margin,
                     "mean_base": group["base_value"].mean(),
                     "mean_finetuned": group["finetuned_value"].mean(),
                     "sign_test_p": c["sign_test_p"]})
    return pd.DataFrame(rows)


def per_example(ctx: Context) -> Section:
    sec = Section("per_example", "7b. Per-example comparison with the base")
    pairs, unmatched = pair_bases(ctx)
    if not pairs:
        return sec.skip("no fine-tuned model is paired with an evaluated base")
    items = item_table(ctx)
    if items.empty:
        return sec.skip("needs per-sample results of a fine-tuned model and its base on one of "
                        + ", ".join(comparison_metrics(ctx)))
    margin = ctx.options.tie_threshold
    table = _counts(items, ["model", "base", "metric"], margin)
    for idx in table.groupby("metric", sort=False).groups.values():
        table.loc[idx, "p_holm"] = holm(table.loc[idx, "sign_test_p"].tolist())
    table["correction"] = [f"Holm over the {n} fine-tuned model(s) compared by {m}"
                           for m, n in zip(table["metric"],
                                           table.groupby("metric")["model"].transform("size"))]
    sec.tables["win_tie_loss"] = table
    sec.tables["per_example_comparison"] = items.drop(columns=["prompt", "reference",
                                                               "same_answer"])
    sec.tables["largest_changes"] = _largest(items, margin)
    sec.text.append(f"Each fine-tuned model against its own base on the items both answered: "
                    f"a difference within +/-{margin} (`tie_threshold`) counts as similar. "
                    "sign_test_p: two-sided sign test (binomial, p = 0.5) on the fine-tuned "
                    "better vs base better counts, similar items dropped; p_holm adjusts it over "
                    "the fine-tuned models of one metric (the pair's verdict on the mean is "
                    "section 7's).")
    headline = table.drop_duplicates("model")
    for r in headline.itertuples():
        test = ("no item differs by more than the margin" if pd.isna(r.sign_test_p)
                else f"sign test p = {r.sign_test_p:.3g}, ties dropped")
        sec.text.append(f"{r.model} vs {r.base} by `{r.metric}`: {r.summary} ({test}).")
    for model, group in items.groupby("model", sort=False):
        if group["same_answer"].all():  # a no-op adapter: nothing to compare, said plainly
            sec.text.append(f"**Adapter had no effect — {model}**: its answers equal its base's "
                            f"on every one of the {group['doc_id'].nunique()} items compared.")
    if unmatched:
        sec.skipped.append(f"no evaluated base for {', '.join(unmatched)}")
    return sec


def _largest(items: pd.DataFrame, margin: float) -> pd.DataFrame:
    """Per fine-tuned model: the item it gained most and lost most on, by the first comparison
    metric on which any item differs by more than the margin."""
    cols = [c for c in ("model", "change", "metric", "item", "category", "delta", "base_value",
                        "finetuned_value", "prompt", "reference", "base_answer",
                        "finetuned_answer") if c in items or c == "change"]
    rows = []
    for _, group in items.groupby("model", sort=False):
        decided = group[group["verdict"] != SIMILAR]
        if decided.empty:
            continue
        group = group[group["metric"] == decided["metric"].iloc[0]]
        sign = 1 if higher_is_better(group["metric"].iloc[0]) else -1
        gain = group.loc[(sign * group["delta"]).idxmax()]
        loss = group.loc[(sign * group["delta"]).idxmin()]
        if sign * gain["delta"] > margin:
            rows.append({**gain.to_dict(), "change": "largest gain"})
        if sign * loss["delta"] < -margin:
            rows.append({**loss.to_dict(), "change": "largest loss"})
    return pd.DataFrame(rows, columns=cols)


def per_category(ctx: Context) -> Section:
    sec = Section("per_category", "7c. Per-category results")
    means = _category_means(ctx)
    if means.empty:
        return sec.skip("the evaluated rows carry no category")
    sec.tables["category_results"] = means
    items = item_table(ctx)
    if "category" in items and items["category"].notna().any():
        sec.tables["category_win_tie_loss"] = _counts(
            items.fillna({"category": NO_CATEGORY}), ["model", "base", "metric", "category"],
            ctx.options.tie_threshold)
    sec.text.append(f"Per category of the held-out rows ({NO_CATEGORY}: rows without one): n "
                    "items and the mean per-item score of each task's headline metric and of "
                    f"the per-item {OVERALL}; win / tie / loss per category as in 7b.")
    return sec


def _category_means(ctx: Context) -> pd.DataFrame:
    rows = []
    for model, tasks in ctx.data.samples.items():
        parts, category = [], {}
        for task, frame in tasks.items():
            kind = TASK_KINDS.get(task)
            if kind is None or kind.kind not in SCORED or "category" not in frame:
                continue
            category.update(zip(frame["article_id"], frame["category"].fillna("")))
            metrics = [m for m in dict.fromkeys([task_headline(task), *comparison_metrics(ctx)])
                       if m and COLUMN_TASK.get(m) == task and m in frame]
            parts += [frame.groupby("article_id")[m].mean() for m in metrics]
        if not category or not any(category.values()):
            continue
        overall = item_scores(ctx, model, OVERALL)
        if overall is not None:
            parts.append(overall)
        joined = pd.concat(parts, axis=1)
        joined["category"] = [category.get(i, "") or NO_CATEGORY for i in joined.index]
        for name, group in joined.groupby("category", sort=True):
            rows.append({"model": model, "category": name, "n": len(group),
                         **group.drop(columns=["category"]).mean().to_dict()})
    return pd.DataFrame(rows)
