"""Per-item scores of one model and the paired test of two models on the items both answered.

Every pairwise verdict of the report starts here (through `families`, which adjusts them), so
two tables can never test the same pair on different items or with a different test.
"""

from __future__ import annotations

import pandas as pd

from ftbench.report import stats
from ftbench.report.samples import item_composite
from ftbench.report.section import Context
from ftbench.report.vocab import BINARY, COLUMN_TASK, OVERALL, TASK_COLUMNS


def sample_metrics(frame: pd.DataFrame, task: str) -> list[str]:
    """The per-item metric columns of one task's sample frame."""
    cols = TASK_COLUMNS.get(task, {}).values()
    return [c for c in dict.fromkeys(cols) if c in frame and frame[c].notna().any()]


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    key = "article_id" if "article_id" in frame and frame["article_id"].is_unique else "doc_id"
    return frame.set_index(key)


def item_scores(ctx: Context, model: str, metric: str) -> pd.Series | None:
    """One value per test item for `model` (the overall score: per item of every composite
    task, from the suite's composite)."""
    samples = ctx.data.samples.get(model) or {}
    if metric == OVERALL:
        cache = ctx.shared.item_overall
        if model not in cache:
            cache[model] = item_composite(samples, ctx.data.composite)
        return cache[model]
    frame = samples.get(COLUMN_TASK.get(metric, ""))
    if frame is None or metric not in frame:
        return None
    return _keyed(frame)[metric]


def compare_items(a: pd.Series, b: pd.Series, metric: str, ctx: Context) -> dict:
    """b vs a on the items both have: the unadjusted paired test (`stats.paired_test`)."""
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    return stats.paired_test(joined["a"].to_numpy(), joined["b"].to_numpy(),
                             binary=metric in BINARY, n_boot=ctx.options.n_boot,
                             seed=ctx.options.seed)
