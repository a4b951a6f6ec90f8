"""Classification baselines: what accuracy would a model get without reading the article?

46 of 49 test articles of the press corpus are Press Releases, so answering "Press Release"
every time scores 0.94; a model at 0.91-0.95 has learnt nothing measurable about article types. Next to each
classification accuracy this module puts the majority-class and chance (uniform guess) accuracy
of the same gold labels, macro-F1 and balanced accuracy (scikit-learn), a binomial test of the
accuracy against the majority rate, and a flag for a model whose parsed answers all name one
class ("collapsed"): a gain over the base from such a model is a format change, not a skill.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence

import pandas as pd
from scipy import stats as sps
from sklearn.metrics import balanced_accuracy_score, f1_score

from ftbench.report import intervals
from ftbench.report.section import Context, Section
from ftbench.report.stats import ALPHA
from ftbench.report.vocab import TASK_COLUMNS, TASK_KINDS, tasks_of_kind

_UNPARSEABLE = "(unparseable)"


def classification_tasks() -> dict[str, str]:
    """lm-eval task -> its accuracy column, for every label or choice task of the suites."""
    return {t: TASK_COLUMNS[t]["acc"] for t in tasks_of_kind("label", "choice")
            if "acc" in TASK_COLUMNS.get(t, {})}


def class_scores(golds: Sequence[str], preds: Sequence[str | None],
                 labels: Sequence[str]) -> dict:
    """Accuracy (Wilson CI), majority / chance baselines, macro-F1, balanced accuracy, collapse.

    `preds` may hold None (an unparseable answer: always wrong). Macro-F1 averages the classes
    that occur in gold or parsed answers; balanced accuracy is the mean recall of the gold
    classes. `collapsed` = at least two parsed answers, all naming one class, while the gold
    labels have two or more classes.
    """
    n = len(golds)
    if n == 0 or len(preds) != n:
        raise ValueError(f"{n} gold labels and {len(preds)} predictions")
    filled = [_UNPARSEABLE if p is None else str(p) for p in preds]
    correct = sum(g == p for g, p in zip(golds, filled))
    gold_counts = Counter(golds)
    majority, majority_n = gold_counts.most_common(1)[0]
    parsed = Counter(p for p in preds if p is not None)
    top, top_n = parsed.most_common(1)[0] if parsed else (None, 0)
    present = [c for c in labels if c in gold_counts or c in parsed]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        balanced = float(balanced_accuracy_score(golds, filled))
        macro = float(f1_score(golds, filled, labels=present, average="macro", zero_division=0))
    lo, hi = intervals.wilson(correct, n)
    majority_acc = majority_n / n
    p = float(sps.binomtest(correct, n, majority_acc).pvalue) if 0 < majority_acc < 1 else math.nan
    return {
        "n": n, "accuracy": correct / n, "acc_lo": lo, "acc_hi": hi,
        "majority_class": majority, "majority_acc": majority_acc, "chance_acc": 1 / len(labels),
        "balanced_acc": balanced, "macro_f1": macro,
        "unparseable": sum(p is None for p in preds) / n,
        "top_prediction": top, "top_prediction_share": top_n / n,
        "collapsed": bool(len(gold_counts) >= 2 and sum(parsed.values()) >= 2 and len(parsed) == 1),
        "p_vs_majority": p, "vs_majority": vs_majority(correct / n, majority_acc, p),
        "gold_counts": ", ".join(f"{c} {k}" for c, k in gold_counts.most_common()),
    }


def vs_majority(acc: float, majority_acc: float, p: float) -> str:
    """'above' / 'below' the majority baseline when the binomial test says so, else 'n.s.'."""
    if math.isnan(p) or p >= ALPHA:
        return "n.s."
    return "above" if acc > majority_acc else "below"


def baseline_table(ctx: Context) -> pd.DataFrame:
    """One row per model x classification task with per-sample gold and predicted labels."""
    if ctx.shared.class_baselines is not None:
        return ctx.shared.class_baselines
    rows = []
    for model, tasks in ctx.data.samples.items():
        for task in classification_tasks():
            frame = tasks.get(task)
            if frame is None or "gold_label" not in frame or "pred_label" not in frame:
                continue
            golds = frame["gold_label"].astype(str).tolist()
            preds = [p if isinstance(p, str) else None for p in frame["pred_label"]]
            rows.append({"model": model, "task": task, **class_scores(
                golds, preds, TASK_KINDS[task].labels)})
    table = pd.DataFrame(rows)
    ctx.shared.class_baselines = table
    return table


def baselines_section(ctx: Context) -> Section:
    sec = Section("class_baselines", "4b. Classification baselines")
    table = baseline_table(ctx)
    if table.empty:
        return sec.skip("needs per-sample results of a classification task (gold labels: "
                        f"{' / '.join(classification_tasks()) or 'none declared'}); a flat table "
                        "has none, so its accuracies have no majority baseline")
    sec.tables["class_baselines"] = table
    for task, grp in table.groupby("task", sort=False):
        first = grp.iloc[0]
        below = grp[grp["accuracy"] <= grp["majority_acc"]]["model"].tolist()
        sec.text.append(
            f"{task}: always answering the majority class ({first['majority_class']}) scores "
            f"{first['majority_acc']:.3f} (gold: {first['gold_counts']}); chance (uniform guess) "
            f"{first['chance_acc']:.2f}. At or below the majority baseline: "
            f"{', '.join(below) if below else 'none'}.")
        for r in grp[grp["collapsed"]].itertuples():
            sec.text.append(
                f"**Collapsed:** {r.model} on {task} names only '{r.top_prediction}' "
                f"({r.top_prediction_share:.0%} of answers, {r.unparseable:.0%} unparseable): "
                f"balanced accuracy {r.balanced_acc:.3f}, macro-F1 {r.macro_f1:.3f}.")
    sec.text.append("accuracy CI: Wilson 95%; p_vs_majority: two-sided binomial test of the "
                    "correct count against the majority rate; balanced accuracy = mean recall of "
                    "the gold classes; macro-F1 over the classes in gold or answers "
                    "(scikit-learn).")
    return sec


def majority_columns(ctx: Context, model: str, metric: str) -> dict:
    """Majority baseline and test for one model's classification metric (base vs fine-tuned)."""
    task = next((t for t, m in classification_tasks().items() if m == metric), None)
    table = baseline_table(ctx)
    if task is None or table.empty:
        return {}
    row = table[(table["model"] == model) & (table["task"] == task)]
    if row.empty:
        return {}
    r = row.iloc[0]
    return {"majority_baseline": r["majority_acc"], "p_vs_majority": r["p_vs_majority"],
            "vs_majority": r["vs_majority"], "collapsed": bool(r["collapsed"])}
