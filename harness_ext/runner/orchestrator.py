"""`ftbench eval`: every model of a study through lm-eval in one invocation.

hf models are evaluated in this process (imports and the task index are paid once); each vLLM
model runs in its own subprocess so that its engine's memory is released. A (model, task) pair
whose results file exists is never recomputed, so an interrupted run (even kill -9) continues
where it stopped, and adding a model to a finished study evaluates only that model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from harness_ext.backends import resolve_backend
from harness_ext.io import InputError
from harness_ext.paths import TASKS_DIR
from harness_ext.runner.display import EvalDisplay
from harness_ext.runner.index import StudyIndex
from harness_ext.runner.results_files import completed_tasks
from harness_ext.runner.specs import ModelSpec, prompt_settings
from harness_ext.runner.tasks import expand_tasks, task_manager
from harness_ext.runner.worker import EVENT_PREFIX, WorkerJob, run_job


@dataclass
class EvalSettings:
    """Settings that must be identical for every model of a study (stored in index.json)."""

    tasks: list[str]
    backend: str = "auto"
    limit: int | float | None = None
    batch_size: int | str | None = None
    apply_chat_template: bool = True
    metadata: dict | None = None
    include_path: str = str(TASKS_DIR)
    context_length: int | None = None  # override of every model's own context (memory)
    threads: int | None = None  # torch intra-op threads (None: OMP_NUM_THREADS or allowed CPUs)
    enable_thinking: bool = False
    max_gen_toks: int | dict[str, int] | None = None

    def for_index(self, backend: str) -> dict:
        return {"tasks": self.tasks, "backend": backend, "limit": self.limit,
                "apply_chat_template": self.apply_chat_template, "metadata": self.metadata or {},
                "context_length": self.context_length,
                "enable_thinking": self.enable_thinking, "max_gen_toks": self.max_gen_toks}


def _on_cpu() -> bool:
    import torch

    return not torch.cuda.is_available()


def evaluate_models(models: list[ModelSpec], settings: EvalSettings, out: Path,
                    console: Console | None = None) -> StudyIndex:
    """Evaluate all models; returns the study index (statuses, errors, files, timings)."""
    console = console or Console()
    if not models:
        raise InputError("no models to evaluate")
    backend = resolve_backend(settings.backend)
    tm = task_manager(settings.include_path, settings.metadata, settings.tasks)
    leaf = expand_tasks(settings.tasks, tm)
    out.mkdir(parents=True, exist_ok=True)
    index = StudyIndex.open(out, settings.for_index(backend))
    _refuse_changed_prompt_settings(index, models)
    on_cpu = _on_cpu()
    batch = settings.batch_size or ("auto" if backend == "vllm" else 8)

    pending = {m.name: [t for t in leaf if t not in completed_tasks(out / m.name)] for m in models}
    with EvalDisplay([m.name for m in models], {m.name: len(leaf) for m in models}, console) as view:
        for spec in models:
            entry = index.model(spec.name)
            entry.update(spec=spec.to_dict(), backend=backend, dir=spec.name)
            if not pending[spec.name]:
                entry["status"] = "complete"
                for t, path in completed_tasks(out / spec.name).items():
                    entry["tasks"].setdefault(t, {"status": "complete", "results_file": path.name})
                index.save()
                view.state[spec.name]["done"] = len(leaf)
                view.mark(spec.name, "skipped")
                continue
            job = WorkerJob(spec=spec, tasks=pending[spec.name], model_dir=out / spec.name,
                            backend=backend, on_cpu=on_cpu, limit=settings.limit, batch_size=batch,
                            apply_chat_template=settings.apply_chat_template,
                            metadata=settings.metadata or {}, include_path=settings.include_path,
                            context_length=settings.context_length, threads=settings.threads,
                            enable_thinking=settings.enable_thinking,
                            max_gen_toks=settings.max_gen_toks)
            view.state[spec.name]["done"] = len(leaf) - len(pending[spec.name])

            def emit(event: dict) -> None:
                index.apply(event)
                view.on_event(event)

            if backend == "vllm":
                run_in_subprocess(job, emit)
            else:
                run_job(job, emit)
    return index


def _refuse_changed_prompt_settings(index: StudyIndex, models: list[ModelSpec]) -> None:
    """Per-model prompt settings are part of what made a model's results: never mix two."""
    for spec in models:
        old = index.data["models"].get(spec.name, {}).get("spec")
        if old and prompt_settings(old) != prompt_settings(spec.to_dict()):
            raise InputError(
                f"{index.path}: model {spec.name!r} was evaluated with {prompt_settings(old)}, not "
                f"{prompt_settings(spec.to_dict())}; use another --out directory or model name")


def run_in_subprocess(job: WorkerJob, emit) -> None:
    """Run one model's job in a fresh Python process; its log goes to <model_dir>/eval.log."""
    job.model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        fh.write(job.to_json())
        job_file = fh.name
    log_path = job.model_dir / "eval.log"
    seen_done = False
    try:
        with log_path.open("a") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "harness_ext.runner.worker", job_file],
                stdout=subprocess.PIPE, stderr=log, text=True, env=os.environ.copy(),
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith(EVENT_PREFIX):
                    event = json.loads(line[len(EVENT_PREFIX):])
                    seen_done |= event["event"] in ("model_done", "model_failed")
                    emit(event)
                else:
                    log.write(line)
            code = proc.wait()
    finally:
        os.unlink(job_file)
    if not seen_done:  # crashed (OOM kill, segfault): the model fails, the study goes on
        emit({"event": "model_failed", "model": job.spec.name, "seconds": 0.0,
              "error": f"worker exited with code {code}; see {log_path}"})
