"""Config: typed keys, overrides, grid expansion, and every bad input caught before training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ftbench.cli.train import train_main
from ftbench.core.config import build
from ftbench.core.io import InputError
from ftbench.train.config import TrainConfig, load_config, slugify
from ftbench.train.grid import plan
from ftbench.train.unsloth_backend import resolve_backend

REPO = Path(__file__).resolve().parents[2]


def load_config_from_dict(data: dict) -> TrainConfig:
    return build(TrainConfig, data)


def _cfg(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text(text)
    return path


def test_unknown_key_is_named_with_the_valid_keys(tmp_path):
    path = _cfg(tmp_path, "base_model: m\nlerning_rate: 1e-4\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    msg = str(err.value)
    assert "'lerning_rate'" in msg and "did you mean 'learning_rate'" in msg
    assert "valid keys:" in msg and "batch_size" in msg and "grid" in msg


def test_unknown_nested_key_is_named_with_its_group(tmp_path):
    with pytest.raises(InputError, match=r"'lora\.rank'.*valid keys: lora\.r, lora\.alpha"):
        load_config(_cfg(tmp_path, "base_model: m\nlora: {rank: 8}\n"))
    with pytest.raises(InputError, match=r"'grid\.model'"):
        load_config(_cfg(tmp_path, "grid: {model: [a]}\n"))


@pytest.mark.parametrize("text, key", [
    ("base_model: m\nbatch_size: four\n", "batch_size"),
    ("base_model: m\nbatch_size: 2.5\n", "batch_size"),
    ("base_model: m\ngradient_checkpointing: 'yes'\n", "gradient_checkpointing"),
    ("base_model: m\nlora: {target_modules: 7}\n", "lora.target_modules"),
    ("grid: {models: [a], sizes: [16, x]}\n", "grid.sizes"),
    ("base_model: m\nmethod: prefix\n", "method"),
    ("base_model: m\nlora: {dropout: 1.5}\n", "lora.dropout"),
    ("base_model: m\neval_fraction: 0.9\n", "eval_fraction"),
    ("grid: {sizes: [16]}\n", "grid.models"),
])
def test_wrong_type_or_value_names_the_key(tmp_path, text, key):
    with pytest.raises(InputError, match=f"'{key}'"):
        load_config(_cfg(tmp_path, text))


def test_yaml_scalars_are_typed(tmp_path):
    cfg = load_config(_cfg(tmp_path, "base_model: m\nlearning_rate: 2e-4\nepochs: 2\n"))
    assert cfg.learning_rate == pytest.approx(2e-4) and isinstance(cfg.epochs, float)


def test_overrides_use_the_same_typed_path(tmp_path):
    path = _cfg(tmp_path, "grid: {models: [a/b/Model-One], sizes: [16]}\n")
    cfg = load_config(path, ["learning_rate=1e-4", "lora.r=4", "grid.sizes=[16, 32]",
                             "lora.target_modules=[q_proj, v_proj]"])
    assert cfg.learning_rate == pytest.approx(1e-4) and cfg.lora.r == 4
    assert cfg.lora.target_modules == ["q_proj", "v_proj"]
    assert [r.name for r in cfg.runs()] == ["model-one-16", "model-one-32"]
    with pytest.raises(InputError, match="key=value"):
        load_config(path, ["learning_rate"])
    with pytest.raises(InputError, match="'batch_sise'"):
        load_config(path, ["batch_sise=2"])


def test_grid_expands_models_by_sizes_with_names():
    cfg = load_config_from_dict({"grid": {"models": [
        "unsloth/Llama-3.2-1B-Instruct", {"path": "work/tiny-llama", "name": "tiny"}]}})
    names = [r.name for r in cfg.runs()]
    assert names == [f"llama-3.2-1b-instruct-{s}" for s in (500, 1000, 1500, 2000)] + [
        f"tiny-{s}" for s in (500, 1000, 1500, 2000)]
    assert slugify("Qwen/Qwen3-0.6B") == "qwen3-0.6b" and slugify("work/tiny-llama/") == "tiny-llama"


def test_grid_and_single_run_keys_conflict_and_names_must_be_unique():
    with pytest.raises(InputError, match="'base_model'"):
        load_config_from_dict({"base_model": "m", "grid": {"models": ["a"]}})
    with pytest.raises(InputError, match="'base_model': is required"):
        load_config_from_dict({})
    with pytest.raises(InputError, match="duplicate run names"):
        load_config_from_dict({"grid": {"models": ["x/m", "y/m"], "sizes": [16]}})


def test_missing_data_file_and_dir_are_named(tmp_path, sample_prepared, make_config):
    cfg = load_config(make_config(tmp_path / "c.yaml", base_model="m", train_size=20,
                                   data_dir=str(sample_prepared)))
    with pytest.raises(InputError, match=r"train_20\.jsonl: not found.*\[16, 32, 48\]"):
        plan(cfg)
    cfg = load_config(make_config(tmp_path / "c.yaml", base_model="m", train_size=16,
                                   data_dir=str(tmp_path / "nowhere")))
    with pytest.raises(InputError, match="'data_dir'"):
        plan(cfg)


def test_size_larger_than_the_prepared_articles_is_refused(tmp_path):
    from ftbench.suites.bmw.prepare import prepare_file, write_prepared
    from ftbench.suites.bmw.resources import SAMPLE_CORPUS

    data = write_prepared(prepare_file(SAMPLE_CORPUS, sizes=(16, 500), test_size=16), tmp_path / "d")
    cfg = load_config_from_dict({"grid": {"models": ["m"], "sizes": [16, 500]},
                                 "data_dir": str(data)})
    with pytest.raises(InputError, match=r"'grid\.sizes': train size 500 is larger than the 48"):
        plan(cfg)


def test_modified_train_file_is_refused(tmp_path, sample_prepared):
    data = shutil.copytree(sample_prepared, tmp_path / "d")
    with (data / "train_16.jsonl").open("a") as fh:
        fh.write(json.dumps({"id": "x"}) + "\n")
    cfg = load_config_from_dict({"base_model": "m", "train_size": 16, "data_dir": str(data)})
    with pytest.raises(InputError, match="sha256 differs"):
        plan(cfg)


def test_bad_config_fails_before_anything_is_written(tmp_path, sample_prepared, make_config):
    out = tmp_path / "runs"
    path = make_config(tmp_path / "c.yaml", base_model="m", train_size=64,
                        data_dir=str(sample_prepared), output_dir=str(out))
    with pytest.raises(InputError, match="'train_size'"):
        train_main(path, [])
    assert not out.exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-GPU path")
def test_unsloth_without_gpu_is_a_clear_error_and_auto_falls_back():
    with pytest.raises(InputError, match="'backend': backend: unsloth needs a usable CUDA GPU"):
        resolve_backend("unsloth")
    assert resolve_backend("auto") == "peft" and resolve_backend("peft") == "peft"


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("train_*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_configs_load_and_name_their_command(path):
    first = path.read_text().splitlines()[0]
    assert first == f"# ftbench train configs/{path.name}", first
    cfg = load_config(path)
    assert cfg.runs()
