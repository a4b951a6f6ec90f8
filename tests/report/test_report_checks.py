"""Input checks: out-of-range cells refused with a note naming the cell, the overall score
recomputed from its components, and notes for answers that are unparseable or cut at the budget."""

from __future__ import annotations

import io
import json
import math

import pandas as pd
import pytest
from rich.console import Console

from ftbench.report import checks
from ftbench.report.build import report_main
from ftbench.suites.bmw.composite import OVERALL_WEIGHTS, overall_score


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=140)


@pytest.mark.parametrize(("column", "value", "why"), [
    ("type_accuracy", 93.5, "a percentage where a fraction belongs"),
    ("summ_rougeL_f1", math.inf, "is infinite"),
    ("perplexity", 0.5, "outside [1, inf]"),
    ("tag_f1", -0.1, "outside [0, 1]"),
    ("overall_score", 101.0, "outside [0, 1]"),
    ("answer_word_perplexity", 0.5, "outside [1, inf]"),  # a suite's prefixed columns
    ("answer_loglikelihood", 2.0, "outside [-inf, 0]"),
])
def test_out_of_range_values_are_named(column, value, why):
    assert why in checks.out_of_range(column, value)


@pytest.mark.parametrize(("column", "value"), [
    ("type_accuracy", 1.0), ("summ_bertscore_f1", -0.2), ("perplexity", 3723.3),
    ("summ_length_ratio", 6.18), ("title_pred_words", 200.9), ("type_accuracy", math.nan),
    ("answer_word_perplexity", 1.5e6), ("answer_bits_per_byte", 3.9),
    ("answer_loglikelihood", -261.0)])
def test_in_range_values_pass(column, value):
    assert checks.out_of_range(column, value) is None


def test_flat_table_cells_are_refused_with_file_line_model_and_column(peer_csv, tmp_path):
    peer = pd.read_csv(peer_csv)
    row = peer.index[peer["model_name"] == "qwen3-4b-1000"][0]
    peer.loc[row, "type_accuracy"] = 93.5           # a percentage
    peer.loc[peer["model_name"] == "qwen3-8b-500", "perplexity"] = math.inf
    csv = tmp_path / "bad.csv"
    peer.to_csv(csv, index=False)
    result = report_main(csv, tmp_path / "out", console=_quiet())
    notes = "\n".join(result["notes"])
    assert (f"{csv}: line {row + 2}, model qwen3-4b-1000, column type_accuracy = 93.5 is outside "
            "[0, 1] (a percentage where a fraction belongs?); refused") in notes
    assert "model qwen3-8b-500, column perplexity = inf is infinite; refused" in notes
    ranking = pd.read_csv(result["tables"]["ranking"]).set_index("model")
    assert math.isnan(ranking.loc["qwen3-4b-1000", "type_accuracy"])
    # its given overall score stays (a component is missing), the rest are recomputed
    assert ranking.loc["qwen3-4b-1000", "overall_score"] == pytest.approx(
        peer.loc[row, "overall_score"])
    assert "line" in result["summary"].read_text()


def test_overall_score_is_recomputed_and_disagreements_noted(peer_csv, tmp_path):
    peer = pd.read_csv(peer_csv)
    truth = overall_score({c: peer.loc[3, c] for c in OVERALL_WEIGHTS})
    name = peer.loc[3, "model_name"]
    peer.loc[3, "overall_score"] = truth + 0.01
    csv = tmp_path / "t.csv"
    peer.to_csv(csv, index=False)
    result = report_main(csv, tmp_path / "out", console=_quiet())
    assert any(f"{name} (given {truth + 0.01:.4f}, components give {truth:.4f})" in n
               for n in result["notes"])
    ranking = pd.read_csv(result["tables"]["ranking"]).set_index("model")
    assert ranking.loc[name, "overall_score"] == pytest.approx(truth)


def test_published_table_agrees_with_its_components(peer_csv):
    peer = pd.read_csv(peer_csv).rename(columns={"model_name": "model"})
    notes: list[str] = []
    checks.reconcile_overall(peer, notes, OVERALL_WEIGHTS)
    assert notes == []


def _study(tmp_path, results: dict, ftbench: dict) -> None:
    (tmp_path / "index.json").write_text(json.dumps({"settings": {}, "models": {
        "m1": {"status": "complete", "tasks": {t: {"status": "complete"} for t in results}}}}))
    (tmp_path / "m1").mkdir()
    (tmp_path / "m1" / "results_2026-01-01T00-00-00.json").write_text(json.dumps(
        {"results": results, "ftbench": ftbench}))


def test_study_answer_problems_are_notes_never_none(tmp_path):
    results = {"bmw_type": {"acc,none": 0.0, "unparseable,none": 1.0, "macro_f1,none": 0.0},
               "bmw_summarization": {"rougeL,none": 0.12, "unparseable,none": 0.05},
               "bmw_title": {"rougeL,none": 93.5}}
    ftbench = {"model": {}, "generation": {
        "bmw_summarization": {"max_gen_toks": 512, "until": [], "n": 49, "budget_hits": 31,
                              "budget_hit_rate": 31 / 49},
        "bmw_type": {"max_gen_toks": 64, "n": 49, "budget_hits": 2, "budget_hit_rate": 2 / 49}}}
    _study(tmp_path, results, ftbench)
    result = report_main(tmp_path, tmp_path / "out", console=_quiet())
    notes = result["notes"]
    assert ("model m1: bmw_type — 100% of answers unparseable (>= 90%): its scores there measure "
            "the answer format, not the task") in notes
    assert ("model m1: bmw_summarization — 63% of answers stopped at the generation budget "
            "(max_gen_toks 512) (>= 50%): they were cut, not finished") in notes
    assert not any("bmw_type — 4%" in n for n in notes)  # under the threshold: no note
    assert any("results of bmw_title, metric rougeL = 93.5 is outside [0, 1]" in n for n in notes)
    summary = result["summary"].read_text()
    assert "## Notes on the input\n\n- none" not in summary
    assert "100% of answers unparseable" in summary
    findings = pd.read_csv(result["tables"]["findings"]).set_index("key")["finding"]
    assert "m1 bmw_type 100% unparseable" in findings["answer_health"]
    assert "m1 bmw_summarization 63% at the token budget" in findings["answer_health"]


def test_results_without_the_generation_block_are_fine(tmp_path):
    _study(tmp_path, {"bmw_type": {"acc,none": 0.5, "unparseable,none": 0.1}}, {"model": {}})
    result = report_main(tmp_path, tmp_path / "out", console=_quiet())
    assert not any("budget" in n or "unparseable" in n for n in result["notes"])


def test_flat_table_unparseable_column_is_flagged(tmp_path):
    csv = tmp_path / "t.csv"
    pd.DataFrame({"model": ["a", "b"], "type_accuracy": [0.0, 0.9],
                  "type_unparseable": [0.95, 0.0]}).to_csv(csv, index=False)
    result = report_main(csv, tmp_path / "out", console=_quiet())
    assert any(n.startswith("model a: bmw_type — 95% of answers unparseable")
               for n in result["notes"])


def test_answer_rates_table_from_results_files(tmp_path):
    """Section 4c reads unparseable (lm-eval), budget hits and truncated prompts (ftbench) per
    model and task; a task without an unparseable metric still shows its budget hits."""
    results = {"bmw_type": {"acc,none": 0.5, "unparseable,none": 0.25},
               "bmw_summarization": {"rougeL,none": 0.12}}
    ftbench = {"generation": {"bmw_summarization": {"max_gen_toks": 512, "n": 4,
                                                    "budget_hit_rate": 0.75}},
               "prompts": {"bmw_summarization": {"context_length": 2048, "n": 4, "truncated": 1,
                                                 "truncated_rate": 0.25},
                           "bmw_type": {"context_length": 2048, "n": 4, "truncated": 0,
                                        "truncated_rate": 0.0}}}
    _study(tmp_path, results, ftbench)
    result = report_main(tmp_path, tmp_path / "out", console=_quiet())
    table = pd.read_csv(result["tables"]["answer_format"]).set_index("task")
    assert table.loc["bmw_summarization", "budget_hit_rate"] == 0.75
    assert table.loc["bmw_summarization", "prompts_truncated"] == 1
    assert pd.isna(table.loc["bmw_summarization", "unparseable"])
    assert table.loc["bmw_type", "unparseable"] == 0.25
    assert pd.isna(table.loc["bmw_type", "budget_hit_rate"])
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "answers stopped at the generation budget: up to 75% (m1, bmw_summarization)" in summary


def test_conversations_that_lost_earlier_turns_are_counted_in_4c(tmp_path):
    """A results file's turn counts (ftbench.prompts[task]: turns_dropped_rows, turns_dropped,
    from rows fitted by dropping their oldest earlier turns) reach section 4c and its text."""
    results = {"bmw_summarization": {"rougeL,none": 0.12}}
    prompts = {"context_length": 512, "n": 6, "truncated": 0, "truncated_rate": 0.0,
               "turns_dropped_rows": 2, "turns_dropped": 6}
    ftbench = {"generation": {"bmw_summarization": {"max_gen_toks": 64, "n": 6,
                                                    "budget_hit_rate": 0.0}},
               "prompts": {"bmw_summarization": prompts}}
    _study(tmp_path, results, ftbench)
    result = report_main(tmp_path, tmp_path / "out", console=_quiet())
    table = pd.read_csv(result["tables"]["answer_format"]).set_index("task")
    assert table.loc["bmw_summarization", "turns_dropped_rows"] == 2
    assert table.loc["bmw_summarization", "turns_dropped"] == 6
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert ("conversations that lost their oldest earlier turns to fit the context: up to 2 of 6 "
            "(m1, bmw_summarization; 6 turns dropped)") in summary
