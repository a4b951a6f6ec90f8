"""One model load per base (ftbench/eval/shared_base.py): the base loads once for its adapters,
each adapter scores as its merged checkpoint, and a failing adapter fails alone."""

from __future__ import annotations

import io
import math
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from ftbench.eval.orchestrator import EvalSettings, evaluate_models
from ftbench.eval.results_files import task_metrics
from ftbench.eval.shared_base import order_by_base
from ftbench.eval.specs import ModelSpec

TASKS = ["bmw_type", "bmw_type_mc", "bmw_perplexity"]


def test_order_groups_by_base_in_first_appearance_and_puts_the_base_first():
    specs = [ModelSpec("a1", "A", adapter="x"), ModelSpec("b", "B"), ModelSpec("a", "A"),
             ModelSpec("b1", "B", adapter="y"), ModelSpec("a2", "A", adapter="z")]
    ordered = order_by_base(specs, lambda s: s.pretrained)
    assert [s.name for s in ordered] == ["a", "a1", "a2", "b", "b1"]


@pytest.fixture(scope="module")
def artefacts(tiny_model, tiny_adapter, tmp_path_factory) -> dict[str, Path]:
    """The adapter merged into its base (what `train.merge: true` writes), and the adapter
    made for another base: its LoRA matrices of another hidden size."""
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root = tmp_path_factory.mktemp("shared-base")
    merged = root / "merged"
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    PeftModel.from_pretrained(base, str(tiny_adapter)).merge_and_unload().save_pretrained(merged)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(merged)
    other = root / "other-base-adapter"
    shutil.copytree(tiny_adapter, other)
    weights = other / "adapter_model.safetensors"
    tensors = load_file(weights)
    save_file({k: (v[:, : v.shape[1] // 2].contiguous() if "lora_A" in k else v)
               for k, v in tensors.items()}, weights)
    return {"merged": merged, "other": other}


def _evaluate(models, out) -> dict:
    settings = EvalSettings(tasks=TASKS, backend="hf", limit=3)
    return evaluate_models(models, settings, out, Console(file=io.StringIO())).data


@pytest.mark.slow
def test_one_load_per_base_same_metrics_as_merged_and_a_bad_adapter_fails_alone(
        tiny_model, tiny_adapter, artefacts, tmp_path, model_loads):
    base, lora = str(tiny_model), str(tiny_adapter)
    models = [ModelSpec("lora-a", base, adapter=lora),
              ModelSpec("merged", str(artefacts["merged"])),
              ModelSpec("wrong-base", base, adapter=str(artefacts["other"])),
              ModelSpec("base", base),
              ModelSpec("lora-b", base, adapter=lora)]
    index = _evaluate(models, tmp_path / "out")
    # tiny: once for base, lora-a, wrong-base and lora-b; the merged checkpoint: once
    assert sorted(model_loads) == sorted([base, str(artefacts["merged"])])
    status = {n: m["status"] for n, m in index["models"].items()}
    assert status == {"lora-a": "complete", "merged": "complete", "wrong-base": "failed",
                      "base": "complete", "lora-b": "complete"}
    assert "size mismatch" in index["models"]["wrong-base"]["error"]
    assert {n: index["models"][n]["base_load"]["load"] for n in ("base", "lora-a", "lora-b")} \
        == {"base": 1, "lora-a": 1, "lora-b": 1}
    metrics = {n: task_metrics(tmp_path / "out" / n) for n in ("base", "lora-a", "lora-b",
                                                               "merged")}
    # the second adapter swapped in after a failed one scores exactly as the first
    assert metrics["lora-a"] == metrics["lora-b"]
    _assert_same(metrics["lora-a"], metrics["merged"])
    assert (metrics["lora-a"]["bmw_perplexity"]["word_perplexity"]
            != metrics["base"]["bmw_perplexity"]["word_perplexity"])  # the adapter was active


@pytest.mark.slow
def test_a_first_adapter_that_spoils_its_base_makes_the_next_model_reload_it(
        tiny_model, tiny_adapter, artefacts, tmp_path, model_loads):
    """An adapter that fails while wrapping the bare base leaves layers in it: the next model
    gets the base loaded again, never weights a failed adapter touched."""
    base = str(tiny_model)
    models = [ModelSpec("wrong-base", base, adapter=str(artefacts["other"])),
              ModelSpec("lora", base, adapter=str(tiny_adapter)),
              ModelSpec("merged", str(artefacts["merged"]))]
    index = _evaluate(models, tmp_path / "out")
    assert index["models"]["wrong-base"]["status"] == "failed"
    assert model_loads.count(base) == 2
    assert index["models"]["lora"]["base_load"]["load"] == 2
    _assert_same(task_metrics(tmp_path / "out" / "lora"),
                 task_metrics(tmp_path / "out" / "merged"))


def _assert_same(adapter: dict, merged: dict) -> None:
    """Greedy answers and choices identical; perplexity equal to float32 rounding (an unmerged
    LoRA adds x·B·A to x·W instead of multiplying by W + B·A)."""
    assert adapter.keys() == merged.keys()
    for task in adapter:
        for metric, value in adapter[task].items():
            if "perplexity" in metric or "bits_per_byte" in metric:
                assert value == pytest.approx(merged[task][metric], rel=1e-5), (task, metric)
            elif not (math.isnan(value) and math.isnan(merged[task][metric])):  # nan: no item
                assert value == merged[task][metric], (task, metric)
