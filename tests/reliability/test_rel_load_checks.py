"""Everything checkable is checked at load, before any output folder is claimed: data sources,
the data the tasks read (a hub dataset offline), each model folder's files, the config file
itself. Each case is one line, exit 2, and no `out_dir` / `--out` left behind (ftbench's `main`
in this process: what is tested is the check, not the import)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from cli_helpers import SAMPLE, in_process, one_line_error


def study_yaml(root: Path, model: Path, **patch) -> Path:
    """A small study config over the bundled sample whose out_dir is root/out."""
    cfg = {"name": "s", "out_dir": str(root / "out"),
           "data": {"source": str(SAMPLE), "sizes": [16], "test_size": 16},
           "models": [{"name": "tiny", "path": str(model)}],
           "train": {"method": "lora", "backend": "peft", "max_steps": 1},
           "eval": {"tasks": ["bmw_type"], "backend": "hf", "limit": 1}}
    for key, value in patch.items():
        group, _, sub = key.partition("__")
        if sub:
            cfg[group][sub] = value
        else:
            cfg[group] = value
    path = root / "s.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("patch, needles", [
    ({"data__source": "{folder}"}, ["config key 'data.source'", "is a folder",
                                    "bmw_sample.jsonl"]),
    ({"data__source": "Alwin-Yang/bmw-articles"}, ["hub dataset 'Alwin-Yang/bmw-articles'",
                                                    "not in the Hugging Face cache"]),
    ({"data__source": "data/articles.jsonl"}, ["data/articles.jsonl not found",
                                               "working directory", "config file's folder"]),
    ({"eval__general_data": "no/such/dir", "eval__tasks": ["bmw_type", "general_small"]},
     ["'general_data': no/such/dir is not a folder"]),
    ({"eval__tasks": ["general_small"]}, ["task general_small_", "hub dataset 'cais/mmlu'",
                                          "not in the Hugging Face cache"]),
    ({"eval__tasks": ["bmw_type", "glue_small_rte_gen"]},
     ["task glue_small_rte_gen", "hub dataset 'nyu-mll/glue' (config 'rte')",
      "not in the Hugging Face cache"]),
])
def test_study_data_is_checked_before_out_dir(tmp_path, capsys, monkeypatch, tiny_model,
                                              patch, needles):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.delenv("FTBENCH_GENERAL_DATA", raising=False)
    monkeypatch.delenv("FTBENCH_GLUE_DATA", raising=False)
    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copy(SAMPLE, folder)
    patch = {k: (v.format(folder=folder) if isinstance(v, str) else v) for k, v in patch.items()}
    config = study_yaml(tmp_path, tiny_model, **patch)
    line = one_line_error(in_process(capsys, "study", config), str(config), *needles)
    assert not (tmp_path / "out").exists(), line
    assert not list((tmp_path / "articles").glob("*.lock")), "the HF cache was not written into"


@pytest.mark.parametrize("task, hub", [
    ("general_small_gsm8k", "hub dataset 'openai/gsm8k'"),
    ("glue_small_mnli_mismatched_gen_5shot", "hub dataset 'nyu-mll/glue' (config 'mnli')"),
])
def test_eval_of_hub_tasks_offline_stops_before_any_model(tmp_path, capsys, monkeypatch,
                                                          tiny_model, task, hub):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.delenv("FTBENCH_GENERAL_DATA", raising=False)
    monkeypatch.delenv("FTBENCH_GLUE_DATA", raising=False)
    out = tmp_path / "results"
    one_line_error(in_process(capsys, "eval", "--models", f"a={tiny_model}", "--tasks",
                              task, "--backend", "hf", "--out", out), f"task {task}", hub)
    assert not out.exists()


def test_glue_tasks_with_local_data_need_no_hub(monkeypatch, glue_dir):
    """The check asks the hub only for the data the tasks would read from it."""
    from ftbench.suites.sources import check_eval_data

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.delenv("FTBENCH_GLUE_DATA", raising=False)
    check_eval_data({"glue_data": str(glue_dir)}, ["glue_small_sst2", "glue_small_mnli_gen"])
    monkeypatch.setenv("FTBENCH_GLUE_DATA", str(glue_dir))
    check_eval_data(None, ["glue_small_rte_5shot"])


def _model_case(tmp_path: Path, tiny_model: Path, adapter_of: Path, case: str) -> Path:
    folder = tmp_path / case
    if case == "adapter":
        return adapter_of
    folder.mkdir()
    if case == "empty":
        return folder
    for f in tiny_model.iterdir():
        shutil.copy(f, folder)
    if case == "no-config":
        (folder / "config.json").unlink()
    elif case == "truncated":
        weights = folder / "model.safetensors"
        os.truncate(weights, weights.stat().st_size - 1000)
    elif case == "no-tokenizer":
        for f in folder.glob("tokenizer*"):
            f.unlink()
    elif case == "no-model-type":
        config = json.loads((folder / "config.json").read_text())
        del config["model_type"]
        (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory, tiny_model) -> Path:
    """A real LoRA adapter of the tiny model (peft's save_pretrained), untrained."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model),
                           LoraConfig(r=2, target_modules=["q_proj"]))
    out = tmp_path_factory.mktemp("lora") / "adapter"
    model.save_pretrained(out)
    return out


@pytest.mark.parametrize("case, needles", [
    ("empty", ["is an empty folder"]),
    ("no-config", ["config.json not found", "model.safetensors"]),
    ("no-model-type", ["config.json: key 'model_type' is missing"]),
    ("truncated", ["model.safetensors: truncated", "copy it again"]),
    ("no-tokenizer", ["has no tokenizer files", "tokenizer.json"]),
    ("adapter", ["is a LoRA adapter folder (adapter_config.json)", "::"]),
])
def test_model_folders_are_checked_before_any_work(tmp_path, capsys, tiny_model, adapter_dir,
                                                   case, needles):
    model = _model_case(tmp_path, tiny_model, adapter_dir, case)
    out = tmp_path / "results"
    line = one_line_error(in_process(capsys, "eval", "--models", f"m={model}", "--tasks",
                                     "bmw_type", "--backend", "hf", "--out", out),
                          "model m", *needles)
    assert not out.exists(), line
    if case == "adapter":  # pointed to the form that works, with the base it names
        assert f"{tiny_model.resolve()}::{model}" in line or f"::{model}" in line
    config = study_yaml(tmp_path, model)
    one_line_error(in_process(capsys, "study", config), "config key 'models.path'", *needles)
    assert not (tmp_path / "out").exists()


def test_an_adapter_folder_is_checked_as_an_adapter(tmp_path, adapter_dir):
    from ftbench.core.fingerprint import check_model_ref
    from ftbench.core.io import InputError

    check_model_ref(str(adapter_dir), "adapter", adapter=True)  # a real adapter passes
    shutil.copytree(adapter_dir, tmp_path / "a")
    adapter_dir = tmp_path / "a"
    (adapter_dir / "adapter_config.json").unlink()
    with pytest.raises(InputError, match="adapter_config.json not found"):
        check_model_ref(str(adapter_dir), "adapter", adapter=True)


def test_config_file_messages_are_in_the_users_words(tmp_path, capsys):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n\n")
    one_line_error(in_process(capsys, "study", empty), str(empty), "the config is empty")
    one_line_error(in_process(capsys, "study", tmp_path), str(tmp_path),
                   "is a folder, not a config file", "empty.yaml")
    partial = tmp_path / "partial.yaml"
    partial.write_text("name: s\n")
    line = one_line_error(in_process(capsys, "study", partial), "config key 'data' is required",
                          "also missing: models")
    assert "__init__" not in line and "positional" not in line, line
    missing = tmp_path / "nope.yaml"
    one_line_error(in_process(capsys, "study", missing), "config file not found",
                   "working directory")


def test_yaml_merge_keys_are_accepted_and_duplicates_still_refused(tmp_path):
    from ftbench.core.config import read_config
    from ftbench.core.io import InputError

    path = tmp_path / "s.yaml"
    path.write_text("x-common: &common\n  method: lora\n  learning_rate: 0.001\n"
                    "train:\n  <<: *common\n  learning_rate: 0.002\n")
    assert read_config(path) == {"train": {"method": "lora", "learning_rate": 0.002}}
    path.write_text("train:\n  method: lora\n  method: full\n")
    with pytest.raises(InputError, match=r"s.yaml:3: duplicate key 'method'"):
        read_config(path)


@pytest.mark.parametrize("asked, given, note", [(16, 16, False), (8, 10, True)])
def test_prepared_test_articles_are_the_asked_number_or_the_difference_is_said(
        tmp_path, capsys, asked, given, note):
    out = tmp_path / "prepared"
    run = in_process(capsys, "data", "prepare", SAMPLE, "--out", out, "--sizes", "16",
                     "--test-size", str(asked))
    assert run.rc == 0, run.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["articles"]["test"] == given
    said = f"asks for {asked} test articles; {given} given" in " ".join(run.out.split())
    assert said == note, run.out
