"""Rich progress display for a grid: one bar for runs, one for the steps of the run in progress.

Why a TrainerCallback: the Trainer owns the step loop, so the callback is the only place that sees
each step; tqdm is switched off in the trainer so the two displays do not fight.
"""

from __future__ import annotations

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


class GridProgress:
    """Context manager holding the rich Progress with its two tasks."""

    def __init__(self, total_runs: int, console: Console | None = None) -> None:
        self.console = console or Console()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            console=self.console, transient=False,
        )
        self.runs = self.progress.add_task("runs", total=total_runs, info="")
        self.steps = self.progress.add_task("steps", total=None, info="", visible=False)

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start_run(self, name: str) -> None:
        self.progress.update(self.runs, description=f"run {name}")
        self.progress.reset(self.steps, total=None, description=f"{name}: loading", info="",
                            visible=True)

    def phase(self, text: str) -> None:
        self.progress.update(self.steps, info=text)

    def end_run(self, name: str, status: str) -> None:
        self.progress.advance(self.runs)
        self.progress.update(self.steps, visible=False)
        self.console.log(f"{name}: {status}")

    def callback(self, name: str) -> RichProgressCallback:
        return RichProgressCallback(self, name)


class RichProgressCallback(TrainerCallback):
    """Moves the steps bar and shows the latest train / eval loss."""

    def __init__(self, display: GridProgress, run_name: str) -> None:
        self.display, self.run_name = display, run_name
        self.last: dict[str, float] = {}

    def on_train_begin(self, args, state, control, **kwargs):
        self.display.progress.reset(self.display.steps, total=state.max_steps,
                                    description=f"{self.run_name}: training", info="")

    def on_step_end(self, args, state, control, **kwargs):
        self.display.progress.update(self.display.steps, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        for key in ("loss", "eval_loss"):
            if logs and key in logs:
                self.last[key] = logs[key]
        text = "  ".join(f"{k}={v:.3f}" for k, v in self.last.items())
        self.display.progress.update(self.display.steps, info=text)
