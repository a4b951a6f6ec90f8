"""Helpers of the tests that run `ftbench` as a user does (tests/cli, tests/reliability): real
processes or `main()` in this process, real files, real signals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "ftbench" / "sample_data" / "bmw_sample.jsonl"


@dataclass
class Outcome:
    rc: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a child `ftbench`: this worktree's code first, offline, quiet."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "140",
           "TOKENIZERS_PARALLELISM": "false"}
    env.update(extra)
    return env


def ftbench_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ftbench.cli.main", *map(str, args)]


def run_cli(*args: str, timeout: float = 600, env: dict | None = None) -> Outcome:
    """`ftbench ARGS` in a child process (its own imports, exit code and stderr)."""
    proc = subprocess.run(ftbench_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          env=env or cli_env(), cwd=REPO)
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def in_process(capsys, *args: str) -> Outcome:
    """`ftbench ARGS` through `ftbench.cli.main.main` in this process (no import cost)."""
    from ftbench.cli.main import main

    capsys.readouterr()
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Outcome(rc, captured.out, captured.err)


def one_line_error(outcome: Outcome, *needles: str) -> str:
    """Exit 2, exactly one stderr line, no traceback, and the line names every `needle`."""
    assert outcome.rc == 2, (outcome.rc, outcome.err[-2000:])
    assert "Traceback" not in outcome.err, outcome.err[-2000:]
    assert len(outcome.err_lines) == 1, outcome.err
    line = outcome.err_lines[0]
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path → bytes): 'nothing was changed' is checkable."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def metrics(results_dir: Path, model: str) -> dict:
    from ftbench.eval.results_files import task_metrics

    return task_metrics(results_dir / model)


def index(results_dir: Path) -> dict:
    return json.loads((results_dir / "index.json").read_text())


def tiny_study(root: Path, tiny_model: Path, name: str, sizes: list[int], max_steps: int,
               eval_stage: dict, model: dict | None = None, **extra) -> Path:
    """A study config over the bundled sample (16 test articles) whose `tiny` model is the test
    session's (linked where `path: tiny` would build it; `model` adds keys to its entry, such as
    the `tiny_pretrain_steps` of `tiny_model_quick`); LoRA r=4 for `max_steps` steps."""
    import yaml

    out = root / "study"
    (out / "models").mkdir(parents=True)
    (out / "models" / "tiny").symlink_to(tiny_model)
    config = root / f"{name}.yaml"
    config.write_text(yaml.safe_dump({
        "name": name, "out_dir": str(out),
        "data": {"source": str(SAMPLE), "sizes": sizes, "test_size": 16, "seed": 42},
        "models": [{"name": "tiny", "path": "tiny", **(model or {})}],
        "train": {"method": "lora", "backend": "peft", "lora": {"r": 4, "alpha": 8},
                  "learning_rate": 3e-3, "max_steps": max_steps, "batch_size": 4,
                  "max_seq_length": 256, "eval_fraction": 0.0, "seed": 0},
        "eval": eval_stage, **extra}))
    return config


def eval_settings_of(monkeypatch, *args: str):
    """The `EvalSettings` an `ftbench eval ARGS` command would evaluate with: the command runs
    in this process up to the evaluation itself, which is stopped before any model loads."""
    import pytest

    import ftbench.eval.orchestrator as orchestrator
    from ftbench.cli.main import main

    seen = {}

    class Stop(Exception):
        pass

    def capture(specs, settings, out, console, force=False, shard=None):
        seen["settings"] = settings
        raise Stop

    monkeypatch.setattr(orchestrator, "evaluate_models", capture)
    with pytest.raises(Stop):
        main(["eval", *args])
    return seen["settings"]
