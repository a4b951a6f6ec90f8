"""Data preparation: article-level split without leaks, nested train sets, clear input errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftbench.cli.main import main as cli_main
from ftbench.core.io import InputError, read_jsonl
from ftbench.suites.bmw.prepare import content_key, prepare_file
from ftbench.suites.bmw.prompts import task_prompts


def _article(i: int, **over) -> dict:
    base = {
        "title": f"Title {i}", "date": "01.02.2025", "type": "Press Release",
        "summary": f"Summary of article {i}.", "tags": ["Sales Figures", "MINI"],
        "url": f"https://example.com/{i}", "content": f"Munich. Body text number {i} " * 20,
    }
    base.update(over)
    return base


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_real_corpus_split_has_no_leak_and_nested_train_sets(bmw500_prepared, bmw_raw):
    manifest = json.loads((bmw500_prepared / "manifest.json").read_text())
    test = read_jsonl(bmw500_prepared / "test.jsonl")
    test_ids = {r["article_id"] for r in test}
    raw = {json.loads(line)["url"]: json.loads(line) for line in bmw_raw.open()}
    test_content = {content_key(raw[r["url"]]["content"]) for r in test}
    previous: set[str] = set()
    for size in (100, 200, 400):
        train = read_jsonl(bmw500_prepared / f"train_{size}.jsonl")
        ids = {r["article_id"] for r in train}
        assert len(ids) == size
        assert not ids & test_ids, f"train_{size} shares articles with test"
        # no train article has the same (normalised) text as a test article
        train_urls = {r["id"].rsplit("-", 1)[0] for r in train}
        assert train_urls == ids
        assert previous <= ids, "train sets must be nested"
        previous = ids
    all_train_urls = {a for a in raw if a not in {r["url"] for r in test}}
    assert not {content_key(raw[u]["content"]) for u in all_train_urls} & test_content
    assert manifest["leak_check"]["passed"] is True
    assert manifest["articles"]["read"] == 500
    # the real corpus has 2 re-published copies; they are dropped and reported
    assert manifest["articles"]["kept"] == 500 - len(manifest["duplicates_dropped"])
    # every article type is represented in the test split
    assert all(n >= 1 for n in manifest["test_types"].values())
    assert manifest["files"].keys() == {"test.jsonl", "train_100.jsonl", "train_200.jsonl",
                                        "train_400.jsonl"}


def test_train_rows_are_chat_format_with_task_yaml_prompts(bmw500_prepared):
    rows = read_jsonl(bmw500_prepared / "train_100.jsonl")
    prompts = task_prompts()
    for row in rows[:40]:
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["system", "user", "assistant"]
        assert row["messages"][0]["content"] == prompts[row["task"]].system
        assert row["messages"][2]["content"].strip()
    tasks = {r["task"] for r in rows}
    assert tasks == {"summarization", "title", "tags", "type"}
    summ = next(r for r in rows if r["task"] == "summarization")
    assert summ["messages"][1]["content"].startswith(
        "Summarize the following BMW news article in a concise way.\n\n")


def test_sizes_larger_than_corpus_are_capped_and_said(tmp_path):
    raw = _write(tmp_path / "raw.jsonl", [_article(i) for i in range(10)])
    result = prepare_file(raw, sizes=(4, 50), test_size=2, seed=1)
    assert result.manifest["sizes"]["50"]["articles"] == 8
    assert any("capped" in w for w in result.warnings)


def test_empty_summary_and_no_tags_drop_only_that_row(tmp_path):
    rows = [_article(i) for i in range(8)]
    rows[0] = _article(0, summary="", tags=[])
    raw = _write(tmp_path / "raw.jsonl", rows)
    result = prepare_file(raw, sizes=(8,), test_size=0.25, seed=3)
    all_rows = result.test + result.train[8]
    tasks_of_0 = {r["task"] for r in all_rows if r["article_id"] == _aid(rows[0])}
    assert tasks_of_0 in ({"title", "type"}, {"title", "type", "perplexity"})
    dropped = result.manifest["rows_dropped_empty_target"]
    assert sum(v for k, v in dropped.items() if k.endswith("/summarization")) == 1
    assert sum(v for k, v in dropped.items() if k.endswith("/tags")) == 1


def _aid(article: dict) -> str:
    from ftbench.suites.bmw.prepare import article_id
    from ftbench.suites.bmw.schema import validate_article

    return article_id(validate_article(article, "x", 1))


@pytest.mark.parametrize("bad, message", [
    ('{"title": "x"', "raw.jsonl:3: invalid JSON"),
    (json.dumps({k: v for k, v in _article(9).items() if k != "summary"}),
     "raw.jsonl:3: field 'summary' is missing"),
    (json.dumps(_article(9, tags="BMW, MINI")), "raw.jsonl:3: field 'tags' must be a list"),
    (json.dumps(_article(9, type="Blog")), "raw.jsonl:3: field 'type' is 'Blog'"),
    (json.dumps(_article(9, title=7)), "raw.jsonl:3: field 'title' must be a string, got int"),
])
def test_bad_input_names_file_line_and_field(tmp_path, bad, message):
    raw = _write(tmp_path / "raw.jsonl", [_article(1), _article(2), bad, _article(4)])
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        prepare_file(raw, sizes=(2,), test_size=1)


def test_skip_invalid_counts_and_continues(tmp_path):
    raw = _write(tmp_path / "raw.jsonl", [_article(i) for i in range(6)] + ["not json", "[]"])
    result = prepare_file(raw, skip_invalid=True, sizes=(4,), test_size=2)
    skipped = result.manifest["source"]["invalid_skipped"]
    assert set(skipped) == {"7", "8"}
    assert result.manifest["articles"]["kept"] == 6


def test_cli_prepare_writes_atomically_and_reports_errors(tmp_path, capsys):
    raw = _write(tmp_path / "raw.jsonl", [_article(i) for i in range(12)])
    out = tmp_path / "prepared"
    assert cli_main(["data", "prepare", str(raw), "--out", str(out), "--sizes", "4,8",
                     "--test-size", "3"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".ftbench", "manifest.json", "test.jsonl", "train_4.jsonl", "train_8.jsonl"]
    assert not list(tmp_path.glob(".prepared*")), "no temp directories left behind"
    assert json.loads((out / ".ftbench" / "owner.json").read_text())["files"] == [
        "manifest.json", "test.jsonl", "train_4.jsonl", "train_8.jsonl"]
    bad = _write(tmp_path / "bad.jsonl", [_article(1), '{"title": 1}'])
    assert cli_main(["data", "prepare", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:2" in err
    # the earlier prepared output is untouched by the failed run
    assert (out / "train_8.jsonl").is_file()


def test_deterministic_given_seed(tmp_path):
    raw = _write(tmp_path / "raw.jsonl", [_article(i) for i in range(20)])
    a = prepare_file(raw, sizes=(5, 10), test_size=4, seed=7)
    b = prepare_file(raw, sizes=(5, 10), test_size=4, seed=7)
    c = prepare_file(raw, sizes=(5, 10), test_size=4, seed=8)
    assert a.test == b.test and a.train == b.train
    assert [r["id"] for r in a.train[10]] != [r["id"] for r in c.train[10]] or a.test != c.test


def test_max_input_words_caps_the_perplexity_text_too(bmw_raw):
    """Article text is capped for every task, perplexity included (memory and time on CPU)."""
    capped = prepare_file(bmw_raw, sizes=(10,), test_size=0.1, seed=42, max_input_words=50).test
    full = prepare_file(bmw_raw, sizes=(10,), test_size=0.1, seed=42).test
    ppl = {r["id"]: r["text"] for r in full if r["task"] == "perplexity"}
    ppl_capped = [r for r in capped if r["task"] == "perplexity"]
    assert ppl_capped and all(len(r["text"].split(" ")) <= 50 for r in ppl_capped)
    assert all(ppl[r["id"]].startswith(r["text"]) for r in ppl_capped)
    assert any(len(t.split(" ")) > 50 for t in ppl.values())
