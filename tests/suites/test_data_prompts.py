"""The published study's chat rows, byte for byte, in training rows and evaluation prompts.

ChatBMW (github.com/alwinyang91/ChatBMW, chatbmw/data/processor.py) builds, per article:
system prompt; user = INSTRUCTION + "\\n\\n" + input, where input is the content for
summarization and `summary + content` (no separator) for title, tags and type; assistant = the
summary / title / ", ".join(tags) / type. The expected rows below are written out by hand from
that rule for three hand-written articles (one with a leading copy of its summary, one with an
empty summary, one with a multi-paragraph body).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftbench.core.io import read_jsonl
from ftbench.suites.bmw.prepare import article_rows, prepare_file, to_chat
from ftbench.suites.bmw.schema import validate_article

SYS_SUMM = ("You are an expert at summarizing BMW news articles. Provide concise, informative "
            "summaries that capture the key points.")
SYS_TITLE = ("You are an expert at creating headlines for BMW news articles. Generate concise, "
             "informative, and engaging titles.")
SYS_TAGS = ("You are an expert at analyzing BMW news articles. Extract and categorize the key "
            "topics and themes from the content.")
SYS_TYPE = ("You are an expert at classifying BMW news articles. Identify the article type "
            "based on its content and structure.")
INSTR_SUMM = "Summarize the following BMW news article in a concise way."
INSTR_TITLE = "Generate a concise and informative title for the following BMW news article."
INSTR_TAGS = "Extract and list the key topics and categories for the following BMW news article."
INSTR_TYPE = "Identify the type of the following BMW news article."

ARTICLES = [
    {"title": "Plant Leipzig starts battery module production",
     "date": "03.02.2025", "type": "Press Release",
     "summary": "+++ Leipzig builds battery modules +++ 800 new jobs +++",
     "tags": ["Production", "E-Mobility", "Leipzig"],
     "url": "https://example.org/a1",
     "content": "+++ Leipzig builds battery modules +++ 800 new jobs +++\n\n"
                "Leipzig. The plant has started series production of battery modules."},
    {"title": "Keynote at the annual general meeting",
     "date": "14.05.2025", "type": "Speech", "summary": "",
     "tags": ["Annual General Meeting"],
     "url": "https://example.org/a2",
     "content": "Check against delivery.\n\nDear shareholders, welcome to Munich."},
    {"title": "MINI Cooper: facts & figures",
     "date": "01.06.2025", "type": "Fact & Figures",
     "summary": "The new MINI Cooper in numbers.",
     "tags": ["MINI", "Chassis, Suspension", "Fact & Figures"],
     "url": "https://example.org/a3",
     "content": "Length: 3,858 mm.\nWidth: 1,756 mm.\n\nBoot volume: 210 l."},
]


def _chat(system: str, user: str, assistant: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user},
            {"role": "assistant", "content": assistant}]


EXPECTED = {
    "https://example.org/a1": [
        _chat(SYS_SUMM,
              "Summarize the following BMW news article in a concise way.\n\n"
              "+++ Leipzig builds battery modules +++ 800 new jobs +++\n\n"
              "Leipzig. The plant has started series production of battery modules.",
              "+++ Leipzig builds battery modules +++ 800 new jobs +++"),
        _chat(SYS_TITLE,
              "Generate a concise and informative title for the following BMW news article.\n\n"
              "+++ Leipzig builds battery modules +++ 800 new jobs ++++++ Leipzig builds battery "
              "modules +++ 800 new jobs +++\n\n"
              "Leipzig. The plant has started series production of battery modules.",
              "Plant Leipzig starts battery module production"),
        _chat(SYS_TAGS,
              "Extract and list the key topics and categories for the following BMW news "
              "article.\n\n"
              "+++ Leipzig builds battery modules +++ 800 new jobs ++++++ Leipzig builds battery "
              "modules +++ 800 new jobs +++\n\n"
              "Leipzig. The plant has started series production of battery modules.",
              "Production, E-Mobility, Leipzig"),
        _chat(SYS_TYPE,
              "Identify the type of the following BMW news article.\n\n"
              "+++ Leipzig builds battery modules +++ 800 new jobs ++++++ Leipzig builds battery "
              "modules +++ 800 new jobs +++\n\n"
              "Leipzig. The plant has started series production of battery modules.",
              "Press Release"),
    ],
    "https://example.org/a2": [  # no summary: no summarization row; input = content alone
        _chat(SYS_TITLE,
              "Generate a concise and informative title for the following BMW news article.\n\n"
              "Check against delivery.\n\nDear shareholders, welcome to Munich.",
              "Keynote at the annual general meeting"),
        _chat(SYS_TAGS,
              "Extract and list the key topics and categories for the following BMW news "
              "article.\n\nCheck against delivery.\n\nDear shareholders, welcome to Munich.",
              "Annual General Meeting"),
        _chat(SYS_TYPE,
              "Identify the type of the following BMW news article.\n\n"
              "Check against delivery.\n\nDear shareholders, welcome to Munich.",
              "Speech"),
    ],
    "https://example.org/a3": [
        _chat(SYS_SUMM,
              "Summarize the following BMW news article in a concise way.\n\n"
              "Length: 3,858 mm.\nWidth: 1,756 mm.\n\nBoot volume: 210 l.",
              "The new MINI Cooper in numbers."),
        _chat(SYS_TITLE,
              "Generate a concise and informative title for the following BMW news article.\n\n"
              "The new MINI Cooper in numbers.Length: 3,858 mm.\nWidth: 1,756 mm.\n\n"
              "Boot volume: 210 l.",
              "MINI Cooper: facts & figures"),
        _chat(SYS_TAGS,
              "Extract and list the key topics and categories for the following BMW news "
              "article.\n\nThe new MINI Cooper in numbers.Length: 3,858 mm.\nWidth: 1,756 mm."
              "\n\nBoot volume: 210 l.",
              "MINI, Chassis, Suspension, Fact & Figures"),
        _chat(SYS_TYPE,
              "Identify the type of the following BMW news article.\n\n"
              "The new MINI Cooper in numbers.Length: 3,858 mm.\nWidth: 1,756 mm.\n\n"
              "Boot volume: 210 l.",
              "Fact & Figures"),
    ],
}


def test_system_prompts_and_instructions_are_the_studys():
    from ftbench.suites.bmw.prompts import task_prompts

    prompts = task_prompts()
    assert [prompts[t].system for t in ("summarization", "title", "tags", "type")] == [
        SYS_SUMM, SYS_TITLE, SYS_TAGS, SYS_TYPE]
    for task, instruction in (("summarization", INSTR_SUMM), ("title", INSTR_TITLE),
                              ("tags", INSTR_TAGS), ("type", INSTR_TYPE)):
        assert prompts[task].user_template == instruction + "\n\n{{input}}"


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a["url"].rsplit("/", 1)[-1])
def test_training_rows_are_the_studys_rows_byte_for_byte(article):
    rows, _ = article_rows(validate_article(article, "articles.jsonl", 1), None)
    messages = [to_chat(r)["messages"] for r in rows]
    assert messages == EXPECTED[article["url"]]
    # and serialised as the study did (json.dumps(..., ensure_ascii=False))
    assert [json.dumps({"messages": m}, ensure_ascii=False) for m in messages] == [
        json.dumps({"messages": m}, ensure_ascii=False) for m in EXPECTED[article["url"]]]


def test_eval_prompts_are_the_training_prompts(tmp_path: Path, monkeypatch):
    """What lm-eval sends as system + user turn for a test doc equals the training row."""
    from lm_eval.tasks import TaskManager

    from ftbench.core.paths import TASKS_DIR
    from ftbench.suites.bmw.prepare import write_prepared

    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES * 1))
    out = write_prepared(prepare_file(raw, sizes=(1,), test_size=2, seed=0), tmp_path / "data")
    monkeypatch.setenv("FTBENCH_BMW_DATA", str(out))
    loaded = TaskManager(include_path=str(TASKS_DIR), include_defaults=False).load(
        ["bmw_summarization", "bmw_title", "bmw_tags", "bmw_type"])["tasks"]
    by_url = {}
    for name, task in loaded.items():
        for doc in task.test_docs():
            by_url.setdefault(doc["url"], []).append(
                (name, _chat(task.config.description, task.doc_to_text(doc), doc["target"])))
    test_urls = {r["url"] for r in read_jsonl(out / "test.jsonl")}
    assert set(by_url) == test_urls == set(EXPECTED)  # stratified by type: all three are test
    for url, got in by_url.items():
        order = ["bmw_summarization", "bmw_title", "bmw_tags", "bmw_type"]
        got.sort(key=lambda item: order.index(item[0]))
        assert [messages for _, messages in got] == EXPECTED[url]


def test_strip_reference_is_opt_in():
    a = validate_article(ARTICLES[0], "articles.jsonl", 1)
    default = {r["task"]: r["input"] for r in article_rows(a, None)[0]}
    stripped = {r["task"]: r["input"] for r in article_rows(a, None, strip_reference=True)[0]}
    body = "Leipzig. The plant has started series production of battery modules."
    assert stripped["summarization"] == body
    assert stripped["title"] == a.summary + body
    assert default["summarization"] == a.content  # off: the study's input, unchanged
    # an article without a leading copy is not changed by the option
    b = validate_article(ARTICLES[2], "articles.jsonl", 1)
    assert article_rows(b, None, strip_reference=True)[0] == article_rows(b, None)[0]
