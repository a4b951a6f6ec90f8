"""The chat answer budget from the data: the longest reference in the model's own tokens × the
margin, within floor and cap; `eval.max_gen_toks` overrides it; other tasks keep their YAML's."""

from __future__ import annotations

import json
import math

from ftbench.eval.generation import task_budget
from ftbench.suites.chat.budget import CAP, FLOOR, MARGIN, answer_budget


def _chat_file(path, answers) -> str:
    path.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": f"Question {i}?"},
        {"role": "assistant", "content": a}]}) + "\n" for i, a in enumerate(answers)),
        encoding="utf-8")
    return str(path)


def test_the_budget_is_the_longest_reference_in_model_tokens_times_the_margin(
        tmp_path, tiny_model_quick):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_quick))
    long_answer = " ".join(["The Pacific Ocean is the largest and deepest ocean."] * 4)
    raw = _chat_file(tmp_path / "qa.jsonl", ["Ottawa.", long_answer, "Seven."])
    longest = len(tok(long_answer, add_special_tokens=False)["input_ids"])
    assert longest > FLOOR  # the long answer sets the budget
    got = answer_budget("chat_answer", {"chat_data": raw}, tok)
    assert got == {"max_gen_toks": math.ceil(longest * MARGIN), "from": "data",
                   "longest_reference_tokens": longest, "references": 3, "margin": MARGIN,
                   "floor": FLOOR, "cap": CAP}
    short = _chat_file(tmp_path / "short.jsonl", ["Ottawa.", "Seven."])
    assert answer_budget("chat_answer", {"chat_data": short}, tok)["max_gen_toks"] == FLOOR
    huge = _chat_file(tmp_path / "huge.jsonl", ["word " * 2000])
    assert answer_budget("chat_answer", {"chat_data": huge}, tok)["max_gen_toks"] == CAP
    # through the evaluation's one budget rule: an explicit budget wins, the data's is next
    kwargs, how = task_budget("chat_answer", None, {"chat_data": raw}, tok)
    assert kwargs == {"max_gen_toks": got["max_gen_toks"]} and how == got
    kwargs, how = task_budget("chat_answer", {"chat_answer": 20}, {"chat_data": raw}, tok)
    assert kwargs == {"max_gen_toks": 20} and how["from"] == "eval.max_gen_toks"
    assert task_budget("chat_perplexity", None, {"chat_data": raw}, tok) == (None, None)
    assert task_budget("bmw_title", None, {}, tok) == (None, None)  # a suite without one


def test_prompts_are_fitted_leaving_room_for_the_data_budget(tmp_path, tiny_model_quick):
    from transformers import AutoTokenizer

    from ftbench.core.paths import TASKS_DIR
    from ftbench.suites.chat import rows as chat_rows
    from ftbench.suites.fit_context import REMOVED_KEY, fit_rows, prompt_tokens, safety_margin

    tok = AutoTokenizer.from_pretrained(str(tiny_model_quick))
    question = " ".join(f"Fact {i}: the ocean covers much of the planet." for i in range(120))
    reference = " ".join(["The Pacific Ocean is the largest and deepest ocean."] * 30)
    raw = tmp_path / "long.jsonl"
    raw.write_text(json.dumps({"messages": [{"role": "user", "content": question},
                                            {"role": "assistant", "content": reference}]})
                   + "\n", encoding="utf-8")
    budget = answer_budget("chat_answer", {"chat_data": str(raw)}, tok)["max_gen_toks"]
    assert budget > 256  # larger than the YAML's max_gen_toks
    meta = {"pretrained": str(tiny_model_quick), "max_length": 1024,
            "config_source": str(TASKS_DIR / "chat" / "chat_answer.yaml")}
    rows = chat_rows.test_rows("answer", str(raw))
    (yaml_fit,) = fit_rows(rows, meta)
    (data_fit,) = fit_rows(rows, meta, lambda t: budget)
    assert data_fit[REMOVED_KEY] > yaml_fit[REMOVED_KEY] > 0
    used = prompt_tokens(tok, "", data_fit["input"]) + budget
    assert used <= 1024 - safety_margin(1024)
