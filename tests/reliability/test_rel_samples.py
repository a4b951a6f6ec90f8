"""A task is complete only when its per-sample log is: a results file beside a truncated samples
file (a disk that filled up during the evaluation) is named and evaluated again; an untouched one,
or one from before the record whose log is whole, is reused (ftbench/eval/sample_logs.py)."""

from __future__ import annotations

import json

from cli_helpers import in_process

from ftbench.eval.results_files import completed_tasks, samples_file
from ftbench.report.loading import _samples_problems

EVAL = ["--tasks", "bmw_type", "--limit", "3", "--backend", "hf"]


def test_truncated_samples_file_is_named_and_the_task_evaluated_again(tmp_path, capsys,
                                                                      tiny_model):
    res = tmp_path / "results"
    run = ("eval", "--models", f"m1={tiny_model}", "--out", res, *EVAL)
    assert in_process(capsys, *run).rc == 0
    first = completed_tasks(res / "m1")["bmw_type"]
    record = json.loads(first.read_text())["ftbench"]["samples"]["bmw_type"]
    samples = samples_file(res / "m1", "bmw_type")
    assert record["lines"] == 3 and record["file"] == samples.name
    stamp = first.stat().st_mtime_ns

    again = in_process(capsys, *run)  # untouched: reused
    assert again.rc == 0 and first.stat().st_mtime_ns == stamp
    assert completed_tasks(res / "m1") == {"bmw_type": first}

    # results from before the record: reused while the log is whole
    sealed = first.read_text()
    data = json.loads(sealed)
    del data["ftbench"]["samples"]
    first.write_text(json.dumps(data, indent=2))
    assert completed_tasks(res / "m1") == {"bmw_type": first}
    first.write_text(sealed)

    with samples.open("r+b") as fh:  # the disk filled up mid-line
        fh.truncate(samples.stat().st_size // 2)
    problems = _samples_problems(res / "m1")  # the report names it too
    assert len(problems) == 1 and problems[0].startswith(f"{samples.name} is truncated or changed")
    third = in_process(capsys, *run)
    assert third.rc == 0, third.err
    text = " ".join((third.out + third.err).split())
    assert f"{samples.name} is truncated or changed" in text, text
    assert "bmw_type evaluated again" in text, text
    assert (samples.parent / (samples.name + ".incomplete")).is_file()
    assert (first.parent / (first.name + ".incomplete")).is_file()
    now = completed_tasks(res / "m1")["bmw_type"]
    assert now != first
    assert json.loads(now.read_text())["ftbench"]["samples"]["bmw_type"]["lines"] == 3
    entry = json.loads((res / "index.json").read_text())["models"]["m1"]
    assert entry["status"] == "complete"
