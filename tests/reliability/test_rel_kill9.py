"""`kill -9` at random points of a small study always resumes to the identical result.

A reference study runs once without interruption; a second copy is killed (SIGKILL to the whole
process group, so nothing can clean up) at random moments, three times, then run to the end.
Prepared data, trained weights, every metric and the report's ranking must be identical. The
kill times are drawn from a seeded generator; set FTBENCH_KILL_SEED to replay a failure.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from cli_helpers import cli_env, ftbench_cmd, index, metrics, tiny_study

from ftbench.core.io import sha256_file

pytestmark = pytest.mark.slow


def _study(root: Path, tiny_model: Path) -> Path:
    return tiny_study(root, tiny_model, "kill9", sizes=[16, 32], max_steps=4,
                      eval_stage={"tasks": ["bmw_type", "bmw_perplexity"], "backend": "hf",
                                  "limit": 4},
                      report={"n_samples": 1})


def _run(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(ftbench_cmd("study", config), env=cli_env(), capture_output=True,
                          text=True, timeout=1200)


def _outcome(out: Path) -> dict:
    """Everything that must not depend on interruptions (paths and timings excluded)."""
    res = out / "results"
    models = index(res)["models"]
    return {
        "data": {p.name: sha256_file(p) for p in sorted((out / "data").glob("*.jsonl"))},
        "weights": {p.parent.parent.name: sha256_file(p)
                    for p in sorted((out / "runs").glob("*/merged/model.safetensors"))},
        "status": {m: e["status"] for m, e in models.items()},
        "metrics": {m: metrics(res, m) for m in models},
        "ranking": (out / "report" / "tables" / "ranking.csv").read_text(),
    }


def test_kill_9_at_random_points_resumes_to_the_identical_result(tmp_path, tiny_model):
    seed = int(os.environ.get("FTBENCH_KILL_SEED") or random.SystemRandom().randrange(1, 10**6))
    rng = random.Random(seed)
    reference = _study(tmp_path / "reference", tiny_model)
    t0 = time.monotonic()
    done = _run(reference)
    wall = time.monotonic() - t0
    assert done.returncode == 0, done.stderr[-3000:]
    expected = _outcome(reference.parent / "study")

    config = _study(tmp_path / "killed", tiny_model)
    out = config.parent / "study"
    kills = []
    for _ in range(3):
        proc = subprocess.Popen(ftbench_cmd("study", config), env=cli_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        at = rng.uniform(1.0, wall)
        try:
            proc.wait(timeout=at)
            kills.append(f"finished before {at:.1f}s")
            break
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            kills.append(f"{at:.1f}s")
    finished = _run(config)
    why = f"seed {seed}, kills at {kills}, reference {wall:.0f}s"
    assert finished.returncode == 0, (why, finished.stderr[-3000:])
    assert _outcome(out) == expected, why
    assert not list(out.rglob(".partial-*")) and not list(out.rglob("*.tmp-*")), why
    manifest = yaml.safe_load((out / "manifest.json").read_text())
    assert {s["status"] for s in manifest["stages"].values()} == {"complete"}, why
