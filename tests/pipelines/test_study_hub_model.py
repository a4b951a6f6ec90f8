"""A study whose base is a hub id, offline, from a real hub-cache layout: it trains, evaluates and
reports; a re-run reuses everything; a new upstream commit is stale and named; a pinned revision
brings the old commit back without recomputing.

The bug this guards against: the base was fingerprinted by its cached files, so the study stopped
after training ("trained from other inputs") and every re-run was stale.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from file_modules import load_script

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "ftbench" / "sample_data" / "bmw_sample.jsonl"
REPO_ID = "ftbench-test/tiny-llama"

pytestmark = pytest.mark.slow


def _study(tmp: Path, **model) -> Path:
    config = tmp / "hub.yaml"
    config.write_text(yaml.safe_dump({
        "name": "hub", "out_dir": str(tmp / "study"),
        "data": {"source": str(SAMPLE), "sizes": [16], "test_size": 16, "seed": 42},
        "models": [{"name": "tiny", "path": REPO_ID, **model}],
        "train": {"method": "lora", "backend": "auto", "lora": {"r": 4, "alpha": 8},
                  "learning_rate": 3e-3, "max_steps": 4, "batch_size": 4,
                  "max_seq_length": 256, "eval_fraction": 0.0, "seed": 0},
        "eval": {"tasks": ["bmw_type"], "backend": "hf", "limit": 4,
                 "max_gen_toks": {"bmw_type": 8}, "include_base": True}}))
    return config


def _run(config: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_CACHE": str(cache),
           "HF_HUB_OFFLINE": "1", "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "ftbench.cli.main", "study", str(config)],
                          capture_output=True, text=True, timeout=900, env=env, cwd=REPO)


def test_hub_base_study_trains_evaluates_reuses_and_names_a_new_commit(tiny_model, tmp_path):
    hub_cache = load_script("hub_cache")
    cache = tmp_path / "hub"
    first = hub_cache.add_to_cache(tiny_model, REPO_ID, cache)
    config = _study(tmp_path)

    done = _run(config, cache)
    assert done.returncode == 0, done.stderr[-3000:]
    study = tmp_path / "study"
    run = json.loads((study / "runs" / "tiny-16" / "manifest.json").read_text())
    assert run["status"] == "complete" and run["base_model"] == REPO_ID
    assert run["base_model_revision"] == first
    assert run["fingerprint"]["base_commit"] == f"{REPO_ID}@{first}"
    index = json.loads((study / "results" / "index.json").read_text())
    assert {m: v["status"] for m, v in index["models"].items()} == {
        "tiny-base": "complete", "tiny-16": "complete"}
    base_fp = index["models"]["tiny-base"]["fingerprint"]["pretrained"]
    assert base_fp == {**base_fp, "kind": "hub", "commit": first}
    results = next((study / "results" / "tiny-base").glob("results_*.json"))
    args = json.loads(results.read_text())["config"]["model_args"]
    assert f"revision={first}" in str(args) or (isinstance(args, dict)
                                                and args.get("revision") == first)

    before = {p: p.stat().st_mtime_ns for p in (study / "results").rglob("results_*.json")}
    again = _run(config, cache)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "trained from other inputs" not in again.stdout + again.stderr
    manifest = json.loads((study / "manifest.json").read_text())
    assert manifest["stages"]["train"]["status"] == "complete"
    after = {p: p.stat().st_mtime_ns for p in (study / "results").rglob("results_*.json")}
    assert after == before  # nothing re-evaluated
    assert json.loads((study / "runs" / "tiny-16" / "manifest.json").read_text()) == run

    # upstream pushes a new commit (other weights): the study stops and names it
    moved = tmp_path / "moved"
    shutil.copytree(tiny_model, moved)
    cfg = json.loads((moved / "config.json").read_text())
    (moved / "config.json").write_text(json.dumps({**cfg, "rms_norm_eps": 1e-5}))
    second = hub_cache.add_to_cache(moved, REPO_ID, cache)
    stale = _run(config, cache)
    assert stale.returncode == 2, stale.stderr[-3000:]
    lines = [line for line in stale.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stale.stderr
    assert f"{REPO_ID}@{first[:12]} → {REPO_ID}@{second[:12]}" in lines[0]

    # pinning the revision it was trained with reuses every output again
    pinned = _run(_study(tmp_path, revision=first), cache)
    assert pinned.returncode == 0, pinned.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns
            for p in (study / "results").rglob("results_*.json")} == before
