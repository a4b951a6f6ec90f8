"""The report of what was measured, for results whose tasks no suite gives report columns.

Why: a user's own lm-eval task (or a suite task without a headline, alone) has
no column the ranked report can read, yet it was measured; ending in "nothing to report" threw
the evaluation away. This report lists each task's metrics as lm-eval gave them, per model and
filter, with lm-eval's standard error where it gave one — nothing ranked, nothing derived.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

from ftbench.core.io import atomic_write_text
from ftbench.eval.results_files import readable_results

COLUMNS = ["model", "task", "metric", "filter", "value", "stderr", "higher_is_better", "n"]


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # lm-eval writes "N/A" where it has no standard error
    return float(value) if math.isfinite(value) else None


def measured_table(model_dirs: dict[str, Path]) -> pd.DataFrame:
    """model × task × metric × filter → value and stderr, from each model's results files (a
    task's latest file wins, as everywhere in the report)."""
    rows: dict[tuple, dict] = {}
    for model, model_dir in model_dirs.items():
        for _, data in readable_results(model_dir):
            better = data.get("higher_is_better") or {}
            counts = data.get("n-samples") or {}
            for task, values in data["results"].items():
                for key in [k for k in rows if k[:2] == (model, task)]:
                    del rows[key]  # a later file of the task replaces the earlier one whole
                for key, value in values.items():
                    metric, sep, filt = key.partition(",")
                    if not sep or metric.endswith("_stderr") or _number(value) is None:
                        continue
                    rows[model, task, metric, filt] = {
                        "model": model, "task": task, "metric": metric, "filter": filt,
                        "value": _number(value),
                        "stderr": _number(values.get(f"{metric}_stderr,{filt}")),
                        "higher_is_better": (better.get(task) or {}).get(metric),
                        "n": (counts.get(task) or {}).get("effective")}
    return pd.DataFrame(list(rows.values()), columns=COLUMNS)


def _cell(row) -> str:
    value = f"{row.value:.4g}"
    return value if pd.isna(row.stderr) else f"{value} ± {row.stderr:.2g}"


def render(table: pd.DataFrame, source: Path, why: str, notes: list[str]) -> str:
    """summary.md: one table per task, models as rows and `metric [filter]` as columns."""
    lines = [f"# What was measured — {source}", "", why, "",
             "Values as lm-eval gave them; `± x` is lm-eval's standard error of the mean "
             "(none where it gave none). Nothing is ranked: the tasks declare no headline.", ""]
    for task, part in table.groupby("task", sort=True):
        part = part.assign(col=[f"{m} [{f}]" if f != "none" else m
                                for m, f in zip(part["metric"], part["filter"], strict=True)])
        cols = list(dict.fromkeys(part["col"]))
        n = sorted({int(x) for x in part["n"].dropna()})
        lines += [f"## {task}" + (f" (n = {', '.join(map(str, n))})" if n else ""), "",
                  "| model | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for model, by_model in part.groupby("model", sort=False):
            cells = {r.col: _cell(r) for r in by_model.itertuples()}
            lines.append(f"| {model} | " + " | ".join(cells.get(c, "—") for c in cols) + " |")
        lines.append("")
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def write_measured(table: pd.DataFrame, out: Path, source: Path, why: str,
                   notes: list[str]) -> list[Path]:
    """tables/measured.csv, summary.md and index.html (the summary's tables as a page)."""
    csv = atomic_write_text(out / "tables" / "measured.csv", table.to_csv(index=False))
    text = render(table, source, why, notes)
    summary = atomic_write_text(out / "summary.md", text)
    body = "".join(f"<h2>{html.escape(str(task))}</h2>"
                   + part.drop(columns="task").to_html(index=False, na_rep="—")
                   for task, part in table.groupby("task", sort=True))
    page = atomic_write_text(out / "index.html", (
        f"<!doctype html><meta charset='utf-8'><title>ftbench — what was measured</title>"
        f"<h1>What was measured — {html.escape(str(source))}</h1><p>{html.escape(why)}</p>"
        f"{body}<ul>{''.join(f'<li>{html.escape(n)}</li>' for n in notes)}</ul>"))
    return [csv, summary, page]
