"""A merge that changed its model is said in the report, loudly, beside the runs that agree."""

from __future__ import annotations

import json
import shutil

import pandas as pd

from ftbench.report.build import report_main

pytest_plugins = ["report_fixtures"]  # report_study, report_runs


def _parity(ok: bool, diff: float) -> dict:
    return {"prompts": 2, "new_tokens": 8, "dtype": "float32", "max_abs_logit_diff": diff,
            "tolerance": 1e-3, "greedy_tokens_equal": 16 if ok else 9, "greedy_tokens": 16,
            "ok": ok, "adapter_all_zero": diff == 0.0, "note": None if ok else "merged checkpoint differs from its adapter: "
            f"max |Δ logit| {diff:.3g} > 0.001 (what float32 rounding explains)"}


def test_a_broken_merge_is_a_warning_and_a_table_row(report_study, report_runs, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(report_runs, runs)
    for name, parity in (("tiny-lora-16", _parity(True, 0.0)),
                         ("tiny-lora-48", _parity(False, 0.83))):
        path = runs / name / "manifest.json"
        manifest = json.loads(path.read_text())
        path.write_text(json.dumps({**manifest, "merge_parity": parity}))
    result = report_main(report_study, tmp_path / "report", runs=runs)
    table = pd.read_csv(result["tables"]["merge_parity"])
    assert table.set_index("run")["ok"].to_dict() == {"tiny-lora-16": True,
                                                      "tiny-lora-48": False}
    summary = result["summary"].read_text()
    assert "**WARNING — merge parity, tiny-lora-48**: merged checkpoint differs" in summary
    assert "Merge parity: every merged checkpoint" not in summary
    assert "**Adapter had no effect — tiny-lora-16**: every LoRA B weight is zero" in summary
    assert "no effect — tiny-lora-48" not in summary


def test_runs_made_before_the_probe_add_no_table(report_study, report_runs, tmp_path):
    result = report_main(report_study, tmp_path / "report", runs=report_runs)
    assert "merge_parity" not in result["tables"]
