"""`ftbench data import-chat`: the study's chat JSONL splits back into the prepared layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftbench.cli.main import main as cli_main
from ftbench.core.io import InputError, read_jsonl
from ftbench.suites.bmw import task_rows
from ftbench.suites.bmw.chat_import import import_chat
from ftbench.suites.bmw.prepare import to_chat, write_prepared
from ftbench.suites.bmw.prompts import task_prompts


def _write_chat(path: Path, conversations: list[list[dict]]) -> Path:
    """The study's format: one {"messages": [...]} object per line, nothing else."""
    path.write_text("".join(json.dumps({"messages": m}, ensure_ascii=False) + "\n"
                            for m in conversations), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def study_split(bmw500_prepared, tmp_path_factory) -> tuple[Path, list[dict], list[dict]]:
    """The real 500 articles' prepared split, re-written in the study's chat format."""
    test = read_jsonl(bmw500_prepared / "test.jsonl")
    train = read_jsonl(bmw500_prepared / "train_100.jsonl")
    src = tmp_path_factory.mktemp("chat")
    _write_chat(src / "test_chat.jsonl",
                [to_chat(r)["messages"] for r in test if r["task"] != "perplexity"])
    _write_chat(src / "train_chat.jsonl", [r["messages"] for r in train])
    _write_chat(src / "val_chat.jsonl", [r["messages"] for r in train[:8]])
    return src, test, train


def test_round_trip_recovers_tasks_articles_tags_and_types(study_split, tmp_path):
    src, test, train = study_split
    out = tmp_path / "imported"
    assert cli_main(["data", "import-chat", str(src), "--out", str(out)]) == 0
    got = read_jsonl(out / "test.jsonl")
    manifest = json.loads((out / "manifest.json").read_text())

    def key(r):
        return (r["task"], r.get("input", r.get("text")), r.get("target"))

    original = {key(r): r for r in test}
    assert len(got) == len(test)
    ids = {}
    for row in got:
        before = original[key(row)]  # same task, same input (perplexity: same text), same answer
        assert row["type"] == before["type"]
        if row["task"] != "perplexity":
            # tags come back from the comma-joined answer (a tag containing ", " splits in two,
            # as it does when scored)
            assert row["tags"] == ", ".join(before["tags"]).split(", ")
        ids.setdefault(before["article_id"], set()).add(row["article_id"])
    # grouped back into the same articles: one imported id per original article, and vice versa
    assert all(len(v) == 1 for v in ids.values())
    assert len({next(iter(v)) for v in ids.values()}) == len(ids) == manifest["articles"]["test"]
    # train rows keep the study's messages byte for byte; the size is the article count
    imported_train = read_jsonl(out / "train_100.jsonl")
    assert [r["messages"] for r in imported_train] == [r["messages"] for r in train]
    assert manifest["sizes"]["100"] == {"requested": 100, "articles": 100, "rows": len(train)}
    assert any("val_chat.jsonl" in w for w in manifest["warnings"])
    assert manifest["leakage"]["summarization"]["n"] == manifest["test_rows_per_task"]["summarization"]
    # the tasks read the imported directory like a prepared one
    assert [r["id"] for r in task_rows.test_rows("type", str(out))] == [
        r["id"] for r in got if r["task"] == "type"]


def test_rows_map_to_tasks_by_system_prompt_not_keywords(tmp_path):
    prompts = task_prompts()
    content = "BMW names the topics of the year. The title of the talk: categories of design."
    summary = "Summary: a title and topics."

    def row(task, text, answer):
        return [{"role": "system", "content": prompts[task].system},
                {"role": "user", "content": prompts[task].render_user({"input": text})},
                {"role": "assistant", "content": answer}]

    src = _write_chat(tmp_path / "test_chat.jsonl", [
        row("summarization", content, summary),
        row("type", summary + content, "Speech"),
        row("title", summary + content, "Design talk"),
        row("tags", summary + content, "Design, Chassis, Suspension"),
    ])
    result = import_chat(src)
    rows = {r["task"]: r for r in result.test}
    assert set(rows) == {"summarization", "title", "tags", "type", "perplexity"}
    assert len({r["article_id"] for r in result.test}) == 1  # one article
    assert rows["summarization"]["input"] == content and rows["perplexity"]["text"] == content
    assert rows["title"]["input"] == summary + content
    assert rows["tags"]["tags"] == ["Design", "Chassis", "Suspension"]
    assert rows["title"]["type"] == "Speech"


def _bad(tmp_path: Path, messages) -> Path:
    good = [{"role": "system", "content": task_prompts()["type"].system},
            {"role": "user", "content": task_prompts()["type"].render_user({"input": "x"})},
            {"role": "assistant", "content": "Speech"}]
    return _write_chat(tmp_path / "test_chat.jsonl", [good, messages])


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda m: m[0].update(content="You are a helpful assistant."),
     "test_chat.jsonl:2: the system prompt 'You are a helpful assistant.' is none of the bmw"),
    (lambda m: m[1].update(content="Classify this article.\n\nx"),
     "test_chat.jsonl:2: the user message does not start with the type instruction"),
    (lambda m: m[2].update(content="Blog post"),
     "test_chat.jsonl:2: type answer 'Blog post' is not one of"),
    (lambda m: m.pop(), "test_chat.jsonl:2: field 'messages' must be"),
])
def test_rows_that_fit_no_task_name_file_and_line(tmp_path, capsys, mutate, message):
    msgs = [{"role": "system", "content": task_prompts()["type"].system},
            {"role": "user", "content": task_prompts()["type"].render_user({"input": "y"})},
            {"role": "assistant", "content": "Press Kit"}]
    mutate(msgs)
    src = _bad(tmp_path, msgs)
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        import_chat(src)
    assert cli_main(["data", "import-chat", str(src), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "test_chat.jsonl:2:" in err
    assert not (tmp_path / "o").exists()


def test_split_from_name_or_flag(tmp_path):
    src = _bad(tmp_path, [{"role": "system", "content": task_prompts()["type"].system},
                          {"role": "user",
                           "content": task_prompts()["type"].render_user({"input": "z"})},
                          {"role": "assistant", "content": "Press Kit"}])
    other = src.rename(tmp_path / "articles.jsonl")
    with pytest.raises(InputError, match="cannot tell whether this is a test or a train split"):
        import_chat(other)
    result = import_chat(other, split="train")
    assert not result.test and list(result.train) == [2]
    out = write_prepared(result, tmp_path / "prepared")
    assert sorted(p.name for p in out.iterdir()) == [".ftbench", "manifest.json", "test.jsonl",
                                                    "train_2.jsonl"]  # .ftbench: ownership
