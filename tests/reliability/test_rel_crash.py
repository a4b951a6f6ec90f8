"""Crashes and signals: truncated files are named and recomputed, leftovers cleaned, SIGINT and
SIGTERM end with one line, exit 130 and `interrupted` statuses, and a re-run resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from cli_helpers import SAMPLE, cli_env, ftbench_cmd, in_process, index, metrics

from ftbench.eval.results_files import completed_tasks

TASKS = ["bmw_perplexity", "bmw_type_mc"]
EVAL = ["--tasks", ",".join(TASKS), "--limit", "2", "--backend", "hf"]


def test_truncated_results_index_and_status_are_named_and_recomputed(
        tmp_path, capsys, tiny_model):
    res = tmp_path / "results"
    assert in_process(capsys, "eval", "--models", f"m1={tiny_model}", "--out", res, *EVAL).rc == 0
    before = metrics(res, "m1")
    broken = completed_tasks(res / "m1")["bmw_type_mc"]
    kept = completed_tasks(res / "m1")["bmw_perplexity"]
    kept_mtime = kept.stat().st_mtime_ns
    for path, size in ((broken, 120), (res / "index.json", 40), (res / "m1" / "status.json", 30)):
        with path.open("r+b") as fh:
            fh.truncate(size)
    # partial outputs of a killed worker and of a killed preparation are cleaned on start
    (res / "m1" / ".partial-deadbeef").mkdir()
    (res / "m1" / ".partial-deadbeef" / "results_x.json").write_text("{")

    again = in_process(capsys, "eval", "--models", f"m1={tiny_model}", "--out", res, *EVAL)
    assert again.rc == 0, again.err
    text = " ".join((again.out + again.err).split())
    assert f"{broken.name}" in text and "invalid JSON" in text and ".corrupt" in text
    assert (broken.parent / (broken.name + ".corrupt")).is_file()
    assert not (res / "m1" / ".partial-deadbeef").exists()
    assert metrics(res, "m1") == before
    assert kept.stat().st_mtime_ns == kept_mtime  # the intact task was not recomputed
    entry = index(res)["models"]["m1"]
    assert entry["status"] == "complete" and set(entry["tasks"]) == set(TASKS)
    # the report reads the repaired directory without complaint
    assert in_process(capsys, "report", res, "--out", tmp_path / "report").rc == 0


def test_partial_preparation_is_cleaned_and_a_missing_manifest_is_refused(tmp_path, capsys,
                                                                          tiny_model):
    data = tmp_path / "data"
    args = ["data", "prepare", SAMPLE, "--out", data, "--sizes", "16", "--test-size", "16"]
    assert in_process(capsys, *args).rc == 0
    (data / ".partial-prepare-1-2").mkdir()
    (data / "manifest.json").unlink()  # killed between moving the files and the manifest
    out = in_process(capsys, "eval", "--models", f"m={tiny_model}", "--out", tmp_path / "r",
                     "--metadata", json.dumps({"bmw_data": str(data)}), *EVAL)
    assert out.rc == 2 and "manifest.json: not found" in out.err and "interrupted" in out.err
    assert in_process(capsys, *args).rc == 0
    assert sorted(p.name for p in data.iterdir()) == [".ftbench", "manifest.json", "test.jsonl",
                                                      "train_16.jsonl"]


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def _interrupt(proc: subprocess.Popen, sig: int, group: bool) -> tuple[int, str]:
    if group:  # Ctrl-C in a terminal signals the whole foreground process group
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def _check_one_line(err: str, name: str) -> None:
    assert "Traceback" not in err, err[-3000:]
    last = [line for line in err.splitlines() if line.strip()][-1]
    assert last.startswith(f"ftbench: interrupted ({name})"), last


@pytest.mark.slow
def test_sigterm_and_sigint_during_eval_end_cleanly_and_resume(tmp_path, tiny_model):
    res = tmp_path / "results"
    tasks = ["bmw_perplexity", "bmw_type_mc", "bmw_type", "bmw_tags"]
    cmd = ftbench_cmd("eval", "--models", f"m1={tiny_model},m2={tiny_model}", "--out", res,
                      "--tasks", ",".join(tasks), "--limit", "3", "--backend", "hf")

    def start() -> subprocess.Popen:
        return subprocess.Popen(cmd, env=cli_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    proc = start()
    _wait_for(lambda: len(completed_tasks(res / "m1")) >= 1, proc)
    rc, err = _interrupt(proc, signal.SIGTERM, group=False)
    assert rc == 130, err[-3000:]
    _check_one_line(err, "SIGTERM")
    statuses = {m: e["status"] for m, e in index(res)["models"].items()}
    assert "interrupted" in statuses.values() and "running" not in statuses.values(), statuses
    interrupted = [m for m, s in statuses.items() if s == "interrupted"]
    for m in interrupted:
        tasks_state = index(res)["models"][m]["tasks"]
        assert "running" not in {t["status"] for t in tasks_state.values()}, tasks_state

    done = {t: p.stat().st_mtime_ns for t, p in completed_tasks(res / "m1").items()}
    left_over = set(res.rglob(".partial-*"))
    proc = start()
    # Ctrl-C while a task of the resumed run is being evaluated (its .partial- directory exists):
    # waiting for a *completed* task instead raced the run's end when only one task was left
    _wait_for(lambda: bool(set(res.rglob(".partial-*")) - left_over), proc)
    rc, err = _interrupt(proc, signal.SIGINT, group=True)
    assert rc == 130, err[-3000:]
    _check_one_line(err, "SIGINT")
    assert "interrupted" in {e["status"] for e in index(res)["models"].values()}

    finished = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=900)
    assert finished.returncode == 0, finished.stderr[-3000:]
    for m in ("m1", "m2"):
        assert set(completed_tasks(res / m)) == set(tasks)
        assert index(res)["models"][m]["status"] == "complete"
    for task, mtime in done.items():
        assert completed_tasks(res / "m1")[task].stat().st_mtime_ns == mtime, task
    assert metrics(res, "m1") == metrics(res, "m2")  # same model, same numbers, after 2 signals
    assert not list(res.rglob(".partial-*"))


@pytest.mark.slow
def test_sigterm_during_training_keeps_finished_runs(tmp_path, tiny_model, prepared):
    runs = tmp_path / "runs"
    config = tmp_path / "t.yaml"
    config.write_text(yaml.safe_dump({
        "output_dir": str(runs), "data_dir": str(prepared), "method": "lora", "backend": "peft",
        "grid": {"models": [{"path": str(tiny_model), "name": "tiny"}], "sizes": [16, 32]},
        "lora": {"r": 4, "alpha": 8}, "learning_rate": 3e-3, "max_steps": 4, "batch_size": 2,
        "max_seq_length": 256, "eval_fraction": 0.0, "logging_steps": 1}))
    proc = subprocess.Popen(ftbench_cmd("train", config), env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)

    def second_run_training() -> bool:
        return ((runs / "tiny-16" / "manifest.json").is_file()
                and any(".tiny-32.tmp-" in p.name for p in runs.iterdir()))

    # a state, not a time: the grid is stopped (SIGSTOP) while the state is read, so the signal
    # lands while the second run trains, however fast the machine (no skip, no race)
    deadline = time.monotonic() + 600
    while True:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "timed out waiting for the second run"
        if second_run_training():
            os.killpg(proc.pid, signal.SIGSTOP)
            if second_run_training():
                proc.send_signal(signal.SIGTERM)
                os.killpg(proc.pid, signal.SIGCONT)
                break
            os.killpg(proc.pid, signal.SIGCONT)
        time.sleep(0.02)
    _, err = proc.communicate(timeout=300)
    rc = proc.returncode
    assert rc == 130, err[-3000:]
    _check_one_line(err, "SIGTERM")
    grid = json.loads((runs / "grid_index.json").read_text())["runs"]
    assert grid["tiny-16"]["status"] == "complete"
    assert grid["tiny-32"]["status"] == "interrupted"
    assert not [p for p in runs.iterdir() if ".tmp-" in p.name]  # staging removed on the way out
    assert not (runs / "tiny-32").exists()
    done = (runs / "tiny-16" / "manifest.json").stat().st_mtime_ns
    finished = subprocess.run(ftbench_cmd("train", config), env=cli_env(),
                              capture_output=True, text=True, timeout=900)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert (runs / "tiny-16" / "manifest.json").stat().st_mtime_ns == done
    assert json.loads((runs / "tiny-32" / "manifest.json").read_text())["status"] == "complete"


def test_status_files_make_the_index(tmp_path, capsys, tiny_model):
    """index.json is derived: deleting it loses nothing; each model's status is its own file."""
    res = tmp_path / "results"
    assert in_process(capsys, "eval", "--models", f"a={tiny_model}", "--out", res,
                      "--tasks", "bmw_perplexity", "--limit", "2", "--backend", "hf").rc == 0
    assert in_process(capsys, "eval", "--models", f"b={tiny_model}", "--out", res,
                      "--tasks", "bmw_perplexity", "--limit", "2", "--backend", "hf").rc == 0
    first = index(res)["models"]
    # the truncated-prompt counts the worker records per task (ftbench.prompts) reach the index
    results = completed_tasks(res / "a")["bmw_perplexity"]
    data = json.loads(results.read_text())
    counts = {"context_length": 8192, "n": 2, "truncated": 1, "truncated_rate": 0.5}
    data["ftbench"]["prompts"] = {"bmw_perplexity": counts}
    results.write_text(json.dumps(data))
    (res / "index.json").unlink()
    assert in_process(capsys, "eval", "--models", f"a={tiny_model},b={tiny_model}", "--out", res,
                      "--tasks", "bmw_perplexity", "--limit", "2", "--backend", "hf").rc == 0
    rebuilt = index(res)["models"]
    assert list(rebuilt) == ["a", "b"]
    assert rebuilt["a"]["tasks"]["bmw_perplexity"]["prompts"] == counts
    assert {m: e["status"] for m, e in rebuilt.items()} == {m: e["status"] for m, e in first.items()}
    for m in ("a", "b"):
        status = json.loads((res / m / "status.json").read_text())
        assert status["fingerprint"]["digest"] == rebuilt[m]["fingerprint"]["digest"]
    assert Path(res / ".ftbench" / "settings.json").is_file()
