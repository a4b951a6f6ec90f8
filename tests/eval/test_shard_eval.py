"""`ftbench eval --shard i/N`: two shards in two real processes at once give, together, the
metrics of one un-sharded run; every model is evaluated by exactly one shard; the next
un-sharded run derives index.json and reuses everything."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from ftbench.eval.orchestrator import EvalSettings, evaluate_models
from ftbench.eval.results_files import results_files, task_metrics
from ftbench.eval.specs import parse_model_list

REPO = Path(__file__).resolve().parents[2]
TASKS = "bmw_type,bmw_perplexity"


@pytest.fixture(scope="module")
def tiny_perturbed(tiny_model, tmp_path_factory) -> Path:
    """Another model: the tiny model with every weight perturbed."""
    import torch
    from safetensors.torch import load_file, save_file

    out = tmp_path_factory.mktemp("perturbed") / "tiny-perturbed"
    shutil.copytree(tiny_model, out)
    gen = torch.Generator().manual_seed(1)
    state = {k: v + 0.05 * torch.randn(v.shape, generator=gen)
             for k, v in load_file(out / "model.safetensors").items()}
    save_file(state, out / "model.safetensors", metadata={"format": "pt"})
    return out


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200",
            "TOKENIZERS_PARALLELISM": "false"}


def _eval_args(models: str, out: Path) -> list[str]:
    return ["eval", "--models", models, "--tasks", TASKS, "--backend", "hf", "--limit", "3",
            "--threads", "1", "--out", str(out)]


@pytest.mark.slow
def test_two_shards_in_two_processes_equal_one_unsharded_run(tiny_model, tiny_perturbed,
                                                              tmp_path, capsys):
    from ftbench.cli.main import main

    models = (f"a={tiny_model},b={tiny_perturbed},"
              f"c={tiny_model}[chat_template=none]")
    out = tmp_path / "sharded"
    procs = [subprocess.Popen([sys.executable, "-m", "ftbench.cli.main",
                               *_eval_args(models, out), "--shard", f"{i}/2"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env(), cwd=REPO) for i in (1, 2)]
    outputs = [p.communicate(timeout=900) for p in procs]
    for proc, (_stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stderr[-3000:]
    claimed = [re.search(r"shard \d/2: \d model\(s\): ([\w, ]+)", stdout).group(1).split(", ")
               for stdout, _ in outputs]
    assert sorted(n for part in claimed for n in part) == ["a", "b", "c"]  # each exactly once
    assert not (out / "index.json").exists()  # shards leave the index to the next run
    for name in "abc":
        assert json.loads((out / name / "status.json").read_text())["status"] == "complete"
    files = {name: sorted(p.name for p in results_files(out / name)) for name in "abc"}

    # one un-sharded run elsewhere: the reference
    ref = tmp_path / "reference"
    settings = EvalSettings(tasks=TASKS.split(","), backend="hf", limit=3, threads=1)
    evaluate_models(parse_model_list(models), settings, ref, Console(file=io.StringIO()))
    for name in "abc":
        assert task_metrics(out / name) == task_metrics(ref / name), name
    assert task_metrics(out / "a") != task_metrics(out / "b")  # three different models

    # the report derives the index the shards left out
    capsys.readouterr()
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    derived = json.loads((out / "index.json").read_text())
    assert {m: e["status"] for m, e in derived["models"].items()} == dict.fromkeys("abc",
                                                                                 "complete")
    assert (tmp_path / "report" / "summary.md").is_file()

    # the next un-sharded run reuses every result and writes the index again
    assert main(_eval_args(models, out)) == 0
    assert {name: sorted(p.name for p in results_files(out / name)) for name in "abc"} == files
    index = json.loads((out / "index.json").read_text())
    assert {m: e["status"] for m, e in index["models"].items()} == dict.fromkeys("abc", "complete")


def test_bad_shard_values_are_one_line_exit_2(tmp_path, capsys):
    from ftbench.cli.main import main

    for bad in ("0/2", "3/2", "a/b"):  # refused before the model is read
        rc = main(_eval_args(f"a={tmp_path}", tmp_path / "r") + ["--shard", bad])
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert rc == 2 and len(err) == 1 and "--shard" in err[0] and bad in err[0], err
    assert not (tmp_path / "r").exists()
