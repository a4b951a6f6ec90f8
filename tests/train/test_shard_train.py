"""`ftbench train --shard i/N` and `ftbench study --only train --shard i/N`: two shards in two
real processes train every run exactly once, the same weights as one un-sharded grid; the next
un-sharded run skips them all and writes the grid index."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from ftbench.train.config import load_config
from ftbench.train.grid import INDEX_NAME, run_grid

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200",
            "TOKENIZERS_PARALLELISM": "false"}


def _grid(make_config, path: Path, out: Path, data: Path, tiny: Path) -> Path:
    return make_config(path, output_dir=str(out), data_dir=str(data), max_steps=2,
                       eval_fraction=0.0, threads=1,
                       grid={"models": [{"path": str(tiny), "name": "a"},
                                        {"path": str(tiny), "name": "b"}], "sizes": [16, 32]})


@pytest.mark.slow
def test_two_train_shards_in_two_processes_equal_one_unsharded_grid(
        tiny_model, sample_prepared, make_config, tmp_path, capsys):
    from ftbench.cli.main import main

    out = tmp_path / "runs"
    config = _grid(make_config, tmp_path / "grid.yaml", out, sample_prepared, tiny_model)
    procs = [subprocess.Popen([sys.executable, "-m", "ftbench.cli.main", "train", str(config),
                               "--shard", f"{i}/2"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env(), cwd=REPO)
             for i in (1, 2)]
    outputs = [p.communicate(timeout=900) for p in procs]
    for proc, (_stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stderr[-3000:]
    claimed = [re.search(r"shard \d/2: \d run\(s\): ([\w, -]+)", stdout).group(1).split(", ")
               for stdout, _ in outputs]
    runs = ["a-16", "a-32", "b-16", "b-32"]
    assert sorted(n for part in claimed for n in part) == runs  # each exactly once
    assert not (out / INDEX_NAME).exists()
    manifests = {r: json.loads((out / r / "manifest.json").read_text()) for r in runs}
    assert {r: m["status"] for r, m in manifests.items()} == dict.fromkeys(runs, "complete")

    # the same grid un-sharded, in one process: identical weights
    ref_cfg = load_config(config, [f"output_dir={tmp_path / 'ref'}"])
    run_grid(ref_cfg, Console(file=io.StringIO()))
    for r in runs:
        assert ((out / r / "merged" / "model.safetensors").read_bytes()
                == (tmp_path / "ref" / r / "merged" / "model.safetensors").read_bytes()), r

    # the next un-sharded run trains nothing and writes the index
    stamps = {r: (out / r / "manifest.json").stat().st_mtime_ns for r in runs}
    capsys.readouterr()
    assert main(["train", str(config)]) == 0
    assert {r: (out / r / "manifest.json").stat().st_mtime_ns for r in runs} == stamps
    index = json.loads((out / INDEX_NAME).read_text())["runs"]
    assert {r: (index[r]["status"], index[r]["action"]) for r in runs} == \
        dict.fromkeys(runs, ("complete", "skipped"))


def test_bad_shard_values_are_one_line_exit_2(sample_prepared, make_config, tmp_path, capsys):
    from ftbench.cli.main import main

    config = _grid(make_config, tmp_path / "grid.yaml", tmp_path / "runs", sample_prepared,
                   tmp_path)  # refused before the model is read
    for bad in ("0/2", "3/2", "a/b"):
        rc = main(["train", str(config), "--shard", bad])
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert rc == 2 and len(err) == 1 and "--shard" in err[0] and bad in err[0], err
    assert not (tmp_path / "runs").exists()


def test_several_processes_of_one_run_are_refused_not_deadlocked(tmp_path, capsys, monkeypatch,
                                                                 make_config, sample_prepared):
    """`accelerate launch -m ftbench.cli.train CONFIG` starts one process per GPU; each would
    take the output directory's lock and wait on the others: refused with one line instead."""
    from ftbench.cli.train import main

    config = _grid(make_config, tmp_path / "grid.yaml", tmp_path / "runs", sample_prepared,
                   tmp_path)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main([str(config)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "WORLD_SIZE=2" in err[0] and "--shard" in err[0], err
    assert not (tmp_path / "runs").exists()


def test_a_sharded_study_needs_only_train_or_eval(tmp_path, capsys):
    import yaml

    from ftbench.cli.main import main

    config = tmp_path / "s.yaml"
    (tmp_path / "m").mkdir()
    config.write_text(yaml.safe_dump({
        "name": "s", "out_dir": str(tmp_path / "study"),
        "data": {"source": str(REPO / "ftbench" / "sample_data" / "bmw_sample.jsonl")},
        "models": [{"name": "m", "path": str(tmp_path / "m")}]}))
    for args in ([], ["--only", "data,train"]):
        assert main(["study", str(config), "--shard", "1/2", *args]) == 2
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(err) == 1 and "--shard splits the train and eval stages only" in err[0], err
    assert not (tmp_path / "study").exists()
