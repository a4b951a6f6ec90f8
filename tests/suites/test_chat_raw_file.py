"""`ftbench eval --tasks chat --metadata '{"chat_data": FILE}'` on a raw chat file: the file is
the whole test set, its content is in the fingerprint, and a bad row stops the command with
`FILE:LINE` before any model loads."""

from __future__ import annotations

import json

from cli_helpers import in_process, one_line_error

from ftbench.core.io import sha256_file
from ftbench.eval.results_files import ftbench_block, samples_file
from ftbench.suites.chat import rows as chat_rows
from ftbench.suites.chat.formats import read_chat_file
from ftbench.suites.sources import eval_data_fingerprint

ROWS = [
    {"id": "a1", "category": "geo", "topic": "capitals",
     "messages": [{"role": "user", "content": "What is the capital of France?"},
                  {"role": "assistant", "content": "Paris is the capital of France."}]},
    {"id": "a2", "category": "geo",
     "messages": [{"role": "system", "content": "Answer in one sentence."},
                  {"role": "user", "content": "Which ocean is the largest?"},
                  {"role": "assistant", "content": "The Pacific Ocean is the largest."}]},
    {"id": "a3", "messages": [{"role": "user", "content": "Name a prime number."},
                              {"role": "assistant", "content": "Seven is a prime number."}]},
]


def _write(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_a_raw_file_is_taken_whole_and_its_content_is_its_identity(tmp_path):
    raw = _write(tmp_path / "my_chats.jsonl", ROWS)
    rows = chat_rows.test_rows("answer", raw)
    assert [r["id"] for r in rows] == ["a1", "a2", "a3"]  # nothing held out, nothing dropped
    assert rows == read_chat_file(raw)[1]
    assert (rows[0]["category"], rows[0]["topic"], rows[2]["topic"]) == ("geo", "capitals", "")
    found = eval_data_fingerprint({"chat_data": raw}, ["chat_answer"])["chat"]
    assert found["sha256"] == sha256_file(raw) and found["rows"] == 3
    assert "taken whole as the test set" in found["read_as"] and found["shape"] == "openai"
    edited = [{**ROWS[0], "messages": [ROWS[0]["messages"][0],
                                       {"role": "assistant", "content": "Paris."}]}, *ROWS[1:]]
    _write(tmp_path / "my_chats.jsonl", edited)
    again = eval_data_fingerprint({"chat_data": raw}, ["chat_answer"])["chat"]
    assert again["sha256"] != found["sha256"]


def test_a_bad_row_is_one_line_naming_file_and_line_before_any_model_loads(
        tmp_path, capsys, tiny_model_quick):
    bad = [ROWS[0], {"id": "a2", "conversations": [{"from": "human", "value": "Hi"},
                                                   {"from": "gpt", "value": "Hello."}]}]
    raw = _write(tmp_path / "mixed.jsonl", bad)
    out = tmp_path / "results"
    outcome = in_process(capsys, "eval", "--models", f"tiny={tiny_model_quick}", "--tasks",
                         "chat", "--metadata", json.dumps({"chat_data": raw}), "--out", out)
    one_line_error(outcome, f"{raw}:2", "one shape per file")
    assert not (out / "tiny").exists()  # nothing was evaluated


def test_eval_on_a_raw_file_scores_every_row_and_records_the_file(tmp_path, capsys,
                                                                  tiny_model_quick):
    raw = _write(tmp_path / "my_chats.jsonl", ROWS)
    out = tmp_path / "results"
    outcome = in_process(capsys, "eval", "--models", f"tiny={tiny_model_quick}", "--tasks",
                         "chat_answer", "--metadata", json.dumps({"chat_data": raw}),
                         "--max-gen-toks", "8", "--out", out)
    assert outcome.rc == 0, outcome.err[-2000:]
    logged = [json.loads(line) for line in samples_file(out / "tiny", "chat_answer").open()]
    assert [s["doc"]["id"] for s in logged] == ["a1", "a2", "a3"]
    assert [(s["doc"]["category"], s["doc"]["topic"]) for s in logged] == [
        ("geo", "capitals"), ("geo", ""), ("", "")]
    assert all(0 <= s["keyword_overlap"] <= 1 for s in logged)  # per-item scores reach the log
    results = next((out / "tiny").glob("results_*.json"))
    block = ftbench_block(results)
    data = block["data_fingerprint"]["chat"]
    assert data["sha256"] == sha256_file(raw) and data["path"] == raw
    assert block["budgets"] == {"chat_answer": {"max_gen_toks": 8, "from": "eval.max_gen_toks"}}
    assert block["generation"]["chat_answer"]["max_gen_toks"] == 8
