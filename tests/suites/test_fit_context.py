"""Prompts are fitted to the model's context inside the article text: instructions always survive."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ftbench.core.paths import TASKS_DIR
from ftbench.suites.bmw.prepare import article_rows
from ftbench.suites.bmw.resources import BMW_TASKS_DIR
from ftbench.suites.bmw.schema import load_articles
from ftbench.suites.fit_context import (
    REMOVED_KEY,
    fit_rows,
    n_tokens,
    prompt_tokens,
    safety_margin,
    task_shape,
)

CONTEXT = 1024  # leaves room for budgets up to ~800 tokens (the study used 512)


@pytest.fixture(scope="module")
def articles(bmw_raw):
    """Real articles, longest first."""
    arts, _ = load_articles(bmw_raw)
    return sorted(arts, key=lambda a: -len(a.content))


def _row(article, task: str) -> dict:
    rows, _ = article_rows(article, None)
    return next(r for r in rows if r["task"] == task)


def _meta(tiny_model, task_file: str, context: int | None = CONTEXT) -> dict:
    meta = {"pretrained": str(tiny_model), "config_source": str(BMW_TASKS_DIR / task_file),
            "version": 1.0}
    if context:
        meta["max_length"] = context
    return meta


def _instruction(shape, doc: dict) -> str:
    """The user turn's text before the article: the task instruction."""
    return shape.user({**doc, "input": "\x00"}).split("\x00")[0].strip()


def _tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.mark.parametrize(("task", "task_file"), [("title", "bmw_title.yaml"),
                                                 ("summarization", "bmw_summarization.yaml"),
                                                 ("type", "bmw_type_mc.yaml")])
def test_long_article_is_cut_at_its_end_and_the_prompt_fits(tiny_model, articles, task, task_file):
    row = _row(articles[0], task)  # the longest real article: ~9k tokens for this tokenizer
    (doc,) = fit_rows([row], _meta(tiny_model, task_file))
    tok = _tokenizer(tiny_model)
    shape = task_shape(str(BMW_TASKS_DIR / task_file))
    system, user = shape.system(doc), shape.user(doc)

    assert doc[REMOVED_KEY] > 1000
    assert row["input"].startswith(doc["input"]) and len(doc["input"]) < len(row["input"])
    assert doc[REMOVED_KEY] == n_tokens(tok, row["input"]) - n_tokens(tok, doc["input"])
    # the prompt lm-eval will build keeps the system prompt and the instruction, and fits
    chat = tok.apply_chat_template([{"role": "system", "content": system},
                                    {"role": "user", "content": user}],
                                   tokenize=False, add_generation_prompt=True)
    assert system and system in chat
    instruction = _instruction(shape, doc)
    assert len(instruction) > 20 and instruction in chat
    budget, margin = shape.budget(tok), safety_margin(CONTEXT)
    used = n_tokens(tok, chat) + budget
    assert used <= CONTEXT - margin
    assert used > CONTEXT - margin - 20  # cut at a word boundary, not far more than needed


def test_short_article_is_left_alone(tiny_model, articles):
    row = _row(articles[-1], "title")
    tok = _tokenizer(tiny_model)
    shape = task_shape(str(BMW_TASKS_DIR / "bmw_title.yaml"))
    assert prompt_tokens(tok, shape.system(row), shape.user(row)) < 300
    (doc,) = fit_rows([row], _meta(tiny_model, "bmw_title.yaml"))
    assert doc[REMOVED_KEY] == 0 and doc["input"] == row["input"]


def test_without_override_the_models_own_context_is_used(tiny_model, articles):
    row = _row(articles[0], "title")
    (doc,) = fit_rows([row], _meta(tiny_model, "bmw_title.yaml", context=None))
    tok = _tokenizer(tiny_model)
    shape = task_shape(str(BMW_TASKS_DIR / "bmw_title.yaml"))
    used = prompt_tokens(tok, shape.system(doc), shape.user(doc)) + shape.budget(tok)
    assert 2048 - safety_margin(2048) - 20 < used <= 2048 - safety_margin(2048)


def test_context_too_small_for_the_instructions_is_refused(tiny_model, articles):
    with pytest.raises(ValueError, match="without any article text needs"):
        fit_rows([_row(articles[0], "summarization")],
                 _meta(tiny_model, "bmw_summarization.yaml", context=64))


def test_no_model_in_metadata_leaves_rows_unfitted(articles, caplog):
    row = _row(articles[0], "title")
    out = fit_rows([row], {"config_source": str(BMW_TASKS_DIR / "bmw_title.yaml")})
    assert out == [row] and REMOVED_KEY not in out[0]
    assert "not fitted" in caplog.text


def test_perplexity_rows_are_not_cut(tiny_model, bmw500_prepared):
    from ftbench.suites.bmw.task_rows import test_rows

    rows = test_rows("perplexity", str(bmw500_prepared))
    assert fit_rows(rows, _meta(tiny_model, "bmw_perplexity.yaml")) == rows


@pytest.mark.slow
def test_stock_lm_eval_cli_fits_prompts_from_model_args(tiny_model, bmw500_prepared, tmp_path):
    """`lm_eval --model_args pretrained=…,max_length=512`: the loader gets the model from lm-eval's
    metadata, so lm-eval never has to cut a prompt from the left."""
    env = {**os.environ, "FTBENCH_BMW_DATA": str(bmw500_prepared)}
    cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf", "--model_args",
           f"pretrained={tiny_model},dtype=float32,max_length={CONTEXT}", "--device", "cpu",
           "--include_path", str(TASKS_DIR), "--tasks", "bmw_title,bmw_type_mc", "--limit", "4",
           "--apply_chat_template", "--log_samples", "--output_path", str(tmp_path / "out")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Truncating" not in proc.stderr and "exceeds model's maximum length" not in proc.stderr
    tok = _tokenizer(tiny_model)
    (title,) = list((tmp_path / "out").rglob("samples_bmw_title_*.jsonl"))
    samples = [json.loads(line) for line in title.open()]
    assert sum(s["doc"][REMOVED_KEY] > 0 for s in samples) >= 3  # real articles are long
    shape = task_shape(str(BMW_TASKS_DIR / "bmw_title.yaml"))
    budget = shape.budget(tok)
    for s in samples:
        prompt = s["arguments"]["gen_args_0"]["arg_0"]
        assert prompt.startswith("<|im_start|>system\n" + shape.system(s["doc"]))
        assert _instruction(shape, s["doc"]) in prompt
        assert n_tokens(tok, prompt) + budget <= CONTEXT
