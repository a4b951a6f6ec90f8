"""ftbench's training progress without a terminal: plain lines, about ten per run, each with the
step, the loss just logged and the time left (the Trainer's own state objects drive it)."""

from __future__ import annotations

import io
import re

from rich.console import Console
from transformers import TrainerState

from ftbench.train.progress import GridProgress, clock


def test_a_long_run_prints_about_ten_lines_with_loss_and_eta():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    assert not console.is_terminal
    with GridProgress(1, console) as display:
        display.start_run("m-16")
        callback = display.callback("m-16")
        state = TrainerState(max_steps=200)
        callback.on_train_begin(None, state, None)
        for step in range(5, 201, 5):  # logging_steps 5, as the demo
            state.global_step = step
            callback.on_log(None, state, None, logs={"loss": 10.0 / step})
        callback.on_log(None, state, None, logs={"eval_loss": 0.5})
        callback.on_log(None, state, None, logs={"eval_loss": 0.5})  # evaluate() after train()
        display.end_run("m-16", "complete in 3.0 s")
    lines = re.findall(r"^m-16: step (\d+)/200 loss ([\d.]+) ETA (\d+:\d\d)$", out.getvalue(),
                       flags=re.MULTILINE)
    assert [int(s) for s, _, _ in lines] == list(range(20, 201, 20))
    assert [float(v) for _, v, _ in lines] == [round(10.0 / s, 4) for s in range(20, 201, 20)]
    assert lines[-1][2] == "0:00"
    assert out.getvalue().count("m-16: step 200/200 eval loss 0.5000 ETA 0:00\n") == 1
    assert out.getvalue().startswith("m-16: loading")
    assert out.getvalue().endswith("\nm-16: complete in 3.0 s\n")  # no time, no progress.py:NN


def test_clock_reads_as_rich_does():
    assert (clock(0), clock(61.4), clock(3725)) == ("0:00", "1:01", "1:02:05")
