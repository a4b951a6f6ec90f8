"""Evaluate one model on its pending tasks: the LM is built once, then one lm-eval call per task.

One call per task makes a (model, task) pair the unit of resume; each call's files are written by
lm-eval's EvaluationTracker into a temp dir and moved into the model directory (samples first,
the results file last), so a results file on disk always means a finished task. Runs in-process
(hf) or in the vLLM group worker (`python -m ftbench.eval.shared_vllm JOBS.json`: one process per
base, so its memory is released), reporting progress as JSON event lines on stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ftbench.core import lm_eval_glue, out_of_memory
from ftbench.core.context import ContextLength, load_tokenizer, perplexity_window, resolve_context
from ftbench.core.threads import configure_threads, vllm_cpu_binding
from ftbench.eval.generation import (
    generation_block,
    task_budget,
    template_reads_thinking,
    thinking_model_args,
)
from ftbench.eval.prompt_stats import prompt_stats
from ftbench.eval.sample_logs import expected_lines, seal
from ftbench.eval.specs import ModelSpec

EVENT_PREFIX = "FTBENCH_EVENT "
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
    system_instruction: str | None = None   # lm-eval's, as given (None: no system message)
    fewshot_as_multiturn: bool | None = None  # None: lm-eval's default
    metadata: dict = field(default_factory=dict)
    include_path: str = ""
    context_length: int | None = None  # explicit override (memory); None = the model's own
    threads: int | None = None  # torch intra-op threads; None = OMP_NUM_THREADS or allowed CPUs
    enable_thinking: bool = False  # reasoning models: the chat template's thinking mode
    max_gen_toks: int | dict[str, int] | None = None  # override of the tasks' budgets

    def model_args(self, context_length: int | None = None) -> dict:
        """The spec's model args at this context plus the chat template's thinking switch; a hub
        model is loaded at the commit its fingerprint names (ftbench.core.hub)."""
        return {**self.spec.model_args(self.backend, self.on_cpu, context_length,
                                       self.extra_model_args),
                **revision_args(self.backend, self.revision),
                **thinking_model_args(self.backend, self.enable_thinking)}

    @property
    def revision(self) -> str | None:
        """The commit of a hub base (None for local files)."""
        base = self.model_fingerprint.get("pretrained") or {}
        return base.get("commit") if base.get("kind") == "hub" else None

    def context_override(self) -> int | None:
        """`context_length`, or the engine's own context key among the passthrough args."""
        from ftbench.eval.backends import CONTEXT_ARGS

        return self.context_length or self.extra_model_args.get(CONTEXT_ARGS[self.backend])
    model_fingerprint: dict = field(default_factory=dict)  # ftbench.core.fingerprint
    data_fingerprint: dict = field(default_factory=dict)
    run_fingerprint: str | None = None  # model + settings: what a results file is reused for
    # task → its fingerprint and own inputs (ftbench.eval.task_identity): what its results file
    # is reused for, and what a later run names when they changed
    task_fingerprints: dict = field(default_factory=dict)
    task_settings: dict = field(default_factory=dict)
    extra_model_args: dict = field(default_factory=dict)  # passthrough (eval.model_args + model's)

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


def revision_args(backend: str, commit: str | None) -> dict:
    """lm-eval model_args that pin a hub model's weights and tokenizer to one commit."""
    if commit is None:
        return {}
    return {"revision": commit, **({"tokenizer_revision": commit} if backend == "vllm" else {})}


def build_lm(job: WorkerJob, context_length: int):
    """The lm-eval LM object for this model and backend (hf: the bounded-perplexity subclass);
    its files were checked by `open_model`."""
    if job.backend == "vllm":
        from ftbench.eval.backends import prepare_vllm

        prepare_vllm()
    import ftbench.eval.bounded_hf  # noqa: F401  (registers "ftbench-hf")

    args = job.model_args(context_length)
    extra = {"batch_size": job.batch_size, "max_batch_size": None,
             "device": "cpu" if job.on_cpu and job.backend == "hf" else None}
    # a user's `device` (model_args) wins; lm-eval would pass both and fail ("multiple values")
    extra = {k: v for k, v in extra.items() if k not in args}
    return lm_eval_glue.create_lm("ftbench-hf" if job.backend == "hf" else job.backend, args,
                                  extra)


@dataclass
class ModelRun:
    """What every task of one model shares: the LM, its context, threads, task index and the
    tokenizer lm-eval uses (to count prompts lm-eval would cut)."""

    lm: object
    context: ContextLength
    threads: dict
    tm: object
    tokenizer: object
    # an LM shared by the models of one base (ftbench.eval.shared_base): which base load it is
    load: dict | None = None


def check_refs(job: WorkerJob) -> None:
    """The model's (and its adapter's) files, or InputError naming them (the model fails)."""
    from ftbench.core.fingerprint import check_model_ref

    check_model_ref(job.spec.pretrained, f"model {job.spec.name}", revision=job.revision)
    if job.spec.adapter:
        check_model_ref(job.spec.adapter, f"model {job.spec.name} adapter", adapter=True)


def task_index(job: WorkerJob, context: ContextLength):
    """lm-eval's task index for this model: a suite's task loader fits prompts to the model's
    context, so it needs the model in the metadata."""
    from ftbench.eval.tasks import task_manager

    return task_manager(job.include_path, {**job.metadata, "pretrained": job.spec.pretrained,
                                           "max_length": context.tokens,
                                           **({"revision": job.revision} if job.revision
                                              else {})},
                        job.tasks)


def open_model(job: WorkerJob) -> ModelRun:
    """Threads, context, LM and task index of one model, in the order each needs the last."""
    check_refs(job)
    threads = configure_threads(job.threads)
    if job.backend == "vllm" and threads["source"] in ("setting", "OMP_NUM_THREADS"):
        os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND",
                              vllm_cpu_binding(threads["torch_intra_op"]))
    context = resolve_context(job.spec.pretrained, job.context_override(), revision=job.revision)
    lm = build_lm(job, context.tokens)
    if job.backend == "vllm":  # vLLM's CPU engine binds its own OpenMP threads
        threads = {**threads, "torch_intra_op": torch_threads(), "source": "vllm engine"}
    return ModelRun(lm, context, threads, task_index(job, context),
                    load_tokenizer(job.spec.pretrained, job.revision))


def uses_chat_template(lm, job: WorkerJob) -> bool:
    """The study's switch, the model's `chat_template` setting, and whether its tokenizer has a
    template at all: a base model without one gets plain prompts under `auto` (lm-eval would
    fail), and the results file records which it was."""
    if not job.apply_chat_template or job.spec.chat_template == "none":
        return False
    return bool(getattr(getattr(lm, "tokenizer", None), "chat_template", None))


def prompt_switches(job: WorkerJob) -> dict:
    """lm-eval's system instruction and few-shot-as-turns switches, only those that were set:
    unset, lm-eval's `simple_evaluate` defaults apply (no system message; few-shot examples as
    turns, which only matters when the chat template applies), as before the switches existed."""
    out: dict = {}
    if job.system_instruction is not None:
        out["system_instruction"] = job.system_instruction
    if job.fewshot_as_multiturn is not None:
        out["fewshot_as_multiturn"] = job.fewshot_as_multiturn
    return out


def _move_outputs(tmp: Path, results: Path, model_dir: Path) -> Path:
    """Samples first, results last: the results file is the completion marker, and records
    each samples file's line count and sha256 (ftbench.eval.sample_logs)."""
    seal(results)
    model_dir.mkdir(parents=True, exist_ok=True)
    for f in sorted(tmp.iterdir()):
        if f != results:
            f.replace(model_dir / f.name)
    target = model_dir / results.name
    results.replace(target)
    return target


def add_ftbench_block(run: ModelRun, job: WorkerJob, task: str, results: dict, samples: dict,
                      budgets: dict | None = None) -> None:
    """The `ftbench` block of a results file: what made it and what lm-eval does not count
    (`budgets`: task -> how its answer budget was chosen, when not the task's own)."""
    window = perplexity_window(run.context.tokens)
    results["ftbench"] = {
        "model": job.spec.to_dict(), "backend": job.backend, "context": run.context.to_dict(),
        "threads": run.threads,
        "apply_chat_template": job.apply_chat_template,  # the setting, as asked
        "chat_template_applied": uses_chat_template(run.lm, job),  # what this model got
        **prompt_switches(job),
        "prompts": {name: prompt_stats(samples[name], results["configs"][name],
                                       run.context.tokens, run.tokenizer, window)
                    for name in samples},
        "generation": generation_block(results, samples, run.tokenizer,
                                       getattr(run.lm, "max_gen_toks", 256)),
        "thinking": {"enable_thinking": job.enable_thinking,
                     "template_reads_thinking": template_reads_thinking(run.tokenizer)},
        "model_fingerprint": job.model_fingerprint,
        "data_fingerprint": job.data_fingerprint,
        "run_fingerprint": job.task_fingerprints.get(task, job.run_fingerprint),
        **({"task_settings": job.task_settings[task]} if task in job.task_settings else {}),
        "samples": expected_lines(samples),  # file and sha256 added once written (seal)
        **({"budgets": budgets} if budgets else {}),
        **({"base_load": run.load} if run.load else {}),
    }


def evaluate_task(run: ModelRun, job: WorkerJob, task: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=job.model_dir))
    try:
        # lm-eval keys its cache by request, not by model: one cache per model and settings
        # (the run fingerprint: weights, chat template / BOS, data, task code, versions)
        key = (job.task_fingerprints.get(task) or job.run_fingerprint
               or job.model_fingerprint.get("digest") or "unknown")[:16]
        cache = job.model_dir / "cache" / key / "requests"
        cache.parent.mkdir(parents=True, exist_ok=True)
        gen_kwargs, budget = task_budget(task, job.max_gen_toks, job.metadata, run.tokenizer)
        budgets = {task: budget} if budget else None
        # lm-eval's own prints ("bootstrapping for stddev") go where its warnings go: a log
        with redirect_stdout(sys.stderr):
            written = lm_eval_glue.evaluate_to_files(
                run.lm, task, tmp,
                lambda results, samples: add_ftbench_block(run, job, task, results, samples,
                                                           budgets),
                model_args=job.model_args(run.context.tokens),
                gen_kwargs=gen_kwargs,
                limit=job.limit, use_cache=str(cache),
                apply_chat_template=uses_chat_template(run.lm, job),
                **prompt_switches(job),
                task_manager=run.tm, metadata=job.metadata or None, bootstrap_iters=1000,
                verbosity="WARNING",
            )
        return _move_outputs(tmp, written, job.model_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def run_job(job: WorkerJob, emit: Emit,
            open_run: Callable[[WorkerJob], ModelRun] | None = None) -> None:
    """Evaluate every pending task of one model; each outcome is reported through `emit`.
    `open_run`: how the model's LM is had (default: loaded for it alone; a shared base's pool:
    ftbench.eval.shared_base.BasePool.run_for)."""
    job.model_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    emit({"event": "model_start", "model": job.spec.name})
    try:
        run = (open_run or open_model)(job)
    except Exception as exc:  # a broken model fails alone
        emit({"event": "model_failed", "model": job.spec.name,
              "error": _describe(exc, job, "loading the model"), "seconds": time.time() - t0})
        return
    emit({"event": "model_loaded", "model": job.spec.name, "seconds": time.time() - t0,
          "context": run.context.to_dict(), "threads": run.threads,
          **({"base_load": run.load} if run.load else {})})
    for task in job.tasks:
        t1 = time.time()
        emit({"event": "task_start", "model": job.spec.name, "task": task})
        try:
            path = evaluate_task(run, job, task)
        except Exception as exc:
            emit({"event": "task_failed", "model": job.spec.name, "task": task,
                  "error": _describe(exc, job, f"evaluating task {task}"),
                  "seconds": time.time() - t1})
            continue
        emit({"event": "task_done", "model": job.spec.name, "task": task,
              "results_file": path.name, "seconds": time.time() - t1})
    del run
    emit({"event": "model_done", "model": job.spec.name, "seconds": time.time() - t0})


def _describe(exc: BaseException, job: WorkerJob, stage: str) -> str:
    """The error recorded for a failure; out of memory first says so in ftbench's words."""
    tb = traceback.format_exception(exc)
    text = f"{type(exc).__name__}: {exc}\n{''.join(tb[-3:])}"
    if out_of_memory.is_out_of_memory(exc):
        text = out_of_memory.message(f"model {job.spec.name}", stage,
                                     out_of_memory.EVAL_HINTS, exc) + "\n" + text
    return text[:4000]


def emit_stdout(event: Event) -> None:
    """A worker process's events, one prefixed JSON line each (read by the orchestrator)."""
    sys.stdout.write(EVENT_PREFIX + json.dumps(event) + "\n")
    sys.stdout.flush()
