"""Evaluate one model on its pending tasks: the LM is built once, then one lm-eval call per task.

One call per task makes a (model, task) pair the unit of resume; each call's files are written by
lm-eval's EvaluationTracker into a temp dir and moved into the model directory (samples first,
the results file last), so a results file on disk always means a finished task. Runs in-process
(hf) or as `python -m harness_ext.runner.worker JOB.json` (vLLM: one process per model, so its
memory is released), reporting progress as JSON event lines on stdout.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness_ext.runner.specs import ModelSpec

EVENT_PREFIX = "FTBENCH_EVENT "
_LM_EVAL_HINT = "Custom kwargs can be passed to `--metadata`"


class _DropCustomDatasetHint(logging.Filter):
    """lm-eval logs a usage hint (not a problem) for every task with a `custom_dataset` — all of
    ours — on every call: 18 warnings per demo evaluation that bury the real ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _LM_EVAL_HINT not in record.getMessage()


logging.getLogger("lm_eval.api.task").addFilter(_DropCustomDatasetHint())
Event = dict
Emit = Callable[[Event], None]


@dataclass
class WorkerJob:
    spec: ModelSpec
    tasks: list[str]
    model_dir: Path
    backend: str
    on_cpu: bool = True
    limit: int | float | None = None
    batch_size: int | str = 8
    apply_chat_template: bool = True
    metadata: dict = field(default_factory=dict)
    include_path: str = ""
    model_fingerprint: dict = field(default_factory=dict)  # harness_ext.fingerprint
    data_fingerprint: dict = field(default_factory=dict)
    run_fingerprint: str | None = None  # model + settings: what a results file is reused for

    def to_json(self) -> str:
        d = asdict(self)
        d["model_dir"] = str(self.model_dir)
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> WorkerJob:
        d = json.loads(text)
        d["spec"] = ModelSpec(**d["spec"])
        d["model_dir"] = Path(d["model_dir"])
        return cls(**d)


def build_lm(job: WorkerJob):
    """The lm-eval LM object for this model and backend."""
    import lm_eval.api.registry

    from harness_ext.fingerprint import check_model_ref

    check_model_ref(job.spec.pretrained, f"model {job.spec.name}")
    if job.spec.adapter:
        check_model_ref(job.spec.adapter, f"model {job.spec.name} adapter")
    if job.backend == "vllm":
        from harness_ext.backends import prepare_vllm

        prepare_vllm()
    import lm_eval.models

    cls = lm_eval.api.registry.get_model(job.backend)
    extra = {"batch_size": job.batch_size, "max_batch_size": None,
             "device": "cpu" if job.on_cpu and job.backend == "hf" else None}
    return cls.create_from_arg_obj(job.spec.model_args(job.backend, job.on_cpu), extra)


def _move_outputs(tmp: Path, model_dir: Path) -> Path:
    """Samples first, results last: the results file is the completion marker."""
    model_dir.mkdir(parents=True, exist_ok=True)
    results = None
    for f in sorted(tmp.iterdir()):
        if f.name.startswith("results_"):
            results = f
        else:
            f.replace(model_dir / f.name)
    if results is None:
        raise RuntimeError("lm-eval wrote no results file")
    target = model_dir / results.name
    results.replace(target)
    return target


def evaluate_task(lm, job: WorkerJob, task: str, tm) -> Path:
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker

    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=job.model_dir))
    try:
        tracker = EvaluationTracker(output_path=str(tmp / "results.json"))
        # lm-eval keys its cache by request, not by model: one cache per model fingerprint
        key = (job.model_fingerprint.get("digest") or "unknown")[:16]
        cache = job.model_dir / "cache" / key / "requests"
        cache.parent.mkdir(parents=True, exist_ok=True)
        results = simple_evaluate(
            model=lm, model_args=job.spec.model_args(job.backend, job.on_cpu), tasks=[task],
            limit=job.limit, use_cache=str(cache), log_samples=True, evaluation_tracker=tracker,
            apply_chat_template=job.apply_chat_template, task_manager=tm,
            metadata=job.metadata or None, bootstrap_iters=1000, verbosity="WARNING",
        )
        samples = results.pop("samples")
        results["ftbench"] = {"model": job.spec.to_dict(), "backend": job.backend,
                              "model_fingerprint": job.model_fingerprint,
                              "data_fingerprint": job.data_fingerprint,
                              "run_fingerprint": job.run_fingerprint}
        tracker.save_results_aggregated(results=results, samples=samples)
        for name in results["configs"]:
            tracker.save_results_samples(task_name=name, samples=samples[name])
        return _move_outputs(tmp, job.model_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_job(job: WorkerJob, emit: Emit, tm=None) -> None:
    """Evaluate every pending task of one model; each outcome is reported through `emit`."""
    from harness_ext.runner.tasks import task_manager

    job.model_dir.mkdir(parents=True, exist_ok=True)
    tm = tm or task_manager(job.include_path, job.metadata, job.tasks)
    t0 = time.time()
    emit({"event": "model_start", "model": job.spec.name})
    try:
        lm = build_lm(job)
    except Exception as exc:  # a broken model fails alone
        emit({"event": "model_failed", "model": job.spec.name, "error": _describe(exc),
              "seconds": time.time() - t0})
        return
    emit({"event": "model_loaded", "model": job.spec.name, "seconds": time.time() - t0})
    for task in job.tasks:
        t1 = time.time()
        emit({"event": "task_start", "model": job.spec.name, "task": task})
        try:
            path = evaluate_task(lm, job, task, tm)
        except Exception as exc:
            emit({"event": "task_failed", "model": job.spec.name, "task": task,
                  "error": _describe(exc), "seconds": time.time() - t1})
            continue
        emit({"event": "task_done", "model": job.spec.name, "task": task,
              "results_file": path.name, "seconds": time.time() - t1})
    del lm
    emit({"event": "model_done", "model": job.spec.name, "seconds": time.time() - t0})


def _describe(exc: BaseException) -> str:
    tb = traceback.format_exception(exc)
    return f"{type(exc).__name__}: {exc}\n{''.join(tb[-3:])}"[:4000]


def _emit_stdout(event: Event) -> None:
    sys.stdout.write(EVENT_PREFIX + json.dumps(event) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    run_job(WorkerJob.from_json(Path(sys.argv[1]).read_text()), _emit_stdout)
