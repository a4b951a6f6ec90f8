"""ftbench's own training progress: one bar for runs, one for the steps of the run in progress.

Why a TrainerCallback: the Trainer owns the step loop, so the callback is the only place that sees
each step; tqdm and the Trainer's printed loss dicts are switched off (`-v` brings the dicts back,
ftbench.train.sft) so the displays do not fight. On a terminal: a rich live view. In a log (no
TTY) a live view prints nothing until it ends, so each logged step is one plain line instead:
`<run>: step k/N loss x ETA m:ss`, about ten per run (every tenth of the steps, and the last).
"""

from __future__ import annotations

import time
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from transformers import TrainerCallback


def clock(seconds: float) -> str:
    """`m:ss` (or `h:mm:ss`) of a duration, as rich's time columns show it."""
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}" if hours else f"{minutes}:{sec:02d}"


class GridProgress:
    """Context manager holding the rich Progress with its two tasks (a terminal) or printing
    plain lines (no terminal)."""

    def __init__(self, total_runs: int, console: Console | None = None) -> None:
        self.console = console or Console()
        self.live = self.console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            console=self.console, transient=False, disable=not self.live,
        )
        self.runs = self.progress.add_task("runs", total=total_runs, info="")
        self.steps = self.progress.add_task("steps", total=None, info="", visible=False)

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def line(self, text: str) -> None:
        """One plain progress line (no terminal only)."""
        if not self.live:
            self.console.print(text, highlight=False, markup=False)

    def start_run(self, name: str) -> None:
        self.progress.update(self.runs, description=f"run {name}")
        self.progress.reset(self.steps, total=None, description=f"{name}: loading", info="",
                            visible=True)
        self.line(f"{name}: loading")

    def phase(self, text: str) -> None:
        self.progress.update(self.steps, info=text)

    def end_run(self, name: str, status: str) -> None:
        self.progress.advance(self.runs)
        self.progress.update(self.steps, visible=False)
        # print, not log: a log line ends in this file's name and line number, noise in a log
        self.console.print(f"{name}: {status}", highlight=False)

    def callback(self, name: str) -> RichProgressCallback:
        return RichProgressCallback(self, name)


class RichProgressCallback(TrainerCallback):
    """Moves the steps bar and shows the latest train / eval loss; without a terminal, prints
    a line per logged step with its loss and the time left."""

    def __init__(self, display: GridProgress, run_name: str) -> None:
        self.display, self.run_name = display, run_name
        self.last: dict[str, float] = {}
        self.started: float | None = None
        self.printed_at, self.every = 0, 1
        self.printed = ""  # the evaluation after train() logs the last step's eval loss again

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()
        self.every = max(1, state.max_steps // 10)  # a log gets ~10 lines per run, not hundreds
        self.display.progress.reset(self.display.steps, total=state.max_steps,
                                    description=f"{self.run_name}: training", info="")

    def on_step_end(self, args, state, control, **kwargs):
        self.display.progress.update(self.display.steps, completed=state.global_step)

    def eta(self, state) -> str:
        """Time left at the mean time per step so far."""
        if self.started is None or not state.global_step:
            return "?"
        per_step = (time.perf_counter() - self.started) / state.global_step
        return clock(per_step * max(state.max_steps - state.global_step, 0))

    def on_log(self, args, state, control, logs=None, **kwargs):
        fresh = {key: logs[key] for key in ("loss", "eval_loss") if logs and key in logs}
        self.last.update(fresh)
        text = "  ".join(f"{k}={v:.3f}" for k, v in self.last.items())
        self.display.progress.update(self.display.steps, info=text)
        due = (state.global_step - self.printed_at >= self.every
               or state.global_step == state.max_steps or "eval_loss" in fresh)
        if fresh and due and self.started is not None:  # the eval before training: step 0 of 0
            self.printed_at = state.global_step
            losses = " ".join(f"{k.replace('_', ' ')} {v:.4f}" for k, v in fresh.items())
            line = (f"{self.run_name}: step {state.global_step}/{state.max_steps} {losses} "
                    f"ETA {self.eta(state)}")
            if line != self.printed:
                self.display.line(line)
                self.printed = line
