"""Model specs (ftbench/eval/specs.py): the `--models` list, per-model prompt settings
(chat_template, add_bos_token) through parsing, model_args, the study config, and what an
evaluation records and refuses."""

from __future__ import annotations

import json
import os

import pytest
from rich.console import Console

from ftbench.core.io import InputError
from ftbench.eval.orchestrator import EvalSettings, evaluate_models
from ftbench.eval.results_files import completed_tasks
from ftbench.eval.specs import ModelSpec, parse_model_list, parse_model_spec


def _quiet() -> Console:
    return Console(file=open(os.devnull, "w"), width=120)


def test_parse_model_list():
    specs = parse_model_list("a=/x/y,b=/base::/adapter,/some/dir/c")
    assert [s.name for s in specs] == ["a", "b", "c"]
    assert specs[1].adapter == "/adapter"
    assert specs[1].model_args("hf", True)["peft"] == "/adapter"
    assert specs[1].model_args("vllm", True)["lora_local_path"] == "/adapter"
    with pytest.raises(ValueError, match="duplicate"):
        parse_model_list("a=/x,a=/y")


def test_options_after_the_path():
    a, b, c = parse_model_list("a=/m[chat_template=none,add_bos_token=true],"
                               "b=/base::/ad[add_bos_token=false],c=/plain")
    assert (a.pretrained, a.chat_template, a.add_bos_token) == ("/m", "none", True)
    assert (b.adapter, b.chat_template, b.add_bos_token) == ("/ad", "auto", False)
    assert (c.chat_template, c.add_bos_token) == ("auto", None)
    assert a.model_args("hf", True)["add_bos_token"] is True
    assert b.model_args("vllm", True)["add_bos_token"] is False
    assert "add_bos_token" not in c.model_args("hf", True)  # the tokenizer's own default


@pytest.mark.parametrize("text", ["a=/m[chat_template=maybe]", "a=/m[add_bos_token=yes]",
                                  "a=/m[temperature=0]"])
def test_bad_options_are_input_errors(text):
    with pytest.raises(InputError, match="model"):
        parse_model_spec(text)


def test_study_models_carry_prompt_settings_to_their_runs(tmp_path):
    from ftbench.pipelines.study_config import load_study_config

    cfg_path = tmp_path / "s.yaml"
    cfg_path.write_text(
        "name: s\nout_dir: " + str(tmp_path / "w") + "\n"
        "data: {source: x.jsonl, sizes: [16]}\n"
        "models:\n  - {name: m, path: " + str(tmp_path) + ", chat_template: none, "
        "add_bos_token: true}\n")
    cfg = load_study_config(cfg_path)
    (run,) = cfg.runs()
    assert (run.chat_template, run.add_bos_token) == ("none", True)
    (base,) = cfg.model_specs()
    assert (base.name, base.chat_template, base.add_bos_token) == ("m-base", "none", True)


def test_study_names_a_missing_model_package(tmp_path, monkeypatch):
    from ftbench.core import model_sources as ms
    from ftbench.pipelines.study_config import load_study_config

    monkeypatch.setitem(ms.MODEL_ALIASES, "nomodel", ms.PackagedModel(
        "nomodel", "-", package="no-such-model-pkg", version="1.0", module="no_such_pkg_q",
        gguf="m.gguf"))
    cfg_path = tmp_path / "s.yaml"
    cfg_path.write_text("name: s\ndata: {source: x.jsonl}\nmodels:\n  - {name: m, path: nomodel}\n")
    with pytest.raises(InputError, match=r"s\.yaml: config key 'models\.path': .*pip install"):
        load_study_config(cfg_path)


@pytest.mark.slow
def test_chat_template_none_gives_plain_prompts_and_is_never_mixed(tiny_model, tmp_path):
    """The tiny model has a chat template: `auto` applies it, `none` sends lm-eval's plain
    prompt; the results record which; re-using a model name with other settings is refused."""
    specs = [ModelSpec("chat", str(tiny_model)),
             ModelSpec("plain", str(tiny_model), chat_template="none", add_bos_token=False)]
    out = tmp_path / "study"
    settings = EvalSettings(tasks=["bmw_type"], backend="hf", limit=2)
    index = evaluate_models(specs, settings, out, _quiet()).data
    assert all(m["status"] == "complete" for m in index["models"].values())
    for name, applied in (("chat", True), ("plain", False)):
        results = json.loads(completed_tasks(out / name)["bmw_type"].read_text())
        assert results["ftbench"]["chat_template_applied"] is applied
        sample = json.loads(next((out / name).glob("samples_bmw_type_*.jsonl")).open().readline())
        prompt = sample["arguments"]["gen_args_0"]["arg_0"]
        assert ("<|im_start|>" in prompt) is applied
        assert prompt.startswith("You are an expert") is not applied
    changed = [ModelSpec("plain", str(tiny_model), chat_template="none", add_bos_token=True)]
    with pytest.raises(InputError, match="model plain: .* made with prompt settings .*--force"):
        evaluate_models(changed, settings, out, _quiet())


def test_a_hub_model_spec_pins_its_revision():
    from ftbench.eval.specs import parse_model_spec

    spec = parse_model_spec("qwen=Qwen/Qwen3-0.6B[revision=v1.0,chat_template=none]")
    assert (spec.pretrained, spec.revision, spec.chat_template) == ("Qwen/Qwen3-0.6B", "v1.0",
                                                                    "none")
    assert spec.hub_revision() == "v1.0"
    assert parse_model_spec("b=org/x").hub_revision() is None
