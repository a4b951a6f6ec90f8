"""Live view of an evaluation: which model, which task, progress and elapsed time.

On a terminal: a rich live table. In a log (no TTY) a live table prints nothing until it ends,
so each event is one plain line instead. A model's time stops when it finishes (its elapsed
time is then the one `status.json` records, not the time since it started).
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

STATUS_STYLE = {"complete": "green", "failed": "bold red", "running": "yellow", "pending": "dim",
                "skipped": "cyan", "interrupted": "magenta"}
FINISHED = ("complete", "failed", "skipped", "interrupted")


class EvalDisplay:
    def __init__(self, models: list[str], tasks_per_model: dict[str, int], console: Console):
        self.models = models
        self.total = tasks_per_model
        self.console = console
        self.state = {m: {"status": "pending", "task": "", "done": 0, "start": None, "end": None}
                      for m in models}
        self.t0 = time.time()
        self.live = (Live(self._table(), console=console, refresh_per_second=4, transient=False)
                     if console.is_terminal else None)

    def __enter__(self):
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(*exc)

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self._table())

    def _line(self, model: str, text: str) -> None:
        """One plain progress line (no TTY only)."""
        if self.live is None:
            s = self.state[model]
            self.console.print(f"  {model}: {text} ({s['done']}/{self.total[model]} tasks, "
                               f"{self.elapsed(model)})", highlight=False)

    def elapsed(self, model: str) -> str:
        s = self.state[model]
        if not s["start"]:
            return ""
        return f"{(s['end'] or time.time()) - s['start']:,.0f}s"

    def mark(self, model: str, status: str) -> None:
        s = self.state[model]
        s["status"] = status
        if status in FINISHED and s["start"] and not s["end"]:
            s["end"] = time.time()
        self._refresh()
        if status in ("skipped", "interrupted"):
            self._line(model, status)

    def on_event(self, event: dict) -> None:
        model = event["model"]
        s = self.state[model]
        kind = event["event"]
        if kind == "model_start":
            s.update(status="running", start=time.time(), end=None)
            self._line(model, "loading")
        elif kind == "task_start":
            s["task"] = event["task"]
            self._line(model, f"{event['task']} started")
        elif kind in ("task_done", "task_failed"):
            s["done"] += 1
            if kind == "task_failed":
                s["failed_task"] = True
            self._line(model, f"{event.get('task', s['task'])} "
                              f"{'failed' if kind == 'task_failed' else 'done'}")
        elif kind == "model_failed":
            s.update(status="failed", task="(could not load)", end=time.time())
            self._line(model, "could not load")
        elif kind == "model_done":
            s.update(status="failed" if s.get("failed_task") else "complete", task="",
                     end=time.time())
            self._line(model, s["status"])
        self._refresh()

    def _table(self) -> Table:
        t = Table(title=f"ftbench eval — {time.time() - self.t0:,.0f}s elapsed", expand=False)
        for col in ("model", "status", "task", "tasks", "elapsed"):
            t.add_column(col)
        for m in self.models:
            s = self.state[m]
            style = STATUS_STYLE.get(s["status"], "")
            t.add_row(m, f"[{style}]{s['status']}[/]", s["task"], f"{s['done']}/{self.total[m]}",
                      self.elapsed(m))
        return t
