"""Exit statuses answer for what a command was asked to do: an eval for the models it was asked
to run (an earlier run's failed model in the same folder is listed, not counted), and a study
whose every evaluation failed is a failed study (exit 1, its eval stage recorded as failed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from cli_helpers import SAMPLE, in_process, index

EVAL = ["--tasks", "bmw_perplexity", "--limit", "2", "--backend", "hf"]


def _broken_model(root: Path, tiny_model: Path) -> Path:
    """A model folder that passes every check at load (config, weight headers, tokenizer) but
    cannot be loaded: its config.json says hidden_size is twice what its weights hold."""
    broken = root / "broken-model"
    shutil.copytree(tiny_model, broken)
    config = json.loads((broken / "config.json").read_text())
    config["hidden_size"] *= 2
    (broken / "config.json").write_text(json.dumps(config))
    return broken


def test_eval_exit_status_counts_only_the_models_asked_for(tmp_path, capsys, tiny_model):
    res = tmp_path / "results"
    broken = _broken_model(tmp_path, tiny_model)
    first = in_process(capsys, "eval", "--models", f"a={tiny_model},c={broken}", "--out", res,
                       *EVAL)
    assert first.rc == 1  # c was asked for and failed
    assert index(res)["models"]["c"]["status"] == "failed"

    again = in_process(capsys, "eval", "--models", f"a={tiny_model},b={tiny_model}", "--out",
                       res, *EVAL)
    assert again.rc == 0, (again.out + again.err)[-3000:]
    statuses = {m: e["status"] for m, e in index(res)["models"].items()}
    assert statuses == {"a": "complete", "c": "failed", "b": "complete"}
    text = " ".join(again.out.split())
    assert "not evaluated by this run (not counted in its exit status): c (failed)" in text

    # the failed model asked for again still fails the command
    assert in_process(capsys, "eval", "--models", f"b={tiny_model},c={broken}", "--out", res,
                      *EVAL).rc == 1


def test_a_study_whose_every_evaluation_failed_exits_1(tmp_path, capsys, tiny_model):
    out = tmp_path / "study"
    config = tmp_path / "s.yaml"
    config.write_text(yaml.safe_dump({
        "name": "s", "out_dir": str(out),
        "data": {"source": str(SAMPLE), "sizes": [16], "test_size": 16, "seed": 42},
        "models": [{"name": "broken", "path": str(_broken_model(tmp_path, tiny_model))}],
        "train": {"method": "lora", "backend": "peft", "max_steps": 1, "eval_fraction": 0.0},
        "eval": {"tasks": ["bmw_perplexity"], "backend": "hf", "limit": 2}}))
    done = in_process(capsys, "study", config)
    assert done.rc == 1, (done.out + done.err)[-3000:]
    assert "Traceback" not in done.err
    assert len(done.err_lines) == 1, done.err
    assert "stage eval failed: every evaluation failed (broken-base: failed)" in done.err_lines[0]
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    assert stages["eval"]["status"] == "failed"
    assert "report" not in stages and not (out / "report").exists()  # nothing to report on
    assert index(out / "results")["models"]["broken-base"]["status"] == "failed"
