"""The chat tasks through lm-eval's own task loader: the held-out rows of the bundled sample, the
row's system message as the task description, and the per-answer scores on canned answers."""

from __future__ import annotations

import math

import pytest
from file_modules import load_file

from ftbench.core.paths import TASKS_DIR
from ftbench.eval.tasks import expand_tasks, task_manager
from ftbench.metrics import keyword_overlap, rouge_scores
from ftbench.suites.chat.prepare import prepare_rows
from ftbench.suites.chat.resources import SAMPLE_CHAT, SAMPLE_PREPARE
from ftbench.suites.layout import PrepareSettings

utils = load_file(TASKS_DIR / "chat" / "utils.py", "chat_task_utils")


@pytest.fixture(scope="module")
def tasks():
    tm = task_manager(TASKS_DIR, {})
    assert expand_tasks(["chat"], tm) == ["chat_answer", "chat_perplexity"]
    return tm.load(["chat"])["tasks"]


def test_the_tasks_read_the_held_out_sample_rows_with_their_own_system_message(tasks):
    held_out = prepare_rows(SAMPLE_CHAT, PrepareSettings(**SAMPLE_PREPARE)).test
    for name in ("chat_answer", "chat_perplexity"):
        docs = list(tasks[name].test_docs())
        assert [d["id"] for d in docs] == [r["id"] for r in held_out]
    task = tasks["chat_answer"]
    with_system = next(d for d in task.test_docs() if d["system"])
    without = next(d for d in task.test_docs() if not d["system"])
    prompt = task.fewshot_context(with_system, 0)
    assert prompt.startswith(with_system["system"]) and prompt.endswith(with_system["input"])
    assert task.fewshot_context(without, 0) == without["input"]
    assert task.doc_to_target(with_system) == with_system["target"]


def test_answers_are_scored_after_reasoning_and_template_residue_are_stripped():
    doc = {"target": "The Pacific Ocean is the largest ocean."}
    out = utils.process_answer(doc, ["<think>Atlantic? no.</think>The Pacific Ocean is the "
                                     "largest ocean.<|im_end|>extra turn"])
    assert out["exact_match"] == 1.0 and out["keyword_overlap"] == 1.0
    assert out["rougeL"] == pytest.approx(1.0) and out["unparseable"] == 0.0
    assert out["bertscore_f1"] == (doc["target"], "The Pacific Ocean is the largest ocean.")
    other = utils.process_answer(doc, ["Oceans are large."])
    assert other["keyword_overlap"] == pytest.approx(keyword_overlap(doc["target"],
                                                                     "Oceans are large."))
    assert other["rouge1"] == pytest.approx(rouge_scores(doc["target"],
                                                         "Oceans are large.")["rouge1"])
    assert other["exact_match"] == 0.0 and other["pred_words"] == 3
    empty = utils.process_answer(doc, ["<think>unfinished"])
    assert empty["unparseable"] == 1.0 and empty["keyword_overlap"] == 0.0


def test_perplexity_pairs_are_the_loglikelihood_over_the_reference_words_and_bytes():
    doc = {"target": "Ottawa is the capital."}
    out = utils.process_perplexity(doc, [(-8.0, False)])
    assert out["word_perplexity"] == (-8.0, 4) and out["byte_perplexity"] == (-8.0, 22)
    assert out["loglikelihood"] == -8.0
    from lm_eval.api.metrics import weighted_perplexity

    assert weighted_perplexity([out["word_perplexity"]]) == pytest.approx(math.exp(2.0))
