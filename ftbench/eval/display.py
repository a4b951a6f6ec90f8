"""Rich live view of an evaluation: which model, which task, progress and elapsed time."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

STATUS_STYLE = {"complete": "green", "failed": "bold red", "running": "yellow", "pending": "dim",
                "skipped": "cyan", "interrupted": "magenta"}


class EvalDisplay:
    def __init__(self, models: list[str], tasks_per_model: dict[str, int], console: Console):
        self.models = models
        self.total = tasks_per_model
        self.state = {m: {"status": "pending", "task": "", "done": 0, "start": None} for m in models}
        self.t0 = time.time()
        self.live = Live(self._table(), console=console, refresh_per_second=4, transient=False)

    def __enter__(self):
        self.live.__enter__()
        return self

    def __exit__(self, *exc):
        self.live.update(self._table())
        self.live.__exit__(*exc)

    def mark(self, model: str, status: str) -> None:
        self.state[model]["status"] = status
        self.live.update(self._table())

    def on_event(self, event: dict) -> None:
        s = self.state[event["model"]]
        kind = event["event"]
        if kind == "model_start":
            s.update(status="running", start=time.time())
        elif kind == "task_start":
            s["task"] = event["task"]
        elif kind in ("task_done", "task_failed"):
            s["done"] += 1
            if kind == "task_failed":
                s["failed_task"] = True
        elif kind == "model_failed":
            s.update(status="failed", task="(could not load)")
        elif kind == "model_done":
            s.update(status="failed" if s.get("failed_task") else "complete", task="")
        self.live.update(self._table())

    def _table(self) -> Table:
        t = Table(title=f"ftbench eval — {time.time() - self.t0:,.0f}s elapsed", expand=False)
        for col in ("model", "status", "task", "tasks", "elapsed"):
            t.add_column(col)
        for m in self.models:
            s = self.state[m]
            elapsed = f"{time.time() - s['start']:,.0f}s" if s["start"] else ""
            style = STATUS_STYLE.get(s["status"], "")
            t.add_row(m, f"[{style}]{s['status']}[/]", s["task"], f"{s['done']}/{self.total[m]}",
                      elapsed)
        return t
