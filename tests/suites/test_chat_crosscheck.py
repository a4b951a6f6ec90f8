"""Cross-check on real data: the BMW suite's prepared train rows are chat rows; read by the chat
suite they give the same prompt and reference, and the same answers score the same ROUGE through
both suites' scoring functions (one metric implementation, ftbench/metrics/text.py)."""

from __future__ import annotations

import json

import pytest
from file_modules import load_file

from ftbench.core.io import read_jsonl
from ftbench.core.paths import TASKS_DIR
from ftbench.suites.chat import rows as chat_rows

bmw_utils = load_file(TASKS_DIR / "bmw" / "utils.py", "bmw_task_utils_crosscheck")
chat_utils = load_file(TASKS_DIR / "chat" / "utils.py", "chat_task_utils_crosscheck")
SAME = ("rouge1", "rouge2", "rougeL", "pred_words", "length_ratio", "unparseable",
        "bertscore_precision", "bertscore_recall", "bertscore_f1")


@pytest.mark.parametrize("task", ["summarization", "title"])
def test_bmw_rows_through_the_chat_suite_score_the_same_rouge(bmw500_prepared, tmp_path, task):
    bmw = [r for r in read_jsonl(bmw500_prepared / "train_100.jsonl") if r["task"] == task][:12]
    assert len(bmw) == 12
    raw = tmp_path / f"bmw_{task}_as_chat.jsonl"  # the rows as they are, OpenAI shape
    raw.write_text("".join(json.dumps({"id": r["id"], "messages": r["messages"]}) + "\n"
                           for r in bmw), encoding="utf-8")
    chat = chat_rows.test_rows("answer", str(raw))
    assert [c["id"] for c in chat] == [r["id"] for r in bmw]
    # answers: real texts of the same kind (the next article's reference), and one exact copy
    references = [r["messages"][-1]["content"] for r in bmw]
    answers = [*references[1:], references[0]][:-1] + [references[-1]]
    for row, doc, answer in zip(bmw, chat, answers, strict=True):
        system, user, assistant = row["messages"]
        assert (doc["system"], doc["input"], doc["target"]) == (
            system["content"], user["content"], assistant["content"])
        via_bmw = bmw_utils.process_generation({"target": assistant["content"]}, [answer])
        via_chat = chat_utils.process_answer(doc, [answer])
        assert {k: via_chat[k] for k in SAME} == {k: via_bmw[k] for k in SAME}
    assert via_chat["rougeL"] == pytest.approx(1.0)  # the exact copy
    scores = [chat_utils.process_answer(d, [a])["rouge1"] for d, a in zip(chat, answers)]
    assert max(scores[:-1]) < 1 and len(set(scores)) > 3  # other articles' texts: real, varied
