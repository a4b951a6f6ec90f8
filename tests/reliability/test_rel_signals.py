"""SIGINT and SIGTERM always land: at any stage of a study (data, mid-training, training's very
end, evaluation, report) the command ends with `ftbench: interrupted (…)` as the last line on the
terminal, exit 130, the stage recorded `interrupted`, and the next run resumes to the end.

The moments are states, never times: the study's manifest says which stage is running, the
training run's checkpoint folders say which step it reached (the last one, written after the
final step, is training's very end). The process group is stopped (SIGSTOP) while the state is
read, so the signal arrives while that state holds. And the class of the bug this guards
against, a KeyboardInterrupt dropped in a garbage-collector callback, is reproduced directly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_helpers import cli_env, ftbench_cmd, tiny_study

from ftbench.train.checkpoints import STATE

STEPS = 6


def _stage(out: Path) -> dict:
    try:
        return {k: v["status"] for k, v in
                json.loads((out / "manifest.json").read_text())["stages"].items()}
    except (OSError, ValueError, KeyError):
        return {}


def _signal_at(proc: subprocess.Popen, holds, sig: int, group: bool) -> tuple[int, str]:
    """Signal `proc` (or its group, as Ctrl-C in a terminal does) while `holds()` is true."""
    deadline = time.monotonic() + 600
    while True:
        assert proc.poll() is None, ("the study ended before the moment",
                                     proc.communicate()[1][-3000:])
        assert time.monotonic() < deadline, "timed out waiting for the moment"
        if holds():
            os.killpg(proc.pid, signal.SIGSTOP)
            if holds():  # still true while nothing runs: the signal lands in this state
                (os.killpg if group else os.kill)(proc.pid, sig)
                os.killpg(proc.pid, signal.SIGCONT)
                break
            os.killpg(proc.pid, signal.SIGCONT)
        time.sleep(0.02)
    _, err = proc.communicate(timeout=600)
    return proc.returncode, err


@pytest.mark.slow
def test_signals_at_every_stage_end_with_one_last_line_and_resume(tmp_path, tiny_model_quick):
    config = tiny_study(tmp_path, tiny_model_quick, "sig", sizes=[16], max_steps=STEPS,
                        model={"tiny_pretrain_steps": 2},
                        eval_stage={"tasks": ["bmw_type", "bmw_perplexity"], "backend": "hf",
                                    "limit": 4},
                        report={"n_samples": 1})
    import yaml
    cfg = yaml.safe_load(config.read_text())
    cfg["train"]["checkpoint_steps"] = 2
    config.write_text(yaml.safe_dump(cfg))
    out = config.parent / "study"
    ckpt = out / "runs" / ".ftbench" / "checkpoints" / "tiny-16"

    def at(step: int):
        return lambda: (ckpt / f"checkpoint-{step}" / STATE).is_file()

    moments = [  # (what, state, signal, to the group)
        ("data", lambda: _stage(out).get("data") == "running", signal.SIGTERM, False),
        ("mid-training", at(2), signal.SIGINT, True),
        ("training's end", at(STEPS), signal.SIGTERM, False),
        ("evaluation", lambda: _stage(out).get("eval") == "running"
         and any(out.glob("results/*/.partial-*")), signal.SIGINT, True),
        ("report", lambda: _stage(out).get("report") == "running", signal.SIGTERM, False),
    ]
    for what, holds, sig, group in moments:
        proc = subprocess.Popen(ftbench_cmd("study", config), env=cli_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        rc, err = _signal_at(proc, holds, sig, group)
        name = signal.Signals(sig).name
        assert rc == 130, (what, rc, err[-3000:])
        assert "Traceback" not in err and "Exception ignored" not in err, (what, err[-3000:])
        last = [line for line in err.splitlines() if line.strip()][-1]
        assert last.startswith(f"ftbench: interrupted ({name})"), (what, last)
        stages = _stage(out)
        assert "interrupted" in stages.values() and "running" not in stages.values(), \
            (what, stages)
        assert not list(out.rglob(".partial-*")) and not list(out.rglob("*.tmp-*")), what

    done = subprocess.run(ftbench_cmd("study", config), env=cli_env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert set(_stage(out).values()) == {"complete"}
    run = json.loads((out / "runs" / "tiny-16" / "manifest.json").read_text())
    assert run["status"] == "complete" and run["resumed_from"] == f"checkpoint-{STEPS}"
    assert not ckpt.exists()


def test_a_signal_dropped_in_a_gc_callback_still_lands():
    """Python drops an exception raised in a weakref or GC callback ("Exception ignored in");
    the request is recorded and the next safe point acts on it."""
    script = textwrap.dedent("""
        import os, signal, sys, weakref
        from ftbench.core import interrupts
        interrupts.install()
        class Thing: pass
        thing = Thing()
        def gone(_):  # the handler runs here, inside the callback
            os.kill(os.getpid(), signal.SIGTERM)
            sum(range(1000))
        ref = weakref.ref(thing, gone)
        del thing
        print("went on after", interrupts.requested(), flush=True)
        try:
            interrupts.check()
        except KeyboardInterrupt as exc:
            print("landed", exc, flush=True)
            sys.exit(130)
    """)
    done = subprocess.run([sys.executable, "-c", script], env=cli_env(), capture_output=True,
                          text=True, timeout=120)
    assert "Exception ignored" in done.stderr and "KeyboardInterrupt" in done.stderr  # dropped
    assert done.stdout.splitlines() == ["went on after SIGTERM", "landed SIGTERM"]
    assert done.returncode == 130
