"""The bmw task suite through stock lm-eval: every YAML loads, every metric is reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftbench.core.io import read_jsonl
from ftbench.core.paths import TASKS_DIR
from ftbench.suites.bmw.prompts import task_prompts

BMW_TASKS = ["bmw_summarization", "bmw_title", "bmw_tags", "bmw_type", "bmw_type_mc",
             "bmw_perplexity"]
EXPECTED_METRICS = {
    "bmw_summarization": {"rouge1", "rouge2", "rougeL", "bertscore_precision", "bertscore_recall",
                          "bertscore_f1", "pred_words", "length_ratio", "unparseable", "score"},
    "bmw_title": {"rouge1", "rouge2", "rougeL", "bertscore_f1", "pred_words", "length_ratio",
                  "unparseable", "score"},
    "bmw_tags": {"exact_match", "jaccard", "precision", "recall", "f1", "pred_tags", "unparseable",
                 "score"},
    "bmw_type": {"acc", "unparseable", "macro_f1", "acc_press_release", "acc_press_kit",
                 "acc_fact_figures", "acc_speech", "score"},
    "bmw_type_mc": {"acc", "acc_norm"},
    "bmw_perplexity": {"word_perplexity", "byte_perplexity", "bits_per_byte"},
}


def test_every_bmw_yaml_is_registered_with_lm_eval():
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_path=str(TASKS_DIR))
    assert set(BMW_TASKS) <= set(tm.all_subtasks)
    assert "bmw" in tm.all_groups


def test_lm_eval_renders_the_prompts_training_used(bmw500_prepared, monkeypatch):
    """The user turn lm-eval builds for a test doc is the one `data prepare` trains on."""
    from lm_eval.tasks import TaskManager

    monkeypatch.setenv("FTBENCH_BMW_DATA", str(bmw500_prepared))
    tm = TaskManager(include_path=str(TASKS_DIR))
    loaded = tm.load(["bmw_tags", "bmw_title"])["tasks"]
    prompts = task_prompts()
    for name, key in (("bmw_tags", "tags"), ("bmw_title", "title")):
        task = loaded[name]
        doc = task.test_docs()[0]
        assert task.doc_to_text(doc) == prompts[key].render_user(doc)
        assert task.config.description == prompts[key].system
        assert task.doc_to_target(doc) == doc["target"]


@pytest.mark.slow
def test_stock_lm_eval_cli_reports_every_metric_on_real_data(tiny_model, bmw500_prepared, tmp_path):
    """`lm_eval --include_path tasks --tasks bmw` on the real 500 articles (limited)."""
    env = {**os.environ, "FTBENCH_BMW_DATA": str(bmw500_prepared)}
    cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf",
           "--model_args", f"pretrained={tiny_model},dtype=float32", "--device", "cpu",
           "--include_path", str(TASKS_DIR), "--tasks", "bmw", "--limit", "3",
           "--apply_chat_template", "--log_samples", "--output_path", str(tmp_path / "out")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = list((tmp_path / "out").rglob("results_*.json"))
    results = json.loads(results_file.read_text())["results"]
    for task, metrics in EXPECTED_METRICS.items():
        reported = {k.split(",")[0] for k in results[task]}
        assert metrics <= reported, f"{task} misses {metrics - reported}"
    assert "score,none" in results["bmw"]  # the group's overall score
    # length_ratio is lm-eval's own `nanmean` aggregation: it comes with a bootstrap stderr
    for task in ("bmw_title", "bmw_summarization"):
        assert isinstance(results[task]["length_ratio_stderr,none"], float)
    # documents come from the real prepared data, not the bundled sample
    samples = list((tmp_path / "out").rglob("samples_bmw_type_2*.jsonl"))
    urls = {json.loads(line)["doc"]["url"] for line in samples[0].open()}
    real_urls = {r["url"] for r in read_jsonl(bmw500_prepared / "test.jsonl")}
    assert urls <= real_urls and all("press.bmwgroup.com" in u for u in urls)
    # perplexity of a 750k-parameter model on real press text is finite and large
    assert 1 < results["bmw_perplexity"]["word_perplexity,none"] < 1e7


def test_task_data_error_names_the_directory(tmp_path, monkeypatch):
    from ftbench.core.io import InputError
    from ftbench.suites.bmw.task_rows import test_rows

    with pytest.raises(InputError, match=str(tmp_path / "test.jsonl")):
        test_rows("tags", str(tmp_path))


def test_bundled_sample_is_the_default_data(monkeypatch):
    from ftbench.suites.bmw.task_rows import test_rows

    monkeypatch.delenv("FTBENCH_BMW_DATA", raising=False)
    rows = test_rows("type")
    assert len(rows) == 16
    assert {r["type"] for r in rows} == {"Press Release", "Press Kit", "Fact & Figures", "Speech"}
    assert all("press.example.com" in r["url"] for r in rows)


def test_task_yaml_files_have_a_run_command_header():
    for path in Path(TASKS_DIR, "bmw").glob("bmw*.yaml"):
        assert path.read_text().startswith("# lm_eval "), path
