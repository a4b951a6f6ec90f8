"""`train.merge` and `eval.models` (ftbench/pipelines/study_config.py): fine-tunes evaluated as base
+ adapter from the session's finished study give its merged results, with one base load."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
from rich.console import Console
from study_fixture import OVERRIDES

from ftbench.core.io import InputError
from ftbench.core.paths import CONFIGS_DIR
from ftbench.eval.orchestrator import evaluate_models
from ftbench.eval.results_files import samples_file, task_metrics
from ftbench.pipelines.stage_inputs import eval_settings
from ftbench.pipelines.study_config import load_study_config
from ftbench.train.grid import run_fingerprint


@pytest.mark.parametrize("override, message", [
    ("eval.models=adapter", "config key 'eval.models': must be one of merged, adapters; got "
                            "'adapter' (did you mean 'adapters'?)"),
    ("train.merge=false", "config key 'train.merge': false writes no merged checkpoint, but "
                          "eval.models is 'merged'"),
    ("train.merge=maybe", "config key 'train.merge'"),
])
def test_bad_keys_are_named_at_load(override, message):
    with pytest.raises(InputError, match=re.escape(message)):
        load_study_config(CONFIGS_DIR / "demo.yaml", [override])


def test_the_cli_refuses_merged_evaluation_of_unmerged_runs_with_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ftbench.cli.main", "study",
                           str(CONFIGS_DIR / "demo.yaml"), "train.merge=false",
                           f"out_dir={tmp_path / 'out'}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "train.merge" in proc.stderr and "eval.models" in proc.stderr
    assert not (tmp_path / "out").exists()  # refused before any work


def test_merge_false_is_its_own_training_fingerprint():
    """A run without `merged/` is another output; the default keeps old runs' digests."""
    on = load_study_config(CONFIGS_DIR / "demo.yaml")
    off = load_study_config(CONFIGS_DIR / "demo.yaml",
                            ["train.merge=false", "eval.models=adapters"])
    (cfg_on,), (cfg_off,) = on.train_configs(), off.train_configs()
    run = cfg_on.runs()[0]
    fp_on, fp_off = (run_fingerprint(c, run, "sha", "peft") for c in (cfg_on, cfg_off))
    assert "merge" not in fp_on["config"] and fp_off["config"]["merge"] is False
    assert fp_on["digest"] != fp_off["digest"]


def test_adapters_give_the_merged_results_with_one_base_load(finished_study, tmp_path,
                                                             model_loads):
    """eval.models: adapters on the finished study: every run is BASE::ADAPTER, the base loads
    once for base + 2 adapters, and greedy answers equal the merged checkpoints' own."""
    cfg = load_study_config(CONFIGS_DIR / "demo.yaml", [f"out_dir={finished_study.out}",
                                                        *OVERRIDES, "eval.models=adapters"])
    specs = cfg.model_specs()
    runs = [s for s in specs if s.adapter]
    assert [s.name for s in runs] == [r.name for r in cfg.runs()]
    base = next(s for s in specs if not s.adapter)
    for s in runs:
        assert s.pretrained == base.pretrained
        assert s.adapter == str((cfg.runs_dir / s.name / "adapter").resolve())
    out = tmp_path / "results-adapters"
    store = evaluate_models(specs, eval_settings(cfg, tasks=["bmw_type"]), out,
                            Console(file=io.StringIO()))
    assert model_loads == [base.pretrained]
    entries = store.data["models"]
    assert {n: e["status"] for n, e in entries.items()} == {s.name: "complete" for s in specs}
    assert [entries[s.name]["base_load"]["load"] for s in specs] == [1, 1, 1]
    for s in runs:
        merged = finished_study.cfg.results_dir / s.name
        assert task_metrics(out / s.name)["bmw_type"] == task_metrics(merged)["bmw_type"]
        assert (_responses(samples_file(out / s.name, "bmw_type"))
                == _responses(samples_file(merged, "bmw_type")))


def _responses(path) -> list:
    import json

    return [json.loads(line)["resps"] for line in path.read_text().splitlines()]


def test_switching_to_adapters_never_reuses_the_merged_results(finished_study, tmp_path):
    """The fine-tunes' results of the merged path are refused for base + adapter (another
    model fingerprint), before anything is evaluated; the base's own results stay reusable."""
    import shutil

    results = tmp_path / "results"
    shutil.copytree(finished_study.cfg.results_dir, results, symlinks=True)
    cfg = load_study_config(CONFIGS_DIR / "demo.yaml", [f"out_dir={finished_study.out}",
                                                        *OVERRIDES, "eval.models=adapters"])
    before = {p: p.stat().st_mtime_ns for p in results.rglob("results_*.json")}
    with pytest.raises(InputError) as err:
        evaluate_models(cfg.model_specs(), eval_settings(cfg), results,
                        Console(file=io.StringIO()))
    for run in cfg.runs():
        assert f"model {run.name}: results in" in str(err.value)
    assert "-base: results" not in str(err.value)
    assert {p: p.stat().st_mtime_ns for p in results.rglob("results_*.json")} == before
