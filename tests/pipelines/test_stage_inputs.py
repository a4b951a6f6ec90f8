"""Evaluation settings are made in one place: `ftbench eval --study` takes every `eval.*` key of
the study as `ftbench study` does, and a value given on the command line wins."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import yaml

from ftbench.pipelines.stage_inputs import eval_settings
from ftbench.pipelines.study_config import load_study_config

EVAL = {"tasks": ["bmw_title", "bmw_type"], "backend": "hf", "limit": 3, "batch_size": 2,
        "apply_chat_template": False, "context_length": 512, "threads": 1, "thinking": True,
        "max_gen_toks": {"bmw_title": 40}, "model_args": {"dtype": "float32"},
        "system_instruction": "Be brief.", "fewshot_as_multiturn": False,
        "general_data": "sample"}


@pytest.fixture
def study(tmp_path):
    config = tmp_path / "s.yaml"
    config.write_text(yaml.safe_dump({
        "name": "s", "out_dir": str(tmp_path / "out"), "data": {"source": "sample"},
        "models": [{"name": "m", "path": str(tmp_path)}], "eval": EVAL}), encoding="utf-8")
    return config


def test_every_eval_key_of_the_study_is_honoured(study):
    cfg = load_study_config(study)
    s = eval_settings(cfg)
    assert (s.tasks, s.backend, s.limit, s.batch_size, s.apply_chat_template) == (
        ["bmw_title", "bmw_type"], "hf", 3, 2, False)
    assert (s.context_length, s.threads, s.enable_thinking, s.max_gen_toks) == (
        512, 1, True, {"bmw_title": 40})
    assert (s.model_args, s.system_instruction, s.fewshot_as_multiturn) == (
        {"dtype": "float32"}, "Be brief.", False)
    assert s.metadata["bmw_data"] == str(cfg.data_dir.resolve())
    assert s.metadata["general_data"] == "sample"
    assert s.suite == {"name": "bmw", "origin": "built-in"}
    # nothing given on the command line: the same settings
    assert asdict(eval_settings(cfg, tasks=None, backend=None, limit=None)) == asdict(s)


def test_command_line_values_win_and_merge_per_key(study):
    cfg = load_study_config(study)
    s = eval_settings(cfg, backend="vllm", limit=1, metadata={"general_n": 5},
                      model_args={"revision": "abc"}, apply_chat_template=True)
    assert (s.backend, s.limit, s.apply_chat_template) == ("vllm", 1, True)
    assert s.metadata["general_n"] == 5 and s.metadata["general_data"] == "sample"
    assert s.model_args == {"dtype": "float32", "revision": "abc"}


def test_without_a_study_the_default_suite_s_group():
    s = eval_settings(None, limit=2)
    assert (s.tasks, s.backend, s.limit, s.suite) == (["bmw"], "auto", 2, None)


def test_ftbench_eval_study_evaluates_with_the_study_s_settings(study, tmp_path, monkeypatch):
    """The command itself: its settings are the study's, --limit given wins."""
    from cli_helpers import eval_settings_of

    seen = eval_settings_of(monkeypatch, "--study", str(study), "--out", str(tmp_path / "r"),
                            "--limit", "2")
    expected = eval_settings(load_study_config(study), limit=2)
    assert asdict(seen) == asdict(expected)
