"""Non-finite numbers never pass: inf / NaN config values (report keys included) stop the
command at load with one line, a NaN training loss fails its run while the grid goes on, and
merged weights with inf in them are never marked complete."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from cli_helpers import SAMPLE, in_process, one_line_error, run_cli


def _train_yaml(path: Path, data: Path, out: Path, models: list[dict], **keys) -> Path:
    path.write_text(yaml.safe_dump({
        "output_dir": str(out), "data_dir": str(data), "method": "lora", "backend": "peft",
        "grid": {"models": models, "sizes": [16]}, "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
        "learning_rate": 3e-3, "max_steps": 2, "logging_steps": 1, "lr_scheduler": "constant",
        "warmup_ratio": 0.0, "batch_size": 2, "max_seq_length": 256, "eval_fraction": 0.0,
        "seed": 0, **keys}))
    return path


@pytest.mark.parametrize("override, key", [
    ("learning_rate=.inf", "'learning_rate'"),
    ("learning_rate=nan", "'learning_rate'"),
    ("lora.dropout=.nan", "'lora.dropout'"),
    ("weight_decay=-.inf", "'weight_decay'"),
])
def test_train_config_values_must_be_finite(tmp_path, capsys, override, key):
    out = tmp_path / "runs"
    config = _train_yaml(tmp_path / "t.yaml", tmp_path, out, [{"path": str(tmp_path)}])
    one_line_error(in_process(capsys, "train", config, override), str(config), key, "finite")
    assert not out.exists()


@pytest.mark.parametrize("override, key", [
    ("train.learning_rate=.inf", "'train.learning_rate'"),
    ("report.tie_threshold=.nan", "'report.tie_threshold'"),
    ("report.top_n=-3", "'report.top_n'"),
    ("report.n_samples=-1", "'report.n_samples'"),
    ("ray.resources={num_gpus: .inf}", "'ray.resources.num_gpus'"),
    ("eval.model_args={max_model_len: .nan}", "'eval.model_args.max_model_len'"),
])
def test_study_keys_report_included_are_checked_before_any_stage(tmp_path, capsys, override,
                                                                 key):
    out = tmp_path / "study"
    config = tmp_path / "s.yaml"
    config.write_text(yaml.safe_dump({
        "name": "s", "out_dir": str(out), "models": [{"name": "t", "path": "tiny"}],
        "data": {"source": str(SAMPLE), "sizes": [16], "test_size": 16}}))
    one_line_error(in_process(capsys, "study", config, "--only", "data", override),
                   str(config), key)
    assert not out.exists(), "nothing may run (or be written) before the config is checked"


@pytest.mark.parametrize("args, flag", [
    (["--tie-threshold", "nan"], "--tie-threshold"),
    (["--tie-threshold", "inf"], "--tie-threshold"),
    (["--top-n", "-3"], "--top-n"),
])
def test_report_flags_are_checked_before_reading(tmp_path, capsys, peer_csv, args, flag):
    out = tmp_path / "report"
    one_line_error(in_process(capsys, "report", peer_csv, "--out", out, *args), flag)
    assert not out.exists()


def _nan_model(tiny_model: Path, out: Path) -> Path:
    """The tiny model with one NaN in its final norm: a corrupt checkpoint that still loads."""
    import torch
    from safetensors.torch import load_file, save_file

    shutil.copytree(tiny_model, out)
    state = load_file(out / "model.safetensors")
    state["model.norm.weight"][0] = float("nan")
    save_file(state, out / "model.safetensors", metadata={"format": "pt"})
    assert torch.isnan(load_file(out / "model.safetensors")["model.norm.weight"]).any()
    return out


def test_a_nan_loss_fails_its_run_and_the_grid_goes_on(tmp_path, tiny_model, prepared):
    runs = tmp_path / "runs"
    nan = _nan_model(tiny_model, tmp_path / "nan-model")
    config = _train_yaml(tmp_path / "t.yaml", prepared, runs, [
        {"path": str(nan), "name": "nan"}, {"path": str(tiny_model), "name": "tiny"}])
    out = run_cli("train", config)
    assert out.rc == 1, out.err[-3000:]
    assert "Traceback" not in out.err, out.err[-3000:]
    grid = json.loads((runs / "grid_index.json").read_text())["runs"]
    assert grid["tiny-16"]["status"] == "complete"  # the run after the failed one trained
    assert grid["nan-16"]["status"] == "failed"
    assert grid["nan-16"]["error"].startswith("NonFiniteError: loss is nan at step 1"), grid
    assert sorted(p.name for p in (runs / "nan-16").iterdir()) == ["manifest.json"]
    said = [line for line in out.out.splitlines() if "nan-16: failed" in line]
    assert len(said) == 1 and "loss is nan" in said[0], out.out


def test_merged_weights_with_inf_are_never_complete(tmp_path, capsys, tiny_model, prepared):
    """One step at a huge learning rate: the logged loss is finite (it comes before the update),
    the update makes the LoRA product overflow, and only the merged export shows it."""
    runs = tmp_path / "runs"
    config = _train_yaml(tmp_path / "t.yaml", prepared, runs,
                         [{"path": str(tiny_model), "name": "tiny"}], learning_rate=1e36,
                         max_steps=1, lora={"r": 4, "alpha": 10**9, "dropout": 0.0})
    assert in_process(capsys, "train", config).rc == 1
    manifest = json.loads((runs / "tiny-16" / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert "merged/model.safetensors" in manifest["error"], manifest["error"]
    assert "non-finite" in manifest["error"]
    assert sorted(p.name for p in (runs / "tiny-16").iterdir()) == ["manifest.json"]
