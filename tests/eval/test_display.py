"""The evaluation's live view: a finished model's time stops, and a log (no TTY) gets one plain
line per event instead of a table that only appears at the end."""

from __future__ import annotations

import io

from rich.console import Console

from ftbench.eval import display
from ftbench.eval.display import EvalDisplay


def test_time_stops_when_a_model_finishes_and_a_log_gets_lines(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(display.time, "time", lambda: now[0])
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=120)
    with EvalDisplay(["a", "b"], {"a": 2, "b": 2}, console) as view:
        view.on_event({"event": "model_start", "model": "a"})
        now[0] = 103.0
        view.on_event({"event": "task_start", "model": "a", "task": "t1"})
        view.on_event({"event": "task_done", "model": "a", "task": "t1"})
        now[0] = 110.0
        view.on_event({"event": "task_done", "model": "a", "task": "t2"})
        view.on_event({"event": "model_done", "model": "a"})
        now[0] = 500.0  # much later: a's time stays 10 s
        assert view.elapsed("a") == "10s"
        view.on_event({"event": "model_start", "model": "b"})
        view.on_event({"event": "model_failed", "model": "b"})
    lines = out.getvalue().splitlines()
    assert "  a: t1 started (0/2 tasks, 3s)" in lines
    assert "  a: t1 done (1/2 tasks, 3s)" in lines
    assert "  a: complete (2/2 tasks, 10s)" in lines
    assert "  b: could not load (0/2 tasks, 0s)" in lines
    assert not any("ftbench eval —" in line for line in lines)  # no table in a log


def test_a_terminal_gets_the_table_not_lines():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with EvalDisplay(["a"], {"a": 1}, console) as view:
        view.on_event({"event": "model_start", "model": "a"})
        view.on_event({"event": "model_done", "model": "a"})
    text = out.getvalue()
    assert "ftbench eval" in text and "loading" not in text
