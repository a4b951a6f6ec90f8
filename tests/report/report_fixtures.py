"""Fixtures of the report tests: the published peer table, and one real tiny study built once.

The study is made the way a user makes one: three tiny models (near-random, a little and a bit
more pre-training) evaluated by `ftbench eval --tasks bmw --limit 6`. Their names follow the
`<family>-<method>-<size>` pattern so that train size and family come from the names.
Import the fixtures into a test module with `from report_fixtures import ...`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

STUDY_MODELS = {"tiny-base": 1, "tiny-lora-16": 6, "tiny-lora-48": 15}  # name -> pretrain steps
LIMIT = 6


@pytest.fixture(scope="session")
def report_study(tmp_path_factory) -> Path:
    """A finished `ftbench eval` study of three tiny models (about a minute on 2 cores)."""
    from run_once import built_once

    return built_once(tmp_path_factory, "report_study", _build_report_study)


def _build_report_study(root: Path) -> Path:
    from ftbench.train.tiny_model import TinyModelConfig, build_tiny_model

    specs = []
    for name, steps in STUDY_MODELS.items():
        cfg = TinyModelConfig(pretrain_steps=steps, batch_size=4, seq_len=128)
        specs.append(f"{name}={build_tiny_model(root / 'models' / name, config=cfg)}")
    study = root / "study"
    # `ftbench eval` as typed, through its entry point in this process (no second interpreter
    # loading torch and lm-eval again)
    from ftbench.cli.main import main

    rc = main(["eval", "--models", ",".join(specs), "--tasks", "bmw", "--out", str(study),
               "--limit", str(LIMIT), "--backend", "hf"])
    assert rc == 0, f"ftbench eval exited {rc}"
    return study


def _history(final: float) -> dict:
    train = [{"step": s, "epoch": s / 8, "loss": final + 2.0 / s, "learning_rate": 1e-3}
             for s in (2, 4, 6, 8)]
    evals = [{"step": s, "epoch": s / 8, "loss": final + 0.3 + 1.0 / (s + 1)} for s in (0, 4, 8)]
    return {"train": train, "eval": evals}


@pytest.fixture(scope="session")
def report_runs(tmp_path_factory) -> Path:
    """Training run dirs in the layout `ftbench.train.run` writes (manifest.json + history.json)."""
    root = tmp_path_factory.mktemp("report_runs")
    for name, size, final in (("tiny-lora-16", 16, 3.1), ("tiny-lora-48", 48, 2.7)):
        run = root / name
        run.mkdir()
        manifest = {"kind": "ftbench-train-run", "status": "complete", "run": name,
                    "base_model": "/nowhere/tiny-llama", "model_name": "tiny-lora",
                    "train_size": size, "method": "lora", "backend": "peft",
                    "parameters": {"trainable": 12345, "total": 765625, "trainable_pct": 1.6},
                    "eval_loss": {"before": final + 1.5, "after": final + 0.4},
                    "final_train_loss": final}
        (run / "manifest.json").write_text(json.dumps(manifest))
        (run / "history.json").write_text(json.dumps(_history(final)))
    failed = root / "tiny-lora-99"
    failed.mkdir()
    (failed / "manifest.json").write_text(json.dumps({
        "kind": "ftbench-train-run", "status": "failed", "run": "tiny-lora-99",
        "train_size": 99, "method": "lora", "error": "RuntimeError: out of memory"}))
    return root
