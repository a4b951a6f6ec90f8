"""Sections 7b-7c: each fine-tuned model vs its base, item by item, and per category.

The counting rule reproduces the published academic Q&A comparison from its own scores; the
report's tables are re-derived here from the lm-eval per-sample logs of real studies (the
session's finished BMW study, and a small chat study whose rows carry categories).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import binomtest

from ftbench.core.io import read_jsonl
from ftbench.core.paths import CONFIGS_DIR
from ftbench.eval.results_files import samples_file
from ftbench.report.section import Options
from ftbench.report.wins import count, verdicts

PUBLISHED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "academic_qa" / \
    "published_comparison.jsonl"


def _rule(base: float, tuned: float, margin: float) -> str:
    """The rule as the docs state it, written out independently of `wins`."""
    if tuned - base > margin + 1e-9:
        return "fine-tuned better"
    if base - tuned > margin + 1e-9:
        return "base better"
    return "similar"


def test_the_published_academic_qa_verdicts_come_out_of_the_report_s_counting():
    if not PUBLISHED.is_file():
        pytest.skip(f"{PUBLISHED} not present")
    rows = read_jsonl(PUBLISHED)
    margin = Options().tie_threshold  # the report's default, also report.tie_threshold's
    said = verdicts([r["base_overlap"] for r in rows], [r["finetuned_overlap"] for r in rows],
                    margin)
    assert said == [r["verdict"] for r in rows]
    c = count(said)
    assert (c["finetuned_better"], c["base_better"], c["similar"], c["n"]) == (3, 5, 2, 10)
    assert c["summary"] == "fine-tuned better 3/10, base better 5/10, similar 2/10"
    # two-sided sign test on 3 wins vs 5 losses: 2 * P(X <= 3), X ~ Bin(8, 1/2) = 2 * 93 / 256
    assert c["sign_test_p"] == pytest.approx(2 * 93 / 256)


def test_the_margin_is_inclusive_and_lower_is_better_flips_the_verdict():
    assert verdicts([0.30, 0.30, 0.30], [0.31, 0.3100001, 0.29], 0.01) == [
        "similar", "fine-tuned better", "similar"]
    assert verdicts([0.5], [0.5], 0.0) == ["similar"]
    assert verdicts([10.0, 10.0], [8.0, 12.0], 0.5, higher_is_better=False) == [
        "fine-tuned better", "base better"]
    none = count(["similar", "similar"])
    assert none["n"] == 2 and math.isnan(none["sign_test_p"])


def _per_item(results: Path, model: str, task: str, metric: str) -> dict:
    return {s["doc_id"]: (s[metric], s["doc"]) for s in read_jsonl(samples_file(results / model,
                                                                                  task))}


def _check_counts(report: Path, results: Path, base: str, tuned: list[str], task: str,
                  lm_metric: str, column: str, margin: float) -> pd.DataFrame:
    """win_tie_loss and per_example_comparison agree with the samples files, item by item."""
    table = pd.read_csv(report / "tables" / "win_tie_loss.csv")
    items = pd.read_csv(report / "tables" / "per_example_comparison.csv")
    base_scores = _per_item(results, base, task, lm_metric)
    for model in tuned:
        scores = _per_item(results, model, task, lm_metric)
        shared = sorted(i for i in set(scores) & set(base_scores)  # the report drops a NaN
                        if not (math.isnan(scores[i][0]) or math.isnan(base_scores[i][0])))
        want = [_rule(base_scores[i][0], scores[i][0], margin) for i in shared]
        row = table[(table["model"] == model) & (table["metric"] == column)].iloc[0]
        assert row["base"] == base and row["n"] == len(shared) > 0
        got = (row["finetuned_better"], row["base_better"], row["similar"])
        assert got == (want.count("fine-tuned better"), want.count("base better"),
                       want.count("similar"))
        assert sum(got) == row["n"]
        decided = got[0] + got[1]
        if decided:
            assert row["sign_test_p"] == pytest.approx(binomtest(got[0], decided).pvalue)
        else:
            assert math.isnan(row["sign_test_p"])
        mine = items[(items["model"] == model) & (items["metric"] == column)]
        mine = mine.set_index("doc_id").loc[shared]
        assert mine["verdict"].tolist() == want
        assert mine["base_value"].tolist() == pytest.approx([base_scores[i][0] for i in shared])
        assert mine["finetuned_value"].tolist() == pytest.approx([scores[i][0] for i in shared])
    return items


def test_the_finished_study_report_counts_each_fine_tune_against_its_base(finished_study):
    cfg = finished_study.cfg
    report = cfg.report_dir
    _check_counts(report, cfg.results_dir, "tiny-llama-base", ["tiny-llama-16", "tiny-llama-48"],
                  "bmw_tags", "f1", "tag_f1", cfg.report.tie_threshold)
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "## 7b. Per-example comparison with the base" in summary
    assert "tiny-llama-48 vs tiny-llama-base by `tag_f1`: fine-tuned better" in summary
    page = (report / "index.html").read_text(encoding="utf-8")
    assert "win_tie_loss" in page and "per_example_comparison" in page
    assert "vs tiny-llama-base by `tag_f1`" in finished_study.text  # the terminal line


def _chat_study(tmp_path: Path, model: Path | str) -> list[str]:
    """The shipped chat config, reduced: 8 training examples, 3 steps, 6 held-out questions, and
    a tie margin of 0 (the tiny model's answers differ by little)."""
    return ["study", str(CONFIGS_DIR / "chat_sample.yaml"), f"out_dir={tmp_path / 'study'}",
            "data.sizes=[8]", "data.test_size=8", "data.seed=5",
            f"models=[{{name: tiny, path: '{model}'}}]", "train.max_steps=3",
            "train.learning_rate=0.01", "train.batch_size=4", "train.max_seq_length=96",
            "eval.limit=6", "eval.max_gen_toks=12", "report.tie_threshold=0"]


@pytest.mark.slow
def test_a_chat_study_reports_per_category_and_per_example(tmp_path, tiny_model):
    from ftbench.cli.main import main

    assert main(_chat_study(tmp_path, tiny_model)) == 0
    study = tmp_path / "study"
    report, results = study / "report", study / "results"
    index = json.loads((results / "index.json").read_text())
    assert set(index["models"]) == {"tiny-base", "tiny-8"}
    items = _check_counts(report, results, "tiny-base", ["tiny-8"], "chat_answer",
                          "keyword_overlap", "answer_keyword_overlap", 0.0)
    _check_counts(report, results, "tiny-base", ["tiny-8"], "chat_answer", "rougeL",
                  "answer_rougeL", 0.0)
    # the category each held-out row carries reaches the per-item table and the category tables
    answers = _per_item(results, "tiny-8", "chat_answer", "rougeL")
    assert dict(zip(items["doc_id"], items["category"])) == {
        i: doc["category"] for i, (_, doc) in answers.items()}
    cats = pd.read_csv(report / "tables" / "category_results.csv")
    for model in ("tiny-base", "tiny-8"):
        rows = _per_item(results, model, "chat_answer", "rougeL")
        frame = pd.DataFrame([{"category": doc["category"], "rougeL": v}
                              for v, doc in rows.values()])
        want = frame.groupby("category")["rougeL"].agg(["size", "mean"])
        mine = cats[cats["model"] == model].set_index("category")
        assert mine["n"].to_dict() == want["size"].to_dict()
        assert mine["answer_rougeL"].tolist() == pytest.approx(want["mean"].tolist())
    by_cat = pd.read_csv(report / "tables" / "category_win_tie_loss.csv")
    whole = pd.read_csv(report / "tables" / "win_tie_loss.csv").set_index("metric")
    for metric, group in by_cat.groupby("metric"):
        for col in ("n", "finetuned_better", "base_better", "similar"):
            assert group[col].sum() == whole.at[metric, col]
    # the largest gain / loss: by the first metric on which an item differs, that metric's extremes
    largest = pd.read_csv(report / "tables" / "largest_changes.csv")
    decided = items[items["verdict"] != "similar"]
    assert len(largest) >= (not decided.empty)
    for r in largest.itertuples():
        assert r.metric == decided[decided["model"] == r.model]["metric"].iloc[0]
        deltas = items[(items["model"] == r.model) & (items["metric"] == r.metric)]["delta"]
        assert r.delta == pytest.approx(deltas.max() if r.change == "largest gain" else deltas.min())
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "## 7c. Per-category results" in summary and "category_win_tie_loss" in summary
    # the chat suite's own perplexity headline: in the ranking, and a perplexity section
    assert "answer_word_perplexity" in pd.read_csv(report / "tables" / "ranking.csv")
    assert "no perplexity column" not in summary


def test_report_tie_threshold_is_checked_when_the_config_loads(tmp_path, capsys):
    from ftbench.cli.main import main

    args = _chat_study(tmp_path, "tiny")  # the embedded model: built after the check
    assert main([*args, "report.tie_threshold=-0.5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "report.tie_threshold" in err[0]
    assert not (tmp_path / "study").exists()


def test_a_fine_tune_that_answers_as_its_base_is_said_to_have_had_no_effect(finished_study,
                                                                            tmp_path):
    """A fine-tuned model whose every answer is its base's (here: the base's own files put in
    its place) is flagged, and the other fine-tune is not."""
    import shutil

    from ftbench.report.build import report_main

    results = tmp_path / "results"
    shutil.copytree(finished_study.cfg.results_dir, results)
    base, noop = results / "tiny-llama-base", results / "tiny-llama-16"
    for path in noop.glob("samples_*.jsonl"):  # samples_<task>_<time>.jsonl
        task = path.name.removeprefix("samples_").rsplit("_", 1)[0]
        path.write_text(samples_file(base, task).read_text(encoding="utf-8"), encoding="utf-8")
    result = report_main(results, tmp_path / "report", runs=finished_study.cfg.runs_dir)
    summary = result["summary"].read_text(encoding="utf-8")
    assert "**Adapter had no effect — tiny-llama-16**: its answers equal its base's" in summary
    assert "no effect — tiny-llama-48" not in summary
