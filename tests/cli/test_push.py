"""`ftbench push`: what it would upload is checked first (a complete run's model folder with its
card, or a report folder); offline it stops with one line, exit 2, and uploads nothing. No test
reaches the network."""

from __future__ import annotations

import pytest
from cli_helpers import in_process, one_line_error

from ftbench.cli.push import what_to_push


def test_offline_push_is_one_line_for_a_run_and_a_report(finished_study, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run = finished_study.cfg.runs_dir / finished_study.cfg.runs()[0].name
    one_line_error(in_process(capsys, "push", run, "--repo", "org/name"),
                   f"push run {run.name} (merged/)", "Hugging Face Hub is offline",
                   "nothing was uploaded")
    one_line_error(in_process(capsys, "push", run, "--repo", "org/name", "--adapter"),
                   f"push run {run.name} (adapter/)", "offline")
    one_line_error(in_process(capsys, "push", finished_study.cfg.out / "report", "--repo",
                              "org/name"), "push report", "offline")


def test_what_is_pushed(finished_study):
    run = finished_study.cfg.runs_dir / finished_study.cfg.runs()[0].name
    assert what_to_push(run) == (run / "merged", "model", f"run {run.name} (merged/)")
    report = finished_study.cfg.out / "report"
    assert what_to_push(report)[:2] == (report, "dataset")


@pytest.mark.parametrize("make, needle", [
    (lambda d: d, "neither a training run"),
    (lambda d: d / "missing", "not a directory"),
])
def test_anything_else_is_refused_before_the_network(tmp_path, capsys, make, needle):
    one_line_error(in_process(capsys, "push", make(tmp_path), "--repo", "org/name"), needle)
