"""Generation settings (ftbench/eval/generation.py): budget overrides and the thinking switch,
from the settings and the study config to the worker (the `--max-gen-toks` option itself:
tests/cli/test_main.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftbench.eval.generation import gen_kwargs_for, thinking_model_args
from ftbench.eval.orchestrator import EvalSettings
from ftbench.eval.specs import ModelSpec
from ftbench.eval.worker import WorkerJob


def test_gen_kwargs_per_task():
    assert gen_kwargs_for("bmw_title", None) is None
    assert gen_kwargs_for("bmw_title", 64) == {"max_gen_toks": 64}
    assert gen_kwargs_for("bmw_title", {"bmw_title": 16}) == {"max_gen_toks": 16}
    assert gen_kwargs_for("bmw_type", {"bmw_title": 16}) is None


def test_thinking_args_per_backend():
    assert thinking_model_args("hf", False) == {"enable_thinking": False}
    assert thinking_model_args("vllm", False) == {"enable_thinking": False}
    assert thinking_model_args("hf", True) == {"chat_template_args": {"enable_thinking": True}}
    assert thinking_model_args("vllm", True) == {}


def test_settings_reach_the_index_and_the_worker(tmp_path: Path):
    settings = EvalSettings(tasks=["bmw"], enable_thinking=True, max_gen_toks={"bmw_title": 16})
    index = settings.for_index("hf")
    assert index["enable_thinking"] is True and index["max_gen_toks"] == {"bmw_title": 16}
    assert EvalSettings(tasks=["bmw"]).for_index("hf")["enable_thinking"] is False
    job = WorkerJob(spec=ModelSpec("m", "/x"), tasks=["bmw_title"], model_dir=tmp_path,
                    backend="hf", enable_thinking=True, max_gen_toks={"bmw_title": 16})
    again = WorkerJob.from_json(job.to_json())  # the vLLM subprocess gets the same job
    assert (again.enable_thinking, again.max_gen_toks) == (True, {"bmw_title": 16})
    assert again.model_args()["chat_template_args"] == {"enable_thinking": True}
    assert WorkerJob(spec=ModelSpec("m", "/x"), tasks=[], model_dir=tmp_path,
                     backend="vllm").model_args()["enable_thinking"] is False


def test_study_config_keys(tmp_path):
    from ftbench.core.io import InputError
    from ftbench.core.paths import CONFIGS_DIR
    from ftbench.pipelines.study_config import load_study_config

    demo = CONFIGS_DIR / "demo.yaml"
    cfg = load_study_config(demo, ["eval.thinking=true", "eval.max_gen_toks={bmw_title: 16}",
                                   "data.strip_reference_from_input=true"])
    assert (cfg.eval.thinking, cfg.eval.max_gen_toks) == (True, {"bmw_title": 16})
    assert cfg.data.strip_reference_from_input is True
    with pytest.raises(InputError, match="eval.max_gen_toks"):
        load_study_config(demo, ["eval.max_gen_toks=0"])
