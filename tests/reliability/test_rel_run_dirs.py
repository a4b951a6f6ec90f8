"""A training run's directory may hold the user's files: retraining a failed run, and replacing
a stale one with --force, touch only what ftbench wrote there, and say in one line what stayed."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from cli_helpers import in_process

OURS = {"manifest.json", "adapter", "merged", "history.json", "loss_curve.png"}  # a complete run


def _train_yaml(path: Path, model: Path, data: Path, out: Path) -> Path:
    path.write_text(yaml.safe_dump({
        "base_model": str(model), "model_name": "tiny", "train_size": 16, "data_dir": str(data),
        "output_dir": str(out), "method": "lora", "backend": "peft",
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0}, "learning_rate": 3e-3, "max_steps": 3,
        "logging_steps": 1, "lr_scheduler": "constant", "warmup_ratio": 0.0, "batch_size": 2,
        "max_seq_length": 256, "eval_fraction": 0.0, "seed": 0}))
    return path


def _status(run: Path) -> str:
    return json.loads((run / "manifest.json").read_text())["status"]


def _kept_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "kept" in line and "notes.txt" in line]


def test_user_files_in_a_run_directory_survive_retraining_and_force(
        tmp_path, capsys, tiny_model, prepared):
    runs = tmp_path / "runs"
    run = runs / "tiny-16"
    config = _train_yaml(tmp_path / "t.yaml", tiny_model, prepared, runs)
    broken = tmp_path / "broken-model"  # a base model that fails to load: the run fails
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    assert in_process(capsys, "train", config, f"base_model={broken}").rc == 1
    assert _status(run) == "failed"
    # the user keeps notes and an evaluation of their own beside the failed run's record
    (run / "notes.txt").write_text("the base model was broken\n")
    (run / "my_eval").mkdir()
    (run / "my_eval" / "scores.json").write_text('{"mine": 1}\n')
    mine = {"notes.txt", "my_eval"}

    failed_again = in_process(capsys, "train", config, f"base_model={broken}")
    assert failed_again.rc == 1 and _status(run) == "failed"
    assert (run / "notes.txt").read_text() == "the base model was broken\n"
    assert (run / "my_eval" / "scores.json").read_text() == '{"mine": 1}\n'

    retrained = in_process(capsys, "train", config)
    assert retrained.rc == 0, retrained.err[-2000:]
    assert _status(run) == "complete"
    assert len(_kept_lines(retrained.out + retrained.err)) == 1, retrained.out
    names = {p.name for p in run.iterdir()}
    assert names == mine | OURS, names
    assert (run / "merged" / "model.safetensors").is_file()
    assert (run / "my_eval" / "scores.json").read_text() == '{"mine": 1}\n'

    # a stale complete run replaced by --force: ftbench's files are new, the user's stay
    weights = (run / "merged" / "model.safetensors").read_bytes()
    forced = in_process(capsys, "train", config, "learning_rate=1e-3", "--force")
    assert forced.rc == 0, forced.err[-2000:]
    assert json.loads((run / "manifest.json").read_text())["config"]["learning_rate"] == 1e-3
    assert (run / "merged" / "model.safetensors").read_bytes() != weights
    assert (run / "notes.txt").read_text() == "the base model was broken\n"
    assert (run / "my_eval" / "scores.json").read_text() == '{"mine": 1}\n'
    assert not [p for p in runs.iterdir() if ".tmp-" in p.name]  # no staging dir left
