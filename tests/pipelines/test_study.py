"""`ftbench study` end to end on the demo config (reduced): the session's finished study
(tests/study_fixture.py) ran as an interrupted study does, and must have reused its first stages;
fine-tuning helps; a re-run (on a copy) redoes nothing."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from rich.console import Console
from study_fixture import copy_study

from ftbench.core.run_manifest import RunManifest
from ftbench.eval.results_files import completed_tasks, task_metrics
from ftbench.pipelines.study import run_study

pytestmark = pytest.mark.slow


def test_demo_study_fine_tuning_beats_base_and_reruns_reuse_work(finished_study, tmp_path):
    cfg = finished_study.cfg
    # an interrupted study: only the first stages ran
    assert finished_study.interrupted["stages"]["train"]["status"] == "complete"
    runs = [cfg.runs_dir / r.name for r in cfg.train_config().runs()]
    assert set(finished_study.trained_at) == {r.name for r in runs}

    # then the whole study: nothing prepared or trained again
    manifest = finished_study.manifest
    assert all(s["status"] == "complete" for s in manifest["stages"].values())
    assert manifest["stages"]["data"]["info"]["skipped"] is True
    assert {r.name: (r / "manifest.json").stat().st_mtime_ns for r in runs} == \
        finished_study.trained_at

    res = cfg.results_dir
    base = task_metrics(res / "tiny-llama-base")
    tuned = task_metrics(res / "tiny-llama-48")
    assert tuned["bmw_type"]["acc"] > base["bmw_type"]["acc"]
    assert tuned["bmw_tags"]["f1"] > base["bmw_tags"]["f1"]
    assert (cfg.report_dir / "summary.md").is_file()

    index = json.loads((res / "index.json").read_text())
    assert set(index["models"]) == {"tiny-llama-base", "tiny-llama-16", "tiny-llama-48"}
    # what each model is travels with it: the run manifests, and the report reads them
    runs = {m: RunManifest.from_dict(e["spec"]["run"], m) for m, e in index["models"].items()}
    assert runs["tiny-llama-base"].role == "base" and runs["tiny-llama-base"].train_size is None
    assert {m: (r.train_size, r.base_evaluated_as) for m, r in runs.items() if r.role != "base"} \
        == {"tiny-llama-16": (16, "tiny-llama-base"), "tiny-llama-48": (48, "tiny-llama-base")}
    assert len({r.params for r in runs.values()}) == 1  # a merged LoRA keeps the base's count
    models = (cfg.report_dir / "tables" / "models.csv").read_text()
    assert "train_size=run manifest" in models and "=name" not in models
    # every merged run was probed against its adapter, and the report shows it
    parity = pd.read_csv(cfg.report_dir / "tables" / "merge_parity.csv")
    assert sorted(parity["run"]) == sorted(r.name for r in cfg.train_config().runs())
    for row in parity.to_dict("records"):
        recorded = json.loads((cfg.runs_dir / row["run"] / "manifest.json").read_text())
        assert recorded["merge_parity"]["ok"] is True and bool(row["ok"])
        assert row["max_abs_logit_diff"] == recorded["merge_parity"]["max_abs_logit_diff"]
    assert "Merge parity: every merged checkpoint (2)" in \
        (cfg.report_dir / "summary.md").read_text()

    # a third run redoes nothing: same results files, same training manifests (on a copy of the
    # study, which the other tests read as it is)
    again = copy_study(finished_study, tmp_path / "demo")
    models = ("tiny-llama-base", "tiny-llama-16", "tiny-llama-48")
    before = {m: dict(completed_tasks(again.results_dir / m)) for m in models}
    trained = {r.name: (again.runs_dir / r.name / "manifest.json").stat().st_mtime_ns
               for r in runs_of(again)}
    rerun = run_study(again, None, Console(file=io.StringIO(), width=120))
    assert all(s["status"] == "complete" for s in rerun["stages"].values())
    assert {m: dict(completed_tasks(again.results_dir / m)) for m in models} == before
    assert {r.name: (again.runs_dir / r.name / "manifest.json").stat().st_mtime_ns
            for r in runs_of(again)} == trained
    assert task_metrics(again.results_dir / "tiny-llama-48") == tuned


def runs_of(cfg):
    return cfg.train_config().runs()
