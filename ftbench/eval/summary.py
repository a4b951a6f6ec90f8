"""The end-of-run table: every model × each task's headline metric, plus failures.

A task's headline here is the report's: the first of the suite's headline columns that the
task reports (a summarization task: ROUGE-L, not the task's composite `score`), else lm-eval's
usual one (`HEADLINE_ORDER`: acc_norm before acc, GSM8K's flexible extraction), so the terminal
never shows a different number for a task than the report quotes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ftbench.core.lm_eval_glue import headline_key
from ftbench.eval.results_files import task_metric_keys
from ftbench.suites.registry import all_suites

Key = tuple[str, str]  # (metric, filter)


def suite_headlines(task: str) -> list[str]:
    """The lm-eval metric names a suite declares as `task`'s headline candidates, in order."""
    out = []
    for suite in all_suites():
        columns = suite.vocab.task_columns.get(task) or {}
        by_column = {col: metric for metric, col in columns.items()}
        for options in suite.vocab.headlines.values():
            out += [by_column[c] for c in options if c in by_column]
    return out


def headline(task: str, metrics: dict[Key, float]) -> Key | None:
    """The report's headline (metric, filter) of `task` among the metrics it reported."""
    for name in suite_headlines(task):
        found = [k for k in metrics if k[0] == name]
        if found:
            return headline_key(found)
    return headline_key(metrics)


def _common_prefix(names: list[str]) -> str:
    """`<group>_` for tasks that share it: shorter column headers."""
    if len(names) < 2:
        return ""
    first, last = min(names), max(names)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[: first[:i].rfind("_") + 1]


def label(key: Key | None) -> str:
    """`acc_norm`, `exact_match [flexible-extract]` (escaped: rich would read it as a style)."""
    if key is None:
        return ""
    return key[0] if key[1] == "none" else escape(f"{key[0]} [{key[1]}]")


def print_summary(index: dict, out: Path, console: Console,
                  asked: Iterable[str] | None = None) -> None:
    """Models × tasks; with fewer models than tasks the table is transposed to stay narrow.
    With `asked`, the folder's other models (an earlier run's) are listed but said apart: an
    exit status answers for the models a run was asked to evaluate, never for the others."""
    models = list(index["models"])
    per_model = {m: task_metric_keys(out / m) for m in models}
    tasks = sorted({t for metrics in per_model.values() for t in metrics})
    prefix = _common_prefix(tasks)
    keys = {}
    for t in tasks:
        keys[t] = next((headline(t, per_model[m][t]) for m in models if t in per_model[m]), None)

    def cell(m: str, t: str) -> str:
        v = per_model[m].get(t, {}).get(keys[t])
        return "—" if v is None else f"{v:.4g}"

    def status(m: str) -> str:
        st = index["models"][m].get("status", "?")
        return f"[{ {'complete': 'green', 'failed': 'bold red'}.get(st, 'yellow') }]{st}[/]"

    table = Table(title=f"ftbench eval — {out}")
    if len(models) < len(tasks):
        table.add_column("task / metric")
        for m in models:
            table.add_column(m, justify="right", overflow="fold")
        table.add_row("status", *(status(m) for m in models))
        for t in tasks:
            table.add_row(f"{t[len(prefix):]} {label(keys[t])}", *(cell(m, t) for m in models))
    else:
        table.add_column("model")
        table.add_column("status")
        for t in tasks:
            table.add_column(f"{t[len(prefix):]}\n{label(keys[t])}", justify="right",
                             overflow="fold")
        for m in models:
            table.add_row(m, status(m), *(cell(m, t) for t in tasks))
    console.print(table)
    for m in models:
        err = index["models"][m].get("error")
        if err:
            console.print(f"[red]{m}[/]: {escape(err.splitlines()[0])}")  # no markup
        for t, info in index["models"][m].get("tasks", {}).items():
            if info.get("status") == "failed":
                console.print(f"[red]{m} / {t}[/]: "
                              f"{escape((info.get('error') or '?').splitlines()[0])}")
    others = [m for m in models if asked is not None and m not in set(asked)]
    if others:
        listed = ", ".join(f"{m} ({index['models'][m].get('status', '?')})" for m in others)
        console.print(f"also in {out}, not evaluated by this run (not counted in its exit "
                      f"status): {listed}")


def all_complete(index: dict, asked: Iterable[str]) -> bool:
    """Whether every model a run was asked to evaluate is complete (others do not count)."""
    return all(index["models"].get(m, {}).get("status") == "complete" for m in asked)
