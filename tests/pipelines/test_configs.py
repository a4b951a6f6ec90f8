"""Every shipped config loads and validates; each starts with the command that runs it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ftbench.core.io import InputError
from ftbench.core.paths import CONFIGS_DIR
from ftbench.pipelines.study_config import load_study_config

CONFIGS = sorted((CONFIGS_DIR).glob("*.yaml"))


def _is_study(path: Path) -> bool:
    return "models" in (yaml.safe_load(path.read_text()) or {})


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_config_validates(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# ftbench "), f"{path.name} must start with the command that runs it"
    assert path.name in first or "ftbench demo" in first
    if _is_study(path):
        cfg = load_study_config(path)
        if cfg.evaluate_only:  # the listed models, nothing trained
            assert not cfg.runs() and not cfg.train and cfg.models
        else:
            assert cfg.runs(), "the training grid expands to at least one run"
        assert cfg.eval.tasks
    else:
        from ftbench.train.config import load_config

        assert load_config(path).runs()


def test_demo_config_expands_to_base_plus_two_sizes():
    cfg = load_study_config(CONFIGS_DIR / "demo.yaml")
    assert [r.name for r in cfg.train_config().runs()] == ["tiny-llama-16", "tiny-llama-48"]
    assert cfg.eval.include_base and cfg.models[0].path == "tiny"


def test_real_demo_config_fine_tunes_smollm2_at_two_sizes_and_evaluates_with_vllm():
    cfg = load_study_config(CONFIGS_DIR / "demo_real.yaml")
    assert cfg.models[0].path == "smollm2"
    assert [r.name for r in cfg.runs()] == ["smollm2-16", "smollm2-48"]
    assert cfg.eval.include_base and cfg.eval.backend == "vllm"
    assert cfg.eval.tasks == ["bmw", "general_small"] and cfg.eval.general_data == "sample"


def test_forgetting_config_trains_lora_and_qlora_of_one_base_and_evaluates_it_once():
    cfg = load_study_config(CONFIGS_DIR / "forgetting.yaml")
    grids = {c.method: [r.name for r in c.runs()] for c in cfg.train_configs()}
    assert grids == {"lora": ["llama-3.2-1b-2000", "tinyllama-2000"],
                     "qlora": ["tinyllama-qlora-2000"]}
    assert [s.name for s in cfg.model_specs()] == ["llama-3.2-1b-base", "tinyllama-base"]
    assert cfg.eval.tasks == ["bmw", "general_small"] and cfg.eval.backend == "vllm"
    assert cfg.eval.general_data is None  # the hub datasets by default


def test_academic_config_evaluates_smollm2_only_and_refuses_what_needs_training():
    path = CONFIGS_DIR / "academic_qa.yaml"
    cfg = load_study_config(path)
    assert cfg.evaluate_only and cfg.data.source == "$FTBENCH_ACADEMIC_QA"
    assert cfg.base_names() == {"smollm2": "smollm2"} and not cfg.train_configs()
    for override, message in (("train.max_steps=2", "config key 'train': an evaluate_only"),
                              ("models=[]", "config key 'models': an evaluate_only"),
                              ("models=[{name: t, path: tiny}]", "config key 'models.path' (t)"),
                              ("models=[{name: t, path: 'smollm2::nowhere'}]",
                               "config key 'models.adapter' (t): nowhere is not a PEFT")):
        with pytest.raises(InputError, match=re.escape(message)):
            load_study_config(path, [override])


@pytest.mark.parametrize("override, message", [
    ("models=[{name: t, path: tiny, method: lorax}]", "models.method"),
    ("eval.limt=3", "unknown config key 'eval.limt'"),
    ("train.lora.r=-1", "lora.r"),
    ("train.data_dir=x", "set by the study itself"),
    ("data.sizes=[]", "data.sizes"),
    ("models=[]", "models"),
])
def test_bad_study_config_names_the_key(override, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        load_study_config(CONFIGS_DIR / "demo.yaml", [override])
