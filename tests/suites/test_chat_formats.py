"""The chat suite reads OpenAI, ShareGPT and Alpaca JSONL into the same rows; a mixed or unknown
shape, or a malformed conversation, stops with FILE:LINE before anything is prepared."""

from __future__ import annotations

import json

import pytest

from ftbench.core.io import InputError, read_jsonl
from ftbench.suites.chat.formats import read_chat_file
from ftbench.suites.chat.prepare import prepare_rows
from ftbench.suites.layout import PrepareSettings

SYS = "Answer briefly."
OPENAI = [
    {"id": "q1", "category": "geo", "messages": [
        {"role": "system", "content": SYS}, {"role": "user", "content": "Capital of Canada?"},
        {"role": "assistant", "content": "Ottawa."}]},
    {"id": "q2", "messages": [
        {"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": "Apple."},
        {"role": "user", "content": "Another one?"}, {"role": "assistant", "content": "Pear."}]},
]
SHAREGPT = [
    {"id": "q1", "category": "geo", "conversations": [
        {"from": "system", "value": SYS}, {"from": "human", "value": "Capital of Canada?"},
        {"from": "gpt", "value": "Ottawa."}]},
    {"id": "q2", "conversations": [
        {"from": "human", "value": "Name a fruit."}, {"from": "gpt", "value": "Apple."},
        {"from": "human", "value": "Another one?"}, {"from": "gpt", "value": "Pear."}]},
]
ALPACA = [
    {"id": "q1", "category": "geo", "system": SYS, "instruction": "Capital of Canada?",
     "input": "", "output": "Ottawa."},
    {"id": "q2", "instruction": "Another one?", "output": "Pear.",
     "history": [["Name a fruit.", "Apple."]]},
]
EXPECTED = [
    {"id": "q1", "article_id": "q1", "task": "answer", "category": "geo", "topic": "",
     "system": SYS, "history": [], "input": "Capital of Canada?", "target": "Ottawa.",
     "turns": 1},
    {"id": "q2", "article_id": "q2", "task": "answer", "category": "", "topic": "", "system": "",
     "history": [{"role": "user", "content": "Name a fruit."},
                 {"role": "assistant", "content": "Apple."}],
     "input": "Another one?", "target": "Pear.", "turns": 3},
]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("shape, rows", [("openai", OPENAI), ("sharegpt", SHAREGPT),
                                         ("alpaca", ALPACA)])
def test_the_three_shapes_read_to_the_same_rows(tmp_path, shape, rows):
    assert read_chat_file(_write(tmp_path / "data.jsonl", rows)) == (shape, EXPECTED)


def test_alpaca_input_joins_the_instruction(tmp_path):
    path = _write(tmp_path / "a.jsonl", [{"instruction": "Translate.", "input": "Hallo",
                                          "output": "Hello"}])
    (_, [row]) = read_chat_file(path)
    assert (row["id"], row["input"], row["target"]) == ("a:1", "Translate.\n\nHallo", "Hello")


def test_a_mixed_file_names_file_and_line(tmp_path):
    path = _write(tmp_path / "mixed.jsonl", [OPENAI[0], OPENAI[1], ALPACA[0]])
    with pytest.raises(InputError) as err:
        read_chat_file(path)
    assert str(err.value).startswith(f"{path}:3: a alpaca row in a file of openai rows")


def test_an_unknown_shape_names_file_and_line(tmp_path):
    path = _write(tmp_path / "odd.jsonl", [SHAREGPT[0], {"question": "Q?", "answer": "A."}])
    with pytest.raises(InputError) as err:
        read_chat_file(path)
    assert str(err.value).startswith(f"{path}:2: unknown chat shape (keys: answer, question)")


@pytest.mark.parametrize("messages, needle", [
    ([{"role": "user", "content": "Q?"}], "end with an assistant turn"),
    ([{"role": "user", "content": "Q?"}, {"role": "tool", "content": "x"}], "roles must be"),
    ([{"role": "user", "content": "Q?"}, {"role": "user", "content": "Q2?"},
      {"role": "assistant", "content": "A."}], "must alternate"),
    ([{"role": "user", "content": "Q?"}, {"role": "assistant", "content": 3}],
     r"field 'messages\[1\]\.content': must be a string"),
    ([{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "  "}], "not be empty"),
])
def test_a_bad_conversation_names_file_line_and_field(tmp_path, messages, needle):
    path = _write(tmp_path / "bad.jsonl", [OPENAI[0], {"messages": messages}])
    with pytest.raises(InputError, match=needle) as err:
        read_chat_file(path)
    assert str(err.value).startswith(f"{path}:2: ")


def test_a_repeated_id_names_both_lines(tmp_path):
    path = _write(tmp_path / "dup.jsonl", [OPENAI[0], OPENAI[0]])
    with pytest.raises(InputError, match=r"dup.jsonl:2: field 'id': 'q1' repeats line 1"):
        read_chat_file(path)


def _qa(n, start=0):
    return [{"id": f"r{i}", "messages": [{"role": "user", "content": f"Question {i}?"},
                                         {"role": "assistant", "content": f"Answer {i}."}]}
            for i in range(start, start + n)]


def test_one_file_is_split_by_seed_into_nested_sizes_of_chat_rows(tmp_path):
    path = _write(tmp_path / "all.jsonl", [{**OPENAI[0], "id": "sys"}, *_qa(11)])
    result = prepare_rows(path, PrepareSettings(sizes=(4, 8), test_size=3, seed=1))
    test_ids = {r["id"] for r in result.test}
    train8 = {r["id"]: r for r in result.train[8]}
    assert len(test_ids) == 3 and len(train8) == 8 and not test_ids & set(train8)
    assert {r["id"] for r in result.train[4]} < set(train8)
    assert result.manifest["split"] == "seeded" and result.manifest["shapes"] == {
        str(path): "openai"}
    # train rows are the conversations as read: the system turn only where the data has one
    for rid, row in train8.items():
        assert row["messages"][-1]["role"] == "assistant"
        assert (row["messages"][0]["role"] == "system") == (rid == "sys")


def test_files_named_train_and_test_are_used_as_given(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    _write(folder / "my_test.jsonl", _qa(2))
    _write(folder / "my_train.jsonl", _qa(6, start=2))
    result = prepare_rows(folder, PrepareSettings(sizes=(3, 6), test_size=0.5, seed=0))
    assert {r["id"] for r in result.test} == {"r0", "r1"}
    assert {r["id"] for r in result.train[6]} == {f"r{i}" for i in range(2, 8)}
    assert len(result.train[3]) == 3 and result.manifest["split"] == "by file name"


def test_a_folder_split_by_name_refuses_an_unnamed_file(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    _write(folder / "test.jsonl", _qa(2))
    _write(folder / "extra.jsonl", _qa(2, start=2))
    with pytest.raises(InputError, match="extra.jsonl: its folder splits by file name"):
        prepare_rows(folder, PrepareSettings(sizes=(1,), seed=0))


def test_the_bundled_sample_is_openai_shaped_and_small(tmp_path):
    from ftbench.suites.registry import get_suite

    suite = get_suite("chat")
    shape, rows = read_chat_file(suite.raw_sample)
    assert shape == "openai" and 40 <= len(rows) <= 60
    assert all(r["category"] for r in rows) and any(r["system"] for r in rows)
    suite.prepare(suite.raw_sample, PrepareSettings(sizes=(8, 16), test_size=8, seed=2),
                  tmp_path / "prepared")
    test = read_jsonl(tmp_path / "prepared" / "test.jsonl")
    assert len(test) == 8 and {r["task"] for r in test} == {"answer"}


def test_an_unknown_sharegpt_speaker_names_the_field(tmp_path):
    row = {"conversations": [{"from": "narrator", "value": "Once"}, {"from": "gpt", "value": "x"}]}
    path = _write(tmp_path / "sg.jsonl", [row])
    with pytest.raises(InputError, match=r"sg.jsonl:1: field 'conversations\[0\]\.from' must be"):
        read_chat_file(path)


def test_a_study_prepares_the_same_data_from_each_shape(tmp_path):
    """The bundled sample rewritten as ShareGPT and as Alpaca: the study's data stage makes the
    same test rows and nested train chats from each, so the study that follows
    (tests/suites/test_chat_study.py, on the OpenAI file) is the same study."""
    from ftbench.suites.chat.resources import SAMPLE_CHAT

    rows = read_jsonl(SAMPLE_CHAT)
    speaker = {"system": "system", "user": "human", "assistant": "gpt"}
    sharegpt = [{"id": r["id"], "category": r["category"], "conversations": [
        {"from": speaker[m["role"]], "value": m["content"]} for m in r["messages"]]}
        for r in rows]
    alpaca = []
    for r in rows:
        said = {m["role"]: m["content"] for m in r["messages"]}
        assert len(r["messages"]) == len(said)  # one turn each: Alpaca holds it all
        alpaca.append({"id": r["id"], "category": r["category"], "instruction": said["user"],
                       "input": "", "output": said["assistant"],
                       **({"system": said["system"]} if "system" in said else {})})
    settings = PrepareSettings(sizes=(8, 16), test_size=8, seed=5)
    prepared = {shape: prepare_rows(_write(tmp_path / f"{shape}.jsonl", data), settings)
                for shape, data in (("openai", rows), ("sharegpt", sharegpt),
                                    ("alpaca", alpaca))}
    openai = prepared.pop("openai")
    for shape, result in prepared.items():
        assert shape in str(result.manifest["shapes"])
        assert result.test == openai.test, shape
        assert result.train == openai.train, shape
    assert len(openai.test) == 8 and len(openai.train) == 2
