"""The academic Q&A case (../shared/data/academic_qa, PROVENANCE.md there): its 10 questions
read through `suite: chat` as a raw file (evaluated like any raw file:
tests/suites/test_chat_raw_file.py logs ids, categories and topics per sample); the keyword
overlap of hand-checked answer / reference pairs is pinned, and where our definition
differs from the published scores is stated."""

from __future__ import annotations

import json
import re

import pytest
from cli_helpers import REPO

from ftbench.metrics import keyword_overlap
from ftbench.metrics.overlap import content_words
from ftbench.suites.chat import rows as chat_rows

QA = REPO.parent / "shared" / "data" / "academic_qa"  # ../shared beside the checkout


@pytest.fixture(scope="module")
def qa():
    if not (QA / "test_chat.jsonl").is_file():
        pytest.skip(f"real data not found at {QA}")
    published = {r["id"]: r for r in map(json.loads, (QA / "published_comparison.jsonl")
                                         .read_text().splitlines())}
    return chat_rows.test_rows("answer", str(QA / "test_chat.jsonl")), published


def test_the_ten_questions_read_through_the_chat_suite(qa):
    rows, published = qa
    assert [r["id"] for r in rows] == [f"q{i:02d}" for i in range(1, 11)] == list(published)
    # `topic` is a per-question label, not a category: ten topics would be ten groups of one
    assert len({r["topic"] for r in rows}) == 10 and {r["category"] for r in rows} == {""}
    assert all(r["turns"] == 1 and not r["system"] and r["target"] for r in rows)


def test_keyword_overlap_of_hand_checked_pairs(qa):
    rows, published = qa
    ref = {r["id"]: r["target"] for r in rows}
    # q04: "Complex games have long been an important benchmark for testing the progress of
    # artificial intelligence algorithms." Stop words (scikit-learn's list) out: have, been, an,
    # for, the, of. Stemmed content words (10): complex, game, long, import(ant), benchmark,
    # test(ing), progress, artifici(al), intellig(ence), algorithm(s). The question itself as
    # the answer contains test, progress, artificial, intelligence, algorithms: 5/10.
    assert sorted(content_words(ref["q04"])) == ["algorithm", "artifici", "benchmark",
                                                 "complex", "game", "import", "intellig",
                                                 "long", "progress", "test"]
    assert keyword_overlap(ref["q04"], rows[3]["input"]) == 0.5
    # q10: "The text does not include that detail." The report's 2/7 and 3/7 count all 7
    # distinct words. Ours drops the stop words the, not, that -- and "detail", which
    # scikit-learn's list contains -- and stems the rest: {text, doe(s), includ(e)}, 3 words.
    assert len(set(re.findall(r"\w+", ref["q10"].lower()))) == 7
    assert sorted(content_words(ref["q10"])) == ["doe", "includ", "text"]
    base, tuned = (published["q10"][f"{m}_answer_excerpt"] for m in ("base", "finetuned"))
    # base excerpt ("The question about the specific train/validation/test split ratio ..."):
    # none of text / does / include ("context" is not "text"): 0/3, published 2/7 (0.286);
    # fine-tuned excerpt ("This text presents a comparative analysis ..."): text: 1/3, published
    # 3/7 (0.429). Only excerpts were published, so ours are lower bounds on the full answers.
    assert keyword_overlap(ref["q10"], base) == 0.0
    assert keyword_overlap(ref["q10"], tuned) == pytest.approx(1 / 3)
    assert (published["q10"]["base_overlap"], published["q10"]["finetuned_overlap"]) == (
        pytest.approx(2 / 7, abs=1e-3), pytest.approx(3 / 7, abs=1e-3))


def test_evaluation_only_preparation_holds_every_row_out(qa):
    """No train sizes: a test file is the test set as given, a pooled file is taken whole; with
    sizes, a test file alone has nothing to train on and says so."""
    from ftbench.core.io import InputError
    from ftbench.suites.chat.prepare import prepare_rows
    from ftbench.suites.chat.resources import SAMPLE_CHAT
    from ftbench.suites.layout import PrepareSettings

    result = prepare_rows(QA / "test_chat.jsonl", PrepareSettings(sizes=()))
    assert [r["id"] for r in result.test] == [r["id"] for r in qa[0]] and result.train == {}
    assert result.manifest["articles"] == {"read": 10, "kept": 10, "test": 10, "train": 0}
    pooled = prepare_rows(SAMPLE_CHAT, PrepareSettings(sizes=()))
    assert len(pooled.test) == len(SAMPLE_CHAT.read_text().splitlines()) and not pooled.train
    assert pooled.manifest["test_size"] == "all (evaluation only)"
    with pytest.raises(InputError, match="none is a train file"):
        prepare_rows(QA / "test_chat.jsonl", PrepareSettings(sizes=(4,)))


@pytest.mark.slow
def test_evaluation_only_study_of_base_and_fine_tune_gives_the_published_table(
        qa, tiny_model, tiny_adapter, tmp_path, capsys):
    """The shipped evaluation-only config (configs/academic_qa.yaml) on the tiny model and a
    fine-tune of it (an adapter): `ftbench study` runs data → eval → report with nothing trained,
    the per-question comparison in the published shape over the 10 questions; a re-run reuses
    every stage's outputs (fingerprints), and the same data with a train section is refused."""
    import pandas as pd

    from ftbench.cli.main import main
    from ftbench.core.io import read_json, read_jsonl
    from ftbench.core.paths import CONFIGS_DIR
    from ftbench.eval.results_files import results_files

    config = CONFIGS_DIR / "academic_qa.yaml"
    out = tmp_path / "study"
    overrides = [f"data.source={QA / 'test_chat.jsonl'}", f"out_dir={out}",
                 f"models=[{{name: base, path: {tiny_model}}}, "
                 f"{{name: ft, path: '{tiny_model}::{tiny_adapter}'}}]",
                 "eval.max_gen_toks.chat_answer=12"]
    assert main(["study", str(config), *overrides, "-q"]) == 0
    manifest = read_json(out / "manifest.json")
    assert {s: v["status"] for s, v in manifest["stages"].items()} == dict.fromkeys(
        ("data", "models", "train", "eval", "report"), "complete")
    assert not (out / "runs").exists()  # nothing trained
    # every row held out, no train file
    assert sorted(p.name for p in (out / "data").glob("*.jsonl")) == ["test.jsonl"]
    assert [r["id"] for r in read_jsonl(out / "data" / "test.jsonl")] == [r["id"] for r in qa[0]]
    report = out / "report"
    table = pd.read_csv(report / "tables" / "win_tie_loss.csv")
    row = table[(table["model"] == "ft") & (table["metric"] == "answer_keyword_overlap")].iloc[0]
    assert row["base"] == "base" and row["n"] == 10
    assert row["finetuned_better"] + row["base_better"] + row["similar"] == 10
    assert re.fullmatch(r"fine-tuned better \d+/10, base better \d+/10, similar \d+/10",
                        row["summary"])
    items = pd.read_csv(report / "tables" / "per_example_comparison.csv")
    items = items[(items["model"] == "ft") & (items["metric"] == "answer_keyword_overlap")]
    assert sorted(items["item"]) == [f"q{i:02d}" for i in range(1, 11)]
    assert "fine-tuned better" in (report / "summary.md").read_text(encoding="utf-8")
    specs = read_json(out / "results" / "index.json")["models"]
    assert specs["ft"]["spec"]["adapter"] == str(tiny_adapter.resolve())

    made = {p: p.stat().st_mtime_ns for m in ("base", "ft")
            for p in results_files(out / "results" / m)}
    assert {p.parent.name for p in made} == {"base", "ft"}
    assert main(["study", str(config), *overrides, "--only", "data,eval", "-q"]) == 0
    assert read_json(out / "manifest.json")["stages"]["data"]["info"]["skipped"] is True
    assert made == {p: p.stat().st_mtime_ns for p in made}  # results reused, not rewritten
    capsys.readouterr()

    # training needs a train split: exit 2 naming the key, before any work
    assert main(["study", str(config), *overrides[:2], f"models=[{{name: base, path: {tiny_model}}}]",
              "evaluate_only=false", "train.max_steps=2"]) == 2
    assert "config key 'data.source'" in capsys.readouterr().err
