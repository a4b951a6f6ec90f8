"""The general_small suite through lm-eval: lm-eval's own task definitions under new names, the
data from the bundled fixtures, and the stock CLI on the tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftbench.core.paths import TASKS_DIR
from ftbench.eval.tasks import expand_tasks, task_manager
from ftbench.suites.general.data import SAMPLE_DIR, read_split

UPSTREAM = {"general_small_mmlu_high_school_computer_science": "mmlu_high_school_computer_science",
            "general_small_hellaswag": "hellaswag", "general_small_gsm8k": "gsm8k"}
SAME = ("doc_to_text", "doc_to_target", "doc_to_choice", "description", "output_type",
        "metric_list", "filter_list", "generation_kwargs", "num_fewshot", "fewshot_split",
        "target_delimiter", "fewshot_delimiter", "test_split", "validation_split",
        "training_split", "dataset_path", "dataset_name")
META = {"general_data": "sample", "general_n": 6}


@pytest.fixture(scope="module")
def tm():
    return task_manager(TASKS_DIR, META)


def test_group_expands_to_prefixed_tasks_and_never_shadows_builtins(tm):
    assert expand_tasks(["general_small"], tm) == list(UPSTREAM)
    for ours, builtin in UPSTREAM.items():
        entry = tm.task_index[builtin]  # the built-in is still lm-eval's own file
        assert "/lm_eval/tasks/" in entry.yaml_path.as_posix()
        assert tm.task_index[ours].yaml_path.parent == TASKS_DIR / "general_small"


def test_tasks_keep_the_upstream_prompt_metrics_and_filters(tm):
    from lm_eval.tasks._yaml_loader import load_yaml

    loaded = tm.load(["general_small"])["tasks"]
    assert set(loaded) == set(UPSTREAM)
    for ours, builtin in UPSTREAM.items():
        task = loaded[ours]
        upstream = load_yaml(tm.task_index[builtin].yaml_path, resolve_func=True)
        for key in SAME:
            assert getattr(task.config, key) == upstream.get(key, getattr(task.config, key)), \
                (ours, key)
        if "process_docs" in upstream:
            assert task.config.process_docs is upstream["process_docs"]
        assert task.config.task == ours
        meta = task.config.metadata
        assert meta["version"] == 1.0 and meta["upstream_task"] == builtin
        assert meta["upstream_version"] == upstream["metadata"]["version"]


def test_documents_come_from_the_fixtures_subsampled(tm):
    loaded = tm.load(["general_small"])["tasks"]
    gsm = loaded["general_small_gsm8k"]
    fixture = {r["question"] for r in read_split(SAMPLE_DIR, "gsm8k", "test")}
    docs = list(gsm.eval_docs)
    assert len(docs) == META["general_n"] and {d["question"] for d in docs} <= fixture
    assert gsm.config.num_fewshot == 5  # upstream's 5-shot, drawn from the fixtures' train split
    shots = {r["question"] for r in read_split(SAMPLE_DIR, "gsm8k", "train")}
    assert {d["question"] for d in gsm.fewshot_docs()} == shots
    hs = loaded["general_small_hellaswag"]
    doc = hs.eval_docs[0]
    # upstream process_docs ran: query built from activity label + contexts, brackets removed
    assert doc["query"].startswith(doc["activity_label"] + ": ") and "[" not in doc["query"]
    mmlu = loaded["general_small_mmlu_high_school_computer_science"]
    first = mmlu.eval_docs[0]
    assert mmlu.doc_to_text(first).endswith("\nD. " + first["choices"][3] + "\nAnswer:")


def test_yaml_files_have_a_run_command_header():
    for path in Path(TASKS_DIR, "general_small").glob("*.yaml"):
        assert path.read_text().startswith("# lm_eval "), path


@pytest.mark.slow
def test_stock_lm_eval_cli_runs_general_small_on_the_fixtures(tiny_model, tmp_path):
    """`lm_eval --include_path tasks --tasks general_small --limit 4` with FTBENCH_GENERAL_DATA."""
    env = {**os.environ, "FTBENCH_GENERAL_DATA": str(SAMPLE_DIR)}
    cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf",
           "--model_args", f"pretrained={tiny_model},dtype=float32", "--device", "cpu",
           "--include_path", str(TASKS_DIR), "--tasks", "general_small", "--limit", "4",
           "--batch_size", "4",  # one GSM8K generation batch (upstream: up to 256 new tokens)
           "--apply_chat_template", "--log_samples", "--output_path", str(tmp_path / "out")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = list((tmp_path / "out").rglob("results_*.json"))
    results = json.loads(results_file.read_text())["results"]
    expected = {"general_small_mmlu_high_school_computer_science": {"acc,none"},
                "general_small_hellaswag": {"acc,none", "acc_norm,none"},
                "general_small_gsm8k": {"exact_match,strict-match",
                                        "exact_match,flexible-extract"}}
    for task, keys in expected.items():
        assert keys <= set(results[task]), (task, results[task])
        for key in keys:
            assert 0.0 <= results[task][key] <= 1.0
    # every logged document is a fixture item, four per task
    (gsm_samples,) = list((tmp_path / "out").rglob("samples_general_small_gsm8k_*.jsonl"))
    lines = [json.loads(line) for line in gsm_samples.open()]
    fixture = {r["question"] for r in read_split(SAMPLE_DIR, "gsm8k", "test")}
    assert {line["doc"]["question"] for line in lines} <= fixture
    assert len({line["doc_id"] for line in lines}) == 4
