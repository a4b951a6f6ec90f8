"""`ftbench study --executor ray` on a 2-CPU local Ray cluster: the same metrics and the same
files as the local executor, a broken model fails alone, and a re-run reuses everything.

The grid: the embedded tiny model and a broken base (its config.json names twice the weights'
hidden size) × 2 train sizes, evaluated on bmw_type and bmw_perplexity (3 items each), one torch
thread everywhere so both executors compute with the same kernels.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from ftbench.core.io import InputError
from ftbench.eval.results_files import results_files, task_metrics

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "ftbench" / "sample_data" / "bmw_sample.jsonl"
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d+")
GOOD = ["tiny-base", "tiny-16", "tiny-32"]


def _study(root: Path, tiny_model: Path, executor: str) -> Path:
    out = root / "study"
    (out / "models").mkdir(parents=True)
    (out / "models" / "tiny").symlink_to(tiny_model)
    broken = root / "broken-model"  # passes the study's checks at load, cannot be loaded
    broken.mkdir()
    for f in tiny_model.iterdir():  # (tests of the config alone pass a placeholder folder)
        if f.is_file():
            shutil.copy(f, broken)
    config = json.loads((broken / "config.json").read_text()) if (
        broken / "config.json").is_file() else {"hidden_size": 1}
    (broken / "config.json").write_text(json.dumps({**config,
                                                    "hidden_size": 2 * config["hidden_size"]}))
    config = root / "study.yaml"
    config.write_text(yaml.safe_dump({
        "name": "scale", "out_dir": str(out), "executor": executor, "ray": {"num_cpus": 2},
        "data": {"source": str(SAMPLE), "sizes": [16, 32], "test_size": 16, "seed": 42},
        "models": [{"name": "tiny", "path": "tiny"}, {"name": "broken", "path": str(broken)}],
        "train": {"method": "lora", "backend": "peft", "lora": {"r": 4, "alpha": 8},
                  "learning_rate": 3e-3, "max_steps": 3, "batch_size": 4,
                  "max_seq_length": 256, "eval_fraction": 0.0, "seed": 0, "threads": 1},
        "eval": {"tasks": ["bmw_type", "bmw_perplexity"], "backend": "hf", "limit": 3,
                 "threads": 1}}))
    return config


def _layout(root: Path) -> set[str]:
    """Every file under root, relative, timestamps in lm-eval's file names blanked; the libraries'
    logs of in-process training runs (`.ftbench/logs/`) are left out: a Ray task's go to Ray's
    own worker logs."""
    return {STAMP.sub("*", str(p.relative_to(root))) for p in root.rglob("*")
            if p.is_file() and p.name != "lock" and ".ftbench/logs/" not in str(p)}


def _statuses(results: Path) -> dict[str, str]:
    return {m: e["status"] for m, e in
            json.loads((results / "index.json").read_text())["models"].items()}


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of 2 CPUs and a 128 MiB object store, shut down after the module."""
    ray = pytest.importorskip("ray")
    from ftbench.pipelines.ray_tasks import local_cluster_options

    ray.init(**local_cluster_options(num_cpus=2, object_store_mb=128))
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_gives_the_local_executors_metrics_files_and_exit_code(ray_cluster, tiny_model,
                                                                   tmp_path, capsys):
    from ftbench.cli.main import main

    local_cfg = _study(tmp_path / "local", tiny_model, "local")
    ray_cfg = _study(tmp_path / "ray", tiny_model, "local")  # --executor ray on the command line
    rc_local = main(["study", str(local_cfg)])
    rc_ray = main(["study", str(ray_cfg), "--executor", "ray"])
    capsys.readouterr()
    assert rc_ray == rc_local == 0

    local, remote = tmp_path / "local" / "study", tmp_path / "ray" / "study"
    manifest = json.loads((remote / "manifest.json").read_text())
    assert manifest["stages"]["train"]["info"]["executor"] == "ray"
    # same files, same metrics, same weights
    for part in ("results", "runs"):
        assert _layout(remote / part) == _layout(local / part), part
    for model in GOOD:
        assert task_metrics(remote / "results" / model) == task_metrics(local / "results" / model)
        assert task_metrics(local / "results" / model)["bmw_perplexity"]
    for run in ("tiny-16", "tiny-32"):
        weights = Path("runs", run, "merged", "model.safetensors")
        assert (remote / weights).read_bytes() == (local / weights).read_bytes(), run
    # the broken base failed alone, recorded the same way by both executors
    expected = {**dict.fromkeys(GOOD, "complete"), "broken-base": "failed"}
    assert _statuses(remote / "results") == _statuses(local / "results") == expected
    for root in (local, remote):
        grid = json.loads((root / "runs" / "grid_index.json").read_text())["runs"]
        assert {r: v["status"] for r, v in grid.items()} == {
            "tiny-16": "complete", "tiny-32": "complete", "broken-16": "failed",
            "broken-32": "failed"}
        assert "not found" not in (json.loads((root / "results" / "broken-base" / "status.json")
                                              .read_text())["error"] or "")
    assert (remote / "report" / "summary.md").is_file()

    # a re-run on Ray trains and evaluates nothing that is done (the broken model is retried)
    files = {m: sorted(results_files(remote / "results" / m)) for m in GOOD}
    trained = {r: (remote / "runs" / r / "manifest.json").stat().st_mtime_ns
               for r in ("tiny-16", "tiny-32")}
    assert main(["study", str(ray_cfg), "--executor", "ray"]) == rc_local
    assert {m: sorted(results_files(remote / "results" / m)) for m in GOOD} == files
    assert {r: (remote / "runs" / r / "manifest.json").stat().st_mtime_ns for r in trained} \
        == trained
    grid = json.loads((remote / "runs" / "grid_index.json").read_text())["runs"]
    assert {r: grid[r]["action"] for r in trained} == dict.fromkeys(trained, "skipped")
    assert _statuses(remote / "results") == expected


def test_executor_ray_without_ray_installed_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    from ftbench.cli.main import main

    config = _study(tmp_path, tmp_path, "ray")  # fails before any model is read
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    rc = main(["study", str(config)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2 and len(err) == 1 and "Ray is not installed" in err[0], err
    assert "ftbench[cluster]" in err[0]
    assert not (tmp_path / "study" / "data").exists()  # before any work


def test_an_unknown_executor_is_refused_at_config_load(tmp_path, capsys):
    from ftbench.cli.main import main

    config = _study(tmp_path, tmp_path, "dask")
    rc = main(["study", str(config)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2 and len(err) == 1 and "config key 'executor'" in err[0]
    assert str(config) in err[0]


def test_task_resources_per_model_then_study_then_the_cluster(tmp_path):
    from ftbench.pipelines.ray_executor import _resources
    from ftbench.pipelines.study_config import load_study_config

    config = _study(tmp_path, tmp_path, "ray")
    cfg = load_study_config(config, ["eval.backend=vllm", "eval.model_args.tensor_parallel_size=2"])
    assert _resources(cfg, "tiny", cluster_gpus=0) == {"num_cpus": 1}
    assert _resources(cfg, "tiny", cluster_gpus=8) == {"num_gpus": 2}  # the engine's tp size
    assert _resources(cfg, "tiny", 8, {"pipeline_parallel_size": 2}) == {"num_gpus": 4}
    # a training run holds one GPU, whatever the evaluation engine's parallelism
    assert _resources(cfg, "tiny", cluster_gpus=8, kind="train") == {"num_gpus": 1}
    assert _resources(cfg, "tiny", cluster_gpus=0, kind="train") == {"num_cpus": 1}
    cfg = load_study_config(config, ["ray.resources={num_gpus: 1, num_cpus: 4}"])
    assert _resources(cfg, "tiny", cluster_gpus=8) == {"num_gpus": 1.0, "num_cpus": 4.0}
    cfg.models[1].resources = {"num_gpus": 2.0}
    assert _resources(cfg, "broken", cluster_gpus=8) == {"num_gpus": 2.0}
    with pytest.raises(InputError, match="config key 'ray.resources': gpus"):
        load_study_config(config, ["ray.resources={gpus: 1}"])


def test_gpu_tasks_get_a_fresh_worker_each_call(ray_cluster):
    """A reused worker keeps the CUDA context and cached memory of its last task: on a GPU
    cluster every task is made `max_calls=1` (checked here as real worker processes)."""
    from ftbench.pipelines.ray_executor import remote_task

    def _pid():  # defined here, so that Ray ships it by value (the test module is not importable)
        return __import__("os").getpid()

    fresh = remote_task(ray_cluster, _pid, gpu_cluster=True)
    reused = remote_task(ray_cluster, _pid, gpu_cluster=False)
    assert fresh._default_options["max_calls"] == 1
    fresh_pids = [ray_cluster.get(fresh.options(num_cpus=2).remote()) for _ in range(2)]
    assert fresh_pids[0] != fresh_pids[1]
    reused_pids = {ray_cluster.get(reused.options(num_cpus=2).remote()) for _ in range(3)}
    assert len(reused_pids) == 1  # without it Ray reuses the worker (what a GPU task must not)
