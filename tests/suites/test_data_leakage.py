"""Reference leakage audit and the opt-in strip (ftbench.suites.leakage), by hand and on real data."""

from __future__ import annotations

import json

import pytest

from ftbench.core.io import read_jsonl
from ftbench.suites.bmw.prepare import prepare_file
from ftbench.suites.leakage import (
    contains_reference,
    copy_baseline,
    lead,
    leakage_audit,
    starts_with_reference,
    strip_leading_reference,
)


def test_verbatim_matching_ignores_only_whitespace():
    text = "+++ New plant +++\n\nMunich. The plant\nopens."
    assert starts_with_reference(text, "+++ New plant +++")
    assert starts_with_reference("  \n" + text, "+++   New plant +++")
    assert contains_reference(text, "The plant opens.")          # a line break inside
    assert not contains_reference(text, "the plant opens.")      # case matters
    assert not starts_with_reference(text, "Munich.")
    assert not contains_reference(text, "")


def test_strip_leading_reference():
    assert strip_leading_reference("Sum mary.\n\nBody text.", "Sum mary.") == "Body text."
    assert strip_leading_reference("Body. Sum mary.", "Sum mary.") == "Body. Sum mary."
    # an article that is nothing but its summary keeps its text (never an empty prompt)
    assert strip_leading_reference("Sum mary.", "Sum mary.") == "Sum mary."
    assert strip_leading_reference("Body.", "") == "Body."


def test_copy_baseline_by_hand():
    # lead of 3 words = the reference (ROUGE 1); "One two" vs "five six" shares nothing
    pairs = [("Alpha beta gamma. Delta.", "Alpha beta gamma."), ("One two three", "five six")]
    out = copy_baseline(pairs)
    assert out["rouge1"] == out["rougeL"] == pytest.approx(0.5)
    assert out["rougeL_max"] == 1.0 and out["n"] == 2
    assert lead("a b  c\nd", 3) == "a b c"
    assert copy_baseline([]) == {"n": 0}


def test_audit_counts_rows_per_task():
    rows = [{"task": "summarization", "input": "S. Body.", "target": "S."},
            {"task": "summarization", "input": "Body. S2.", "target": "S2."},
            {"task": "title", "input": "S. Body.", "target": "Title"},
            {"task": "tags", "input": "x", "target": "BMW"}]
    audit = leakage_audit(rows, ("summarization", "title"))
    assert set(audit) == {"summarization", "title"}
    assert {k: audit["summarization"][k] for k in ("n", "reference_in_input",
                                                  "input_starts_with_reference")} == {
        "n": 2, "reference_in_input": 2, "input_starts_with_reference": 1}
    assert audit["title"]["reference_in_input"] == 0


def test_real_corpus_audit_matches_an_independent_count(bmw500_prepared, bmw_raw):
    manifest = json.loads((bmw500_prepared / "manifest.json").read_text())
    rows = [r for r in read_jsonl(bmw500_prepared / "test.jsonl") if r["task"] == "summarization"]

    def norm(text: str) -> str:
        return " ".join(text.split())

    starts = sum(norm(r["input"]).startswith(norm(r["target"])) for r in rows)
    inside = sum(norm(r["target"]) in norm(r["input"]) for r in rows)
    audit = manifest["leakage"]["summarization"]
    assert (audit["n"], audit["input_starts_with_reference"], audit["reference_in_input"]) == (
        len(rows), starts, inside)
    assert starts > 0  # the real corpus does leak: some articles begin with their summary
    assert audit["copy_baseline"]["rougeL"] > 0.3
    assert manifest["strip_reference_from_input"] is False
    articles = [json.loads(line) for line in bmw_raw.open()]
    assert manifest["summary_in_content"]["starts_with"] <= sum(
        norm(a["content"]).startswith(norm(a["summary"])) for a in articles if a["summary"].strip())


def test_strip_option_on_real_corpus(bmw_raw):
    kept = prepare_file(bmw_raw, sizes=(50,), test_size=0.1, seed=42)
    stripped = prepare_file(bmw_raw, sizes=(50,), test_size=0.1, seed=42,
                            strip_reference_from_input=True)
    before = kept.manifest["leakage"]["summarization"]
    after = stripped.manifest["leakage"]["summarization"]
    assert before["input_starts_with_reference"] > 0 and after["input_starts_with_reference"] == 0
    assert after["copy_baseline"]["rougeL"] < before["copy_baseline"]["rougeL"]
    assert stripped.manifest["strip_reference_from_input"] is True
    # only the inputs change: same articles, same targets, same split
    assert [(r["id"], r.get("target")) for r in kept.test] == [
        (r["id"], r.get("target")) for r in stripped.test]
