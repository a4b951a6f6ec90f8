"""A quiet terminal: the libraries' output goes to the run's log file (`-v` keeps it on the
terminal, `-q` leaves only errors and the final summary)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftbench.core import verbosity


def _noise() -> None:
    print("python-level noise", file=sys.stderr, flush=True)
    os.write(2, b"fd-level noise\n")


def test_stderr_goes_to_the_log_and_comes_back(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv(verbosity.ENV, "normal")
    log = tmp_path / "logs" / "run.log"
    with verbosity.libraries_to(log):
        _noise()
    print("after", file=sys.stderr, flush=True)
    err = capfd.readouterr().err
    assert "noise" not in err and "after" in err
    assert log.read_text() == "python-level noise\nfd-level noise\n"


def test_verbose_keeps_it_on_the_terminal(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv(verbosity.ENV, "verbose")
    with verbosity.libraries_to(tmp_path / "run.log"):
        _noise()
    assert "python-level noise" in capfd.readouterr().err
    assert not (tmp_path / "run.log").exists()


@pytest.mark.slow
def test_ftbench_eval_in_a_log_is_quiet_and_says_where_it_is(tmp_path, tiny_model):
    """A real `ftbench eval` with its output in a file (no TTY): progress lines of its own, no
    progress bars or library warnings; those are in the model's eval.log. With -q: no progress."""
    ftbench = str(Path(sys.executable).with_name("ftbench"))
    env = {k: v for k, v in os.environ.items() if k != verbosity.ENV}
    cmd = [ftbench, "eval", "--models", f"tiny={tiny_model}", "--tasks", "bmw_title,bmw_type",
           "--limit", "2", "--backend", "hf", "--out", str(tmp_path / "r")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "it/s" not in out and "WARNING" not in out and "bootstrapping" not in out
    assert "  tiny: bmw_type done (2/2 tasks" in proc.stdout
    log = (tmp_path / "r" / "tiny" / "eval.log").read_text()
    assert "it/s" in log and "bootstrapping for stddev" in log  # lm-eval's own output, kept
    quiet = subprocess.run([*cmd[:-1], str(tmp_path / "q"), "-q"], capture_output=True, text=True,
                           env=env, timeout=600, check=False)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "tiny: bmw_type" not in quiet.stdout and "it/s" not in quiet.stdout + quiet.stderr
