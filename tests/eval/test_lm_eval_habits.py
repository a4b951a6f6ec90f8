"""lm-eval's habits in ftbench eval (issue 25): the chat-template switch is explicit and recorded,
lm-eval's `--system_instruction` / `--fewshot_as_multiturn` pass through and count for reuse, and
the stock `lm_eval` command the docs show runs as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from ftbench.core.io import InputError
from ftbench.eval import worker
from ftbench.eval.orchestrator import EvalSettings
from ftbench.eval.specs import ModelSpec
from ftbench.eval.worker import WorkerJob

REPO = Path(__file__).resolve().parents[2]


def _settings(captured: dict):
    def fake_evaluate_models(specs, settings, out, console, force=False, shard=None):
        captured["settings"] = settings
        raise InputError("stop here")
    return fake_evaluate_models


@pytest.mark.parametrize("flags,expected", [
    ([], {"apply_chat_template": True, "system_instruction": None, "fewshot_as_multiturn": None}),
    (["--no-apply-chat-template"], {"apply_chat_template": False}),
    (["--no-chat-template"], {"apply_chat_template": False}),
    (["--apply-chat-template", "--system-instruction", "Be brief.", "--fewshot-as-multiturn"],
     {"apply_chat_template": True, "system_instruction": "Be brief.",
      "fewshot_as_multiturn": True}),
    (["--no-fewshot-as-multiturn"], {"fewshot_as_multiturn": False}),
])
def test_the_command_line_switches_reach_the_settings(tmp_path, monkeypatch, flags, expected):
    from ftbench.cli.main import main
    from ftbench.eval import orchestrator

    captured: dict = {}
    monkeypatch.setattr(orchestrator, "evaluate_models", _settings(captured))
    (tmp_path / "m").mkdir()
    rc = main(["eval", "--models", f"m={tmp_path / 'm'}", "--out", str(tmp_path / "r"), *flags])
    assert rc == 2
    got = captured["settings"]
    assert {k: getattr(got, k) for k in expected} == expected


def test_the_default_is_stated_in_the_help(capsys):
    from ftbench.cli.main import main

    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--apply-chat-template, --no-apply-chat-template" in text
    assert "(default: apply;" in text
    assert "--system-instruction TEXT" in text and "--fewshot-as-multiturn" in text


def test_switches_count_for_reuse_only_when_set():
    plain = EvalSettings(tasks=["bmw_type"])
    assert "system_instruction" not in plain.for_index("hf")  # older results stay reusable
    assert "fewshot_as_multiturn" not in plain.for_index("hf")
    told = EvalSettings(tasks=["bmw_type"], system_instruction="Be brief.",
                        fewshot_as_multiturn=False)
    assert told.for_index("hf")["system_instruction"] == "Be brief."
    assert told.prompt_switches() == {"system_instruction": "Be brief.",
                                      "fewshot_as_multiturn": False}
    assert EvalSettings(tasks=["bmw_type"], apply_chat_template=False).for_index("hf")[
        "apply_chat_template"] is False


def test_the_switches_reach_lm_eval_only_when_set(tmp_path, monkeypatch):
    seen: list[dict] = []

    def fake_evaluate_to_files(lm, task, directory, before_write=None, **kwargs):
        seen.append(kwargs)
        raise RuntimeError("captured")

    monkeypatch.setattr(worker.lm_eval_glue, "evaluate_to_files", fake_evaluate_to_files)
    run = worker.ModelRun(lm=None, context=type("C", (), {"tokens": 64})(), threads={}, tm=None,
                          tokenizer=None)
    for switches in ({}, {"system_instruction": "Be brief.", "fewshot_as_multiturn": False}):
        job = WorkerJob(spec=ModelSpec("m", "/models/m"), tasks=["bmw_type"],
                        model_dir=tmp_path, backend="hf", **switches)
        with pytest.raises(RuntimeError, match="captured"):
            worker.evaluate_task(run, job, "bmw_type")
    assert "system_instruction" not in seen[0] and "fewshot_as_multiturn" not in seen[0]
    assert seen[1]["system_instruction"] == "Be brief."
    assert seen[1]["fewshot_as_multiturn"] is False


def test_multiturn_few_shot_without_the_template_is_refused_as_lm_eval_does(tmp_path, capsys):
    from ftbench.cli.main import main

    (tmp_path / "m").mkdir()
    rc = main(["eval", "--models", f"m={tmp_path / 'm'}", "--out", str(tmp_path / "r"),
               "--backend", "hf", "--no-apply-chat-template", "--fewshot-as-multiturn"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2 and len(err) == 1 and "fewshot_as_multiturn needs the chat template" in err[0]


def _docs_lm_eval_example() -> list[str]:
    text = (REPO / "docs" / "training.md").read_text()
    found = re.search(r"`(lm_eval --model hf --model_args pretrained=<run>/merged[^`]*)`", text)
    assert found, "docs/training.md: the stock lm_eval example is gone"
    return shlex.split(found.group(1))[1:]


def test_the_docs_stock_lm_eval_example_builds_its_model(tiny_model):
    """The example runs as lm-eval's own CLI would: its config from the same argv, then the model
    built with the same arguments `simple_evaluate` passes (a `device=` inside --model_args
    collided with lm-eval's own --device: "got multiple values for keyword argument")."""
    from lm_eval._cli import HarnessCLI
    from lm_eval.api.registry import get_model
    from lm_eval.config.evaluate_config import EvaluatorConfig

    argv = [a.replace("<run>/merged", str(tiny_model)) for a in _docs_lm_eval_example()]
    cli = HarnessCLI()
    cfg = EvaluatorConfig.from_cli(cli._parser.parse_args(["run", *argv]))
    lm = get_model(cfg.model).create_from_arg_obj(
        cfg.model_args, {"batch_size": cfg.batch_size, "max_batch_size": cfg.max_batch_size,
                         "device": cfg.device})
    assert str(lm.device) == "cpu"
