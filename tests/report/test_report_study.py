"""`report_main` on a real `ftbench eval` study of tiny models: every section, CIs, paired tests,
samples and plots, with numbers re-derived here from the raw lm-eval files."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from rich.console import Console

from ftbench.core.io import InputError
from ftbench.eval.results_files import completed_tasks, samples_file, task_metrics
from ftbench.report.build import report_main

pytest_plugins = ["report_fixtures"]  # report_study, report_runs
pytestmark = pytest.mark.slow

A, B = "tiny-base", "tiny-lora-48"
LIMIT = 6  # report_fixtures.LIMIT (not imported: pytest loads that module as a plugin)


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=140)


@pytest.fixture(scope="module")
def study_report(report_study, report_runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("study_report")
    console = Console(file=io.StringIO(), width=140, record=True)
    result = report_main(report_study, out, runs=report_runs, compare=(A, B),
                         metric="summ_rougeL_f1", n_samples=3, console=console)
    return result, console.export_text()


def _table(result, name) -> pd.DataFrame:
    return pd.read_csv(result["tables"][name])


def _raw(study, model, task) -> list[dict]:
    path = samples_file(study / model, task)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_every_section_is_produced(study_report):
    result, text = study_report
    assert set(result["models"]) == {"tiny-base", "tiny-lora-16", "tiny-lora-48"}
    # this study ran the bmw suite only: forgetting (general_small results) is skipped, saying why
    assert result["sections"].pop("forgetting") == "skipped"
    # and its rows carry no category: no per-category results, saying why
    assert result["sections"].pop("per_category") == "skipped"
    for key, status in result["sections"].items():
        assert status in ("written", "partial"), (key, status)
    # only the scaling fit is out of reach with two train sizes, and it says why
    assert all("scaling fit" in s or "needs >= 3" in s or "general_small" in s
               or "carry no category" in s for s in result["skipped"])
    for heading in ("Overall ranking", "Significance", "Paired per-sample", "Base vs fine-tuned"):
        assert heading in text


def test_meta_from_names_and_model_files(study_report, report_study):
    result, _ = study_report
    ranking = _table(result, "ranking").set_index("model")
    assert ranking.loc["tiny-lora-16", "train_size"] == 16
    assert ranking.loc["tiny-lora-48", "train_size"] == 48
    assert pd.isna(ranking.loc["tiny-base", "train_size"])
    assert set(ranking["family"]) == {"Tiny"}
    index = json.loads((report_study / "index.json").read_text())
    model_dir = index["models"]["tiny-base"]["spec"]["pretrained"]
    params = json.loads((Path(model_dir) / "manifest.json").read_text())["parameters"]
    assert ranking.loc["tiny-base", "params_b"] == pytest.approx(params / 1e9)


def test_overall_and_metrics_recomputed_from_samples_match_the_results(study_report, report_study):
    result, _ = study_report
    cis = _table(result, "metric_ci")
    for metric in ("overall_score", "summ_rougeL_f1", "summ_bertscore_f1", "title_bertscore_f1",
                   "tag_f1", "type_accuracy", "word_perplexity"):
        rows = cis[cis["metric"] == metric]
        assert len(rows) == 3, metric
        assert np.allclose(rows["value"], rows["reported"], rtol=1e-5, atol=1e-6), metric
        assert (rows["ci_lo"] <= rows["value"] + 1e-12).all()
        assert (rows["value"] <= rows["ci_hi"] + 1e-12).all()
        assert (rows["n"] == LIMIT).all()
    # independent check of one aggregate against lm-eval's own results file
    rouge = [s["rougeL"] for s in _raw(report_study, B, "bmw_summarization")]
    assert task_metrics(report_study / B)["bmw_summarization"]["rougeL"] == pytest.approx(
        np.mean(rouge))


def test_ranking_carries_cis_and_leader_marks(study_report):
    result, _ = study_report
    ranking = _table(result, "ranking")
    assert ranking["vs_leader"].iloc[0] == "leader"
    assert set(ranking["vs_leader"].iloc[1:]) <= {"sig.", "n.s."}
    assert {"ci_lo", "ci_hi", "p_vs_leader", "p_holm", "n_items"} <= set(ranking.columns)
    assert ranking["overall_score"].is_monotonic_decreasing
    pairwise = _table(result, "pairwise_significance")
    assert len(pairwise) == 3 and pairwise["p"].between(0, 1).all()


def test_paired_comparison_counts_match_raw_samples(study_report, report_study):
    result, _ = study_report
    summary = _table(result, "paired_summary").set_index("metric")
    a = {s["doc_id"]: s["rougeL"] for s in _raw(report_study, A, "bmw_summarization")}
    b = {s["doc_id"]: s["rougeL"] for s in _raw(report_study, B, "bmw_summarization")}
    d = np.array([b[i] - a[i] for i in sorted(a)])
    row = summary.loc["summ_rougeL_f1"]
    assert (row["b_better"], row["b_worse"], row["similar"]) == (
        (d > 0.01).sum(), (d < -0.01).sum(), (abs(d) <= 0.01).sum())
    assert row["diff"] == pytest.approx(d.mean()) and 0 <= row["p"] <= 1
    assert "McNemar" in summary.loc["type_accuracy", "test"]
    assert "permutation" in row["test"]
    examples = _table(result, "paired_examples")
    assert len(examples) <= 6 and set(examples["metric"]) <= {"summ_rougeL_f1"}
    assert ((examples["direction"] == "B better") == (examples["delta"] > 0)).all()


def test_qualitative_samples_side_by_side(study_report):
    result, _ = study_report
    q = _table(result, "qualitative_samples")
    assert {"prompt", "expected", "pred_a", "pred_b"} <= set(q.columns)
    counts = q.groupby("task").size()
    assert set(counts.index) == {"bmw_summarization", "bmw_title", "bmw_tags", "bmw_type"}
    assert (counts == 3).all()
    assert q["prompt"].str.len().max() <= 160


def test_base_vs_finetuned_per_class_and_confusion(study_report, report_study):
    result, _ = study_report
    table = _table(result, "base_vs_finetuned")
    assert set(table["base"]) == {A} and set(table["model"]) == {"tiny-lora-16", "tiny-lora-48"}
    assert {"summ_length_ratio", "summ_pred_words", "overall_score"} <= set(table["metric"])
    assert table.loc[table["metric"] == "overall_score", "p"].notna().all()
    per_class = _table(result, "per_class_accuracy")
    gold = pd.Series([s["doc"]["type"] for s in _raw(report_study, A, "bmw_type")]).value_counts()
    mine = per_class[(per_class["model"] == A) & (per_class["task"] == "bmw_type")]
    assert mine.set_index("class")["n"][gold.index].tolist() == gold.tolist()
    confusion = _table(result, "confusion")
    assert confusion.groupby(["model", "task"])["count"].sum().eq(LIMIT).all()


def test_training_runs_and_loss_curves(study_report):
    result, _ = study_report
    runs = _table(result, "training_runs").set_index("run")
    assert runs.loc["tiny-lora-16", "model"] == "tiny-lora-16"
    assert runs.loc["tiny-lora-48", "trainable_params"] == 12345
    assert "loss_curves" in result["plots"]
    assert any("tiny-lora-99" in n for n in result["notes"])


def test_all_plots_are_valid_pngs_listed_in_summary(study_report):
    result, _ = study_report
    expected = {"ranking", "task_summarization", "task_title", "task_tags_type",
                "score_vs_train_size", "perplexity", "loss_curves"}
    assert expected <= set(result["plots"])
    assert any(name.startswith("confusion_") for name in result["plots"])
    summary = result["summary"].read_text()
    for path in result["plots"].values():
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            assert img.format == "PNG" and min(img.size) > 100
        assert f"plots/{path.name}" in summary


def test_rerun_is_deterministic(study_report, report_study, report_runs, tmp_path):
    result, _ = study_report
    again = report_main(report_study, tmp_path, runs=report_runs, compare=(A, B),
                        metric="summ_rougeL_f1", n_samples=3, console=_quiet())
    for name in ("ranking", "metric_ci", "paired_summary"):
        pd.testing.assert_frame_equal(_table(result, name), _table(again, name))
    assert again["seconds"] < 60


def test_model_with_missing_task_is_reported(report_study, tmp_path):
    study = tmp_path / "study"
    shutil.copytree(report_study, study, ignore=shutil.ignore_patterns("cache"))
    index = json.loads((study / "index.json").read_text())
    entry = index["models"][B]["tasks"]["bmw_tags"]
    (study / B / entry["results_file"]).unlink()
    samples_file(study / B, "bmw_tags").unlink()
    index["models"][B]["tasks"]["bmw_tags"] = {"status": "failed", "error": "ValueError: boom"}
    index["models"][B]["status"] = "failed"
    (study / "index.json").write_text(json.dumps(index))
    result = report_main(study, tmp_path / "out", console=_quiet())
    notes = " ".join(result["notes"])
    assert f"model {B}: task bmw_tags failed (ValueError: boom)" in notes
    assert f"model {B}: overall score not computed, missing tag_jaccard, tag_f1" in notes
    assert B not in set(_table(result, "ranking")["model"])
    assert result["sections"]["paired"] == "written"
    assert "boom" in result["summary"].read_text()


def test_bad_study_inputs(report_study, tmp_path):
    (tmp_path / "index.json").write_text(json.dumps({"settings": {}, "models": {}}))
    with pytest.raises(InputError, match="lists no models"):
        report_main(tmp_path, tmp_path / "out", console=_quiet())
    (tmp_path / "index.json").write_text(json.dumps(
        {"settings": {}, "models": {"ghost": {"status": "failed", "tasks": {}}}}))
    with pytest.raises(InputError, match="no model has any results"):
        report_main(tmp_path, tmp_path / "out", console=_quiet())
    with pytest.raises(InputError, match="ambiguous"):
        report_main(report_study, tmp_path / "o2", metric="rougeL", console=_quiet())
    with pytest.raises(InputError, match="nobody"):
        report_main(report_study, tmp_path / "o3", compare=("nobody", A), console=_quiet())


def test_study_without_sample_logs_skips_cis_with_reason(report_study, tmp_path):
    study = tmp_path / "study"
    shutil.copytree(report_study, study, ignore=shutil.ignore_patterns("cache", "samples_*"))
    result = report_main(study, tmp_path / "out", console=_quiet())
    assert result["sections"]["significance"] == "skipped"
    assert result["sections"]["paired"] == "skipped"
    assert any("no per-sample logs" in n for n in result["notes"])
    assert "need per-sample results" in result["summary"].read_text()
    assert "ci_lo" not in _table(result, "ranking").columns


def test_findings_baselines_and_notes_on_a_finished_study(study_report, report_study):
    """The findings, class baselines and answer-health notes re-derived from the raw files."""
    result, text = study_report
    assert text.index("Key findings") < text.index("1. Overall ranking")
    found = _table(result, "findings").set_index("key")["finding"]
    ranking = _table(result, "ranking")
    leader = ranking.iloc[0]
    assert found["leader"].startswith(f"**{leader['model']}** leads on overall_score with "
                                      f"{leader['overall_score']:.4f}")
    tied = ranking[ranking["vs_leader"] == "n.s."]["model"].tolist()
    for model in tied:
        assert model in found["leader"].split("not distinguishable from it")[1]
    rec = _table(result, "recommendations").set_index("recommendation")
    assert (rec.loc["best overall", "winner"] == leader["model"]) == (not tied)
    adjacent = _table(result, "adjacent_ranks")
    assert len(adjacent) == 2 and set(adjacent["verdict"]) <= {
        "resolved", "below MDE", "not significant"}
    # class baselines from the raw per-sample gold labels and parsed answers
    base = _table(result, "class_baselines")
    for model in (A, B):
        gold = pd.Series([s["doc"]["type"] for s in _raw(report_study, model, "bmw_type")])
        row = base[(base["model"] == model) & (base["task"] == "bmw_type")].iloc[0]
        assert row["majority_acc"] == pytest.approx(gold.value_counts().iloc[0] / len(gold))
        assert row["n"] == LIMIT and row["chance_acc"] == 0.25
        raw_acc = np.mean([s["acc"] for s in _raw(report_study, model, "bmw_type")])
        assert row["accuracy"] == pytest.approx(raw_acc)
        assert row["acc_lo"] <= row["accuracy"] <= row["acc_hi"]
    # every task with >= 90% unparseable answers is a note, per model (the tiny models never parse)
    for model in result["models"]:
        for task, values in task_metrics(report_study / model).items():
            flagged = any(n.startswith(f"model {model}: {task} — ") and "unparseable" in n
                          for n in result["notes"])
            assert flagged == (values.get("unparseable", 0) >= 0.9), (model, task)
    page = result["page"].read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(result["plots"])
    cis = _table(result, "metric_ci")
    assert set(cis[cis["metric"] == "type_accuracy"]["ci_method"]) == {"Wilson"}


def test_answer_format_budgets_and_truncation_per_model_and_task(study_report, report_study):
    """The 4c table carries, per model and generative task, the runner's recorded budget hits
    and truncated prompts and lm-eval's unparseable rate, exactly as the results files hold them."""
    result, text = study_report
    table = _table(result, "answer_format")
    assert "Answer format, generation budgets" in text
    generative = {"bmw_summarization", "bmw_title", "bmw_tags", "bmw_type"}
    assert set(zip(table["model"], table["task"])) == {
        (m, t) for m in ("tiny-base", "tiny-lora-16", "tiny-lora-48") for t in generative}
    for row in table.itertuples():
        block = json.loads(completed_tasks(report_study / row.model)[row.task].read_text())
        gen = block["ftbench"]["generation"][row.task]
        prompts = block["ftbench"]["prompts"][row.task]
        assert (row.n, row.max_gen_toks) == (gen["n"], gen["max_gen_toks"])
        assert row.n == LIMIT
        assert row.budget_hit_rate == pytest.approx(gen["budget_hit_rate"])
        assert row.prompts_truncated == prompts["truncated"]
        assert row.unparseable == pytest.approx(block["results"][row.task]["unparseable,none"])
