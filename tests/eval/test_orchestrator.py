"""`evaluate_models` (ftbench/eval/orchestrator.py): one invocation over several models, results +
index, fault isolation, resume after kill -9, the same numbers as lm-eval by hand."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from ftbench.eval.orchestrator import EvalSettings, evaluate_models
from ftbench.eval.results_files import completed_tasks, samples_file, task_metrics
from ftbench.eval.specs import ModelSpec

TASKS = ["bmw_type", "bmw_tags", "bmw_type_mc", "bmw_perplexity"]


def _quiet() -> Console:
    return Console(file=open(os.devnull, "w"), width=120)


@pytest.mark.slow
def test_three_models_one_invocation_with_a_broken_one(tiny_model, tiny_adapter, tmp_path):
    models = [ModelSpec("base", str(tiny_model)),
              ModelSpec("lora", str(tiny_model), adapter=str(tiny_adapter)),
              ModelSpec("broken", str(tmp_path / "does-not-exist")),
              ModelSpec("base-again", str(tiny_model))]
    settings = EvalSettings(tasks=TASKS, backend="hf", limit=3)
    index = evaluate_models(models, settings, tmp_path / "study", _quiet()).data
    ok = ("base", "lora", "base-again")
    assert {m: index["models"][m]["status"] for m in index["models"]} == {
        "base": "complete", "lora": "complete", "broken": "failed", "base-again": "complete"}
    assert "does-not-exist" in index["models"]["broken"]["error"]
    for m in ok:
        assert set(completed_tasks(tmp_path / "study" / m)) == set(TASKS)
        assert samples_file(tmp_path / "study" / m, "bmw_type") != samples_file(
            tmp_path / "study" / m, "bmw_type_mc")
    on_disk = json.loads((tmp_path / "study" / "index.json").read_text())
    assert on_disk["models"]["lora"]["spec"]["adapter"] == str(tiny_adapter)
    assert on_disk["versions"]["lm_eval"]
    metrics = {m: task_metrics(tmp_path / "study" / m) for m in ok}
    # same model, same settings → same numbers; the adapter changes the model
    assert metrics["base"] == metrics["base-again"]
    assert (metrics["lora"]["bmw_perplexity"]["word_perplexity"]
            != metrics["base"]["bmw_perplexity"]["word_perplexity"])

    # adding a model to the finished study evaluates only that model
    before = {m: sorted(p.name for p in (tmp_path / "study" / m).glob("results_*")) for m in ok}
    models.append(ModelSpec("late", str(tiny_model)))
    index = evaluate_models(models, settings, tmp_path / "study", _quiet()).data
    assert index["models"]["late"]["status"] == "complete"
    for m in ok:
        assert sorted(p.name for p in (tmp_path / "study" / m).glob("results_*")) == before[m]


@pytest.mark.slow
def test_killed_invocation_resumes_without_recomputing(tiny_model, tmp_path):
    out = tmp_path / "study"
    cmd = [sys.executable, "-m", "ftbench.cli.main", "eval", "--models",
           f"m1={tiny_model},m2={tiny_model}", "--tasks", ",".join(TASKS), "--out", str(out),
           "--backend", "hf", "--limit", "3"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(completed_tasks(out / "m1")) < 2:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {t: p.stat().st_mtime_ns for t, p in completed_tasks(out / "m1").items()}
    assert 2 <= len(finished) < 2 * len(TASKS)
    assert not list(out.glob("m1/results_*.tmp")), "no half-written results"
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    after = completed_tasks(out / "m1")
    assert set(after) == set(TASKS) and set(completed_tasks(out / "m2")) == set(TASKS)
    for task, mtime in finished.items():
        assert after[task].stat().st_mtime_ns == mtime, f"{task} was recomputed"
    index = json.loads((out / "index.json").read_text())
    assert all(m["status"] == "complete" for m in index["models"].values())


def _readme_pair() -> tuple[list[str], list[str]]:
    """The README's "Evaluate your own model" commands: `ftbench eval` and stock `lm_eval`."""
    from docs_blocks import REPO, section_commands

    readme, heading = REPO / "README.md", "Evaluate your own model"
    ours = [c.argv for c in section_commands(readme, heading, "ftbench") if c.argv[1] == "eval"]
    direct = [c.argv for c in section_commands(readme, heading, "lm_eval")]
    assert len(ours) == 1 and len(direct) == 1, "README: the eval / lm_eval pair is gone"
    return ours[0], direct[0]


def _on(argv: list[str], model: Path, out_flag: str, out: Path) -> list[str]:
    """A README command on `model`, two tasks and 4 documents, writing to `out`."""
    from ftbench.core.paths import TASKS_DIR

    argv = [w.replace("path/to/model", str(model)).replace("$(ftbench tasks-path)", str(TASKS_DIR))
            for w in argv]
    argv[argv.index("--tasks") + 1] = "bmw_tags,bmw_type"
    argv[argv.index(out_flag) + 1] = str(out)
    return [*argv, "--limit", "4"]


@pytest.mark.slow
def test_study_entry_equals_direct_lm_eval_run(tiny_model, tmp_path):
    """`lm_eval` by hand on one model gives the numbers of that model's entry in the study: the
    README's pair of commands, as written there, on the tiny model (two tasks, 4 documents)."""
    from ftbench.cli.main import main

    ours, direct_cmd = _readme_pair()
    ours = _on(ours, tiny_model, "--out", tmp_path / "study")
    name = ours[ours.index("--models") + 1].split("=")[0]
    assert main(ours[1:]) == 0
    study = task_metrics(tmp_path / "study" / name)
    cmd = [sys.executable, "-m", "lm_eval",
           *_on(direct_cmd, tiny_model, "--output_path", tmp_path / "direct")[1:]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (res,) = list((tmp_path / "direct").rglob("results_*.json"))
    direct = json.loads(res.read_text())["results"]
    assert set(study) == {"bmw_tags", "bmw_type"}
    for task in ("bmw_tags", "bmw_type"):
        for metric, value in study[task].items():
            assert direct[task][f"{metric},none"] == pytest.approx(value), (task, metric)


@pytest.mark.slow
def test_results_record_context_threads_and_truncated_prompts(tiny_model, bmw500_prepared, tmp_path):
    """The context override, the thread count and the per-task truncated-prompt count reach the
    results file's `ftbench` block (and the override the index settings)."""
    import torch

    before = torch.get_num_threads()
    settings = EvalSettings(tasks=["bmw_title", "bmw_perplexity"], backend="hf", limit=4,
                            metadata={"bmw_data": str(bmw500_prepared)}, context_length=1024,
                            threads=1)
    try:
        index = evaluate_models([ModelSpec("tiny", str(tiny_model))], settings, tmp_path / "s",
                                _quiet()).data
    finally:
        torch.set_num_threads(before)
    assert index["models"]["tiny"]["status"] == "complete", index["models"]["tiny"]
    assert index["settings"]["context_length"] == 1024
    model_dir = tmp_path / "s" / "tiny"
    blocks = {}
    for task, path in completed_tasks(model_dir).items():
        blocks[task] = json.loads(path.read_text())["ftbench"]
    for block in blocks.values():
        assert block["context"] == {"context_length": 1024, "source": "override", "model_limit": 2048}
        assert block["threads"]["torch_intra_op"] == 1 and block["threads"]["source"] == "setting"
    title = blocks["bmw_title"]["prompts"]["bmw_title"]
    docs = [json.loads(line)["doc"] for line in samples_file(model_dir, "bmw_title").open()]
    cut = sum(d["input_tokens_removed"] > 0 for d in docs)
    assert title == {"context_length": 1024, "n": 4, "truncated": cut, "truncated_rate": cut / 4,
                     "method": "article",
                     "max_tokens_removed": max(d["input_tokens_removed"] for d in docs)}
    assert cut >= 2  # real press articles are longer than ~900 tokens of this tokenizer
    ppl = blocks["bmw_perplexity"]["prompts"]["bmw_perplexity"]
    assert ppl["method"] == "windows" and ppl["window_tokens"] == 1022 and ppl["truncated"] == 0


@pytest.mark.slow
def test_context_override_beyond_the_model_fails_that_model_only(tiny_model, tmp_path):
    settings = EvalSettings(tasks=["bmw_type"], backend="hf", limit=2, context_length=4096)
    index = evaluate_models([ModelSpec("tiny", str(tiny_model))], settings, tmp_path / "s",
                            _quiet()).data
    entry = index["models"]["tiny"]
    assert entry["status"] == "failed" and "exceeds" in entry["error"] and "2048" in entry["error"]
