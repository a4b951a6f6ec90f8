"""The end-of-run table: every model × each task's headline metric, plus failures."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ftbench.eval.results_files import task_metrics


def headline(metrics: dict[str, float]) -> tuple[str, float] | None:
    """A task's `score` when it has one, else the first metric lm-eval reported."""
    if "score" in metrics:
        return "score", metrics["score"]
    for name, value in metrics.items():
        if name not in ("alias", "sample_len"):
            return name, value
    return None


def _common_prefix(names: list[str]) -> str:
    """`bmw_` for bmw_* tasks: shorter column headers."""
    if len(names) < 2:
        return ""
    first, last = min(names), max(names)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[: first[:i].rfind("_") + 1]


def print_summary(index: dict, out: Path, console: Console,
                  asked: Iterable[str] | None = None) -> None:
    """Models × tasks; with fewer models than tasks the table is transposed to stay narrow.
    With `asked`, the folder's other models (an earlier run's) are listed but said apart: an
    exit status answers for the models a run was asked to evaluate, never for the others."""
    models = list(index["models"])
    per_model = {m: task_metrics(out / m) for m in models}
    tasks = sorted({t for metrics in per_model.values() for t in metrics})
    prefix = _common_prefix(tasks)
    names = {}
    for t in tasks:
        h = next((headline(per_model[m][t]) for m in models if t in per_model[m]), None)
        names[t] = h[0] if h else ""

    def cell(m: str, t: str) -> str:
        v = per_model[m].get(t, {}).get(names[t])
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
            table.add_row(f"{t[len(prefix):]} {names[t]}", *(cell(m, t) for m in models))
    else:
        table.add_column("model")
        table.add_column("status")
        for t in tasks:
            table.add_column(f"{t[len(prefix):]}\n{names[t]}", justify="right", overflow="fold")
        for m in models:
            table.add_row(m, status(m), *(cell(m, t) for t in tasks))
    console.print(table)
    for m in models:
        err = index["models"][m].get("error")
        if err:
            console.print(f"[red]{m}[/]: {err.splitlines()[0]}")
        for t, info in index["models"][m].get("tasks", {}).items():
            if info.get("status") == "failed":
                console.print(f"[red]{m} / {t}[/]: {info.get('error', '').splitlines()[0]}")
    others = [m for m in models if asked is not None and m not in set(asked)]
    if others:
        listed = ", ".join(f"{m} ({index['models'][m].get('status', '?')})" for m in others)
        console.print(f"also in {out}, not evaluated by this run (not counted in its exit "
                      f"status): {listed}")


def all_complete(index: dict, asked: Iterable[str]) -> bool:
    """Whether every model a run was asked to evaluate is complete (others do not count)."""
    return all(index["models"].get(m, {}).get("status") == "complete" for m in asked)
