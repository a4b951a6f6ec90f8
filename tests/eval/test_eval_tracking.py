"""Each evaluated model's metrics and the report's headline tables and plots, sent to
TensorBoard and Trackio and read back from what each library wrote: the values are the
results files' (the finished study is read, never changed)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from cli_helpers import REPO, metrics

from ftbench.core.tracking import TrackingConfig
from ftbench.eval.tracking import result_scalars, track_results
from ftbench.report.tracking import HEADLINE_TABLES, report_payload, track_report


def _models(study) -> list[str]:
    return sorted(p.name for p in study.cfg.results_dir.iterdir()
                  if p.is_dir() and not p.name.startswith("."))


def test_scalars_are_the_results_files_metrics(finished_study):
    for model in _models(finished_study):
        scalars = result_scalars(finished_study.cfg.results_dir / model)
        expected = {f"eval/{t}/{m}": v for t, ms in metrics(finished_study.cfg.results_dir,
                                                             model).items()
                    for m, v in ms.items()}
        assert scalars == expected and scalars


def test_tensorboard_reads_back_each_models_metrics_and_the_report(finished_study, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = TrackingConfig(backends="tensorboard", dir=str(tmp_path / "tracking"), project="demo")
    models = _models(finished_study)
    assert track_results(cfg, finished_study.cfg.results_dir, models) == models
    for model in models:
        acc = EventAccumulator(str(cfg.tensorboard_dir(model)))
        acc.Reload()
        read = {tag: acc.Scalars(tag)[-1].value for tag in acc.Tags()["scalars"]}
        assert read == pytest.approx(result_scalars(finished_study.cfg.results_dir / model),
                                     rel=1e-6)
    assert track_report(cfg, finished_study.cfg.out / "report")
    acc = EventAccumulator(str(cfg.tensorboard_dir("report")), size_guidance={"images": 0})
    acc.Reload()
    plots = sorted(p.stem for p in (finished_study.cfg.out / "report" / "plots").glob("*.png"))
    assert sorted(acc.Tags()["images"]) == [f"report/plots/{p}" for p in plots] and plots
    text = acc.Tensors("report/models/text_summary")[-1].tensor_proto.string_val[0].decode()
    first = next(csv.DictReader((finished_study.cfg.out / "report" / "tables" / "models.csv")
                                .open(encoding="utf-8")))
    assert all(str(v) in text for v in first.values())


def test_trackio_reads_back_each_models_metrics_and_the_report(finished_study, tmp_path):
    """In a child process: Trackio fixes its store directory (TRACKIO_DIR) when imported."""
    models = _models(finished_study)
    code = f"""
import json
from pathlib import Path
from ftbench.core.tracking import TrackingConfig
from ftbench.eval.tracking import track_results
from ftbench.report.tracking import track_report
from trackio.sqlite_storage import SQLiteStorage as S
cfg = TrackingConfig(backends="trackio", dir={str(tmp_path / 'tracking')!r}, project="demo")
track_results(cfg, Path({str(finished_study.cfg.results_dir)!r}), {models!r})
track_report(cfg, Path({str(finished_study.cfg.out / 'report')!r}))
print(json.dumps({{run: S.get_logs("demo", run) for run in S.get_runs("demo")}}, default=str))
"""
    env = {**os.environ, "TRACKIO_DIR": str(tmp_path / "trackio"), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    logs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(logs) == sorted([*models, "report"])
    for model in models:
        (row,) = logs[model]
        got = {k: v for k, v in row.items() if k.startswith("eval/")}
        assert got == pytest.approx(result_scalars(finished_study.cfg.results_dir / model))
    (report,) = logs["report"]
    tables, _ = report_payload(finished_study.cfg.out / "report")
    assert {k for k in report if k.startswith("report/") and "plots" not in k} == set(tables)
    for tag, rows in tables.items():
        assert report[tag]["_type"] == "trackio.table"
        assert [{k: str(v) for k, v in r.items()} for r in report[tag]["_value"]] == rows
    assert any(k.startswith("report/plots/") for k in report)
    assert set(HEADLINE_TABLES) >= {f"{t.removeprefix('report/')}.csv" for t in tables}


def test_a_study_with_tracking_sends_its_results_and_retrains_nothing(finished_study, tmp_path):
    """`tracking:` added to a finished study: the eval and report stages reuse everything and
    send each model's metrics and the report to `<out>/tracking/`; no run is retrained."""
    import io

    from rich.console import Console
    from study_fixture import OVERRIDES, copy_study
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from ftbench.core.paths import CONFIGS_DIR
    from ftbench.pipelines.study import run_study
    from ftbench.pipelines.study_config import load_study_config

    plain = copy_study(finished_study, tmp_path / "study")
    cfg = load_study_config(CONFIGS_DIR / "demo.yaml", [f"out_dir={plain.out}", *OVERRIDES,
                                                        "tracking=tensorboard"])
    before = {r.name: (cfg.runs_dir / r.name / "manifest.json").stat().st_mtime_ns
              for r in cfg.runs()}
    run_study(cfg, ["train", "eval", "report"], Console(file=io.StringIO()))
    assert before == {r.name: (cfg.runs_dir / r.name / "manifest.json").stat().st_mtime_ns
                      for r in cfg.runs()}
    assert cfg.tracking.dir == str((plain.out / "tracking").resolve())
    for model in _models(finished_study):
        acc = EventAccumulator(str(cfg.tracking.tensorboard_dir(model)))
        acc.Reload()
        read = {tag: acc.Scalars(tag)[-1].value for tag in acc.Tags()["scalars"]
                if tag.startswith("eval/")}
        assert read == pytest.approx(result_scalars(cfg.results_dir / model), rel=1e-6)
    assert (cfg.tracking.tensorboard_dir("report")).is_dir()
