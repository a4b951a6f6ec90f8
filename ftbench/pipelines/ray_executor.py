"""`executor: ray` / `ftbench study CONFIG --executor ray`: the train and eval stages as Ray tasks.

Every training run and every model's evaluation is one Ray task with the resources it asks for
(`models[].resources`, else `ray.resources`, else one GPU per task on a cluster that has GPUs
— tensor × pipeline parallel ones for a vLLM engine — and one CPU on a CPU-only one). Bases are
evaluated at once; a fine-tuned model's evaluation is submitted when its training run ends.

The driver (this process) does everything that decides what is reused, exactly as the local
executor does — the same fingerprints, stale checks (exit 2 before any task starts) and status
bookkeeping — holds the runs and results directories' locks, and writes the only shared files
(grid_index.json, index.json, derived from the runs' manifests and the per-model status files).
A failed task is recorded (its run or model `failed`) and the others go on; a re-run submits
only what is not complete under the same fingerprints.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ftbench.core.io import InputError
from ftbench.core.locking import dir_lock
from ftbench.core.outputs import check_claim, claim_dir
from ftbench.pipelines import ray_tasks
from ftbench.pipelines.study_config import StudyConfig


@dataclass
class StageCounts:
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    running: set = field(default_factory=set)


class StageTable:
    """Live terminal view: per stage, tasks done / running / failed / skipped / waiting."""

    def __init__(self, stages: list[str], console: Console) -> None:
        self.stages = {s: StageCounts() for s in stages}
        self.t0 = time.time()
        self.live = Live(self.table(), console=console, refresh_per_second=2, transient=False)

    def table(self) -> Table:
        t = Table(title=f"ftbench on Ray — {time.time() - self.t0:,.0f}s elapsed")
        for col in ("stage", "done", "running", "failed", "skipped", "waiting", "now"):
            t.add_column(col)
        for name, c in self.stages.items():
            waiting = c.total - c.done - c.failed - c.skipped - len(c.running)
            t.add_row(name, str(c.done), str(len(c.running)), f"[red]{c.failed}[/]" if c.failed
                      else "0", str(c.skipped), str(max(waiting, 0)),
                      ", ".join(sorted(c.running))[:60])
        return t

    def refresh(self, running: list[tuple[str, str]] | None = None) -> None:
        if running is not None:
            for name, c in self.stages.items():
                c.running = {n for s, n in running if s == name}
        self.live.update(self.table())


def _resources(cfg: StudyConfig, model_name: str | None, cluster_gpus: float,
               model_args: dict | None = None, kind: str = "eval") -> dict:
    """Ray options for a `kind` ("train" | "eval") task of the base model `model_name` (a study
    model, or its name in one part's grid): on a
    GPU cluster a training run takes one GPU, an evaluation tensor × pipeline parallel ones
    (its vLLM engine's shards)."""
    model = cfg.study_model(model_name)
    chosen = (model.resources if model and model.resources else cfg.ray.resources)
    if chosen:
        return dict(chosen)
    if cluster_gpus >= 1:
        if kind == "train":
            return {"num_gpus": 1}
        args = {**(cfg.eval.model_args or {}), **(model_args or {})}
        return {"num_gpus": int(args.get("tensor_parallel_size", 1))
                * int(args.get("pipeline_parallel_size", 1))}
    return {"num_cpus": 1}


def remote_task(ray, fn, gpu_cluster: bool):
    """`fn` as a Ray task. On a GPU cluster each call gets a fresh worker process
    (`max_calls=1`): a reused worker keeps the CUDA context and cached memory of the run before
    it. Ray sets that itself only when `num_gpus` is in the decorator, and per-call
    `.options(num_gpus=…)` cannot carry it, so it is set here."""
    return ray.remote(max_retries=0, **({"max_calls": 1} if gpu_cluster else {}))(fn)


class RayStudy:
    """One execution of the train and/or eval stages on a Ray cluster."""

    def __init__(self, cfg: StudyConfig, stages: list[str], console: Console, force: bool):
        self.cfg, self.stages, self.console, self.force = cfg, stages, console, force
        self.ray = ray_tasks.require_ray()
        self.cwd = os.getcwd()
        self.refs: dict = {}  # ObjectRef -> ("train", grid index, PlannedRun) | ("eval", name)
        self.failed_runs: list[str] = []
        self.ready: list[tuple] = []  # (RunSpec, run dir) trained before and current
        self.grid_indexes: dict = {}
        self.eval_store = None
        self.asked: list[str] = []  # models this study's eval stage evaluated (its exit status)

    # --- planning (driver only; InputError before any task starts) -------------------------
    def _plan_train(self, stack: contextlib.ExitStack) -> list[tuple]:
        from ftbench.train.artifacts import kept_note, remove_stale_staging
        from ftbench.train.grid import (
            RUNS_KIND,
            GridIndex,
            is_complete,
            legacy_runs,
            plan,
            read_run_manifest,
            run_fingerprint,
            stale_reason,
        )

        todo = []
        for tc in self.cfg.train_configs():
            planned = plan(tc)
            fps = {r.spec.name: run_fingerprint(tc, r.spec, r.data_sha) for r in planned}
            out = claim_dir(tc.output_dir, RUNS_KIND, what="config key 'output_dir'",
                            adopt=legacy_runs)
            stack.enter_context(dir_lock(out, f"ftbench study --executor ray ({out})"))
            stale = {r.spec.name: why for r in planned
                     if (why := stale_reason(r.run_dir, fps[r.spec.name]))}
            if stale and not self.force:
                raise InputError(f"{out}: " + "; ".join(stale.values()) + "; re-run with "
                                 "--force to retrain, or use another output_dir")
            remove_stale_staging(out)
            # one index per runs directory (every method's grid writes the same one)
            index = self.grid_indexes.setdefault(str(out), GridIndex(out, tc))
            for run in planned:
                name = run.spec.name
                if is_complete(run.run_dir) and name not in stale:
                    index.record(name, read_run_manifest(run.run_dir) or {}, "skipped")
                    self.view.stages["train"].skipped += 1
                    self.ready.append((run.spec, run.run_dir))
                else:
                    if note := kept_note(run.run_dir):
                        self.console.print(f"  {note}")
                    todo.append((tc, index, run, fps[name], name in stale))
            self.view.stages["train"].total += len(planned)
        return todo

    def _plan_eval(self, stack: contextlib.ExitStack) -> list:
        from ftbench.eval.index import KIND, ResultsStore, legacy_results_dir
        from ftbench.eval.orchestrator import eval_context
        from ftbench.pipelines.stage_inputs import eval_settings

        self.settings = eval_settings(self.cfg)
        specs = self.cfg.model_specs(include_runs=False)
        self.ctx = eval_context(self.settings, specs)
        out = self.cfg.results_dir
        check_claim(out, KIND, adopt=legacy_results_dir)
        out.mkdir(parents=True, exist_ok=True)
        stack.enter_context(dir_lock(out, f"ftbench study --executor ray (eval --out {out})"))
        self.eval_store = ResultsStore.open(out, self.ctx.record, force=self.force)
        self.base_of = self.cfg.base_names()  # model path -> its evaluated base (first listed)
        if "train" not in self.stages:  # as `--only eval` locally: a stale run stops it here
            from ftbench.train.grid import current_runs

            self.ready = [pair for tc in self.cfg.train_configs() for pair in current_runs(tc)]
        # runs trained before and current are evaluated at once; the others after training
        return specs + [self._run_spec(run, run_dir) for run, run_dir in self.ready]

    def _run_spec(self, run, run_dir: Path):
        return self.cfg.run_spec(run, run_dir, self.base_of.get(run.model_path))

    # --- submitting ----------------------------------------------------------------------
    def _submit_train(self, item: tuple) -> None:
        tc, index, run, fp, stale = item
        opts = _resources(self.cfg, run.spec.model_name, self.gpus, kind="train")
        ref = self.train_fn.options(**opts).remote(self.cwd, tc, run, fp, stale, self.progress)
        self.refs[ref] = ("train", index, run)

    def _submit_eval(self, spec) -> None:
        from ftbench.eval.backends import check_model_args
        from ftbench.eval.orchestrator import plan_models, start_model, worker_job

        store, ctx = self.eval_store, self.ctx
        self.asked.append(spec.name)  # the stage answers for these models, not the folder's others
        self.view.stages["eval"].total += 1
        try:
            check_model_args(spec.extra_args, ctx.backend, f"model {spec.name}: model_args")
            plan = plan_models(store, [spec], ctx.record, self.force)
        except InputError as exc:  # found only now that its training ended: that model fails
            store.model(spec.name).update(status="failed", error=str(exc))
            store.save(spec.name)
            self.view.stages["eval"].failed += 1
            return
        pending = start_model(store, spec, ctx.backend, plan, ctx.leaf)
        store.entries.pop(spec.name, None)  # from here the worker owns its status file
        if not pending:
            self.view.stages["eval"].skipped += 1
            return
        base = (spec.run or {}).get("base_model") or spec.name.removesuffix("-base")
        job = worker_job(spec, pending, store.root.resolve(), ctx.backend, self.settings, plan,
                         ctx.record, on_cpu=self.gpus < 1)
        opts = _resources(self.cfg, base, self.gpus, spec.extra_args)
        ref = self.eval_fn.options(**opts).remote(self.cwd, job, str(store.root.resolve()),
                                                  self.progress)
        self.refs[ref] = ("eval", spec.name)

    # --- collecting ----------------------------------------------------------------------
    def _collect(self, ref) -> None:
        kind, *what = self.refs.pop(ref)
        try:
            result = self.ray.get(ref)
            error = None
        except Exception as exc:  # the task itself died (worker crash, OOM kill, ...)
            lines = str(exc).strip().splitlines()
            result, error = None, f"{type(exc).__name__}: {lines[-1] if lines else ''}"
        if kind == "train":
            index, run = what
            self._train_done(index, run, result, error)
        else:
            self._eval_done(what[0], result, error)

    def _train_done(self, index, run, result, error) -> None:
        from ftbench.train.grid import read_run_manifest

        counts = self.view.stages["train"]
        name = run.spec.name
        manifest, action = result if result else (read_run_manifest(run.run_dir) or {
            "status": "failed", "error": error, "train_size": run.spec.train_size}, "failed")
        index.record(name, manifest, action)
        if action != "trained":
            counts.failed += 1
            self.failed_runs.append(name)
            return
        counts.done += 1
        if "eval" in self.stages:
            self._submit_eval(self._run_spec(run.spec, run.run_dir))

    def _eval_done(self, name: str, entry: dict | None, error: str | None) -> None:
        store = self.eval_store
        store.entries.pop(name, None)
        if entry is None:  # the worker could not record its own end
            store.model(name).update(status="failed", error=f"the Ray task failed: {error}")
            store.save(name)
        status = store.model(name).get("status")
        counts = self.view.stages["eval"]
        if status == "complete":
            counts.done += 1
        else:
            counts.failed += 1
        store.write_index()

    # --- the run -------------------------------------------------------------------------
    def run(self) -> dict[str, dict]:
        ray = self.ray
        self.gpus = float(ray.cluster_resources().get("GPU", 0))
        self.train_fn = remote_task(ray, ray_tasks.train_task, self.gpus >= 1)
        self.eval_fn = remote_task(ray, ray_tasks.eval_task, self.gpus >= 1)
        self.view = StageTable([s for s in ("train", "eval") if s in self.stages], self.console)
        with contextlib.ExitStack() as stack:
            train = self._plan_train(stack) if "train" in self.stages else []
            specs = self._plan_eval(stack) if "eval" in self.stages else []
            self.progress = ray.remote(num_cpus=0)(ray_tasks.Progress).remote()
            with self.view.live:
                try:
                    for item in train:
                        self._submit_train(item)
                    for spec in specs:
                        self._submit_eval(spec)
                    while self.refs:
                        ready, _ = ray.wait(list(self.refs), num_returns=1, timeout=0.5)
                        for ref in ready:
                            self._collect(ref)
                        self.view.refresh(ray.get(self.progress.snapshot.remote()))
                    self.view.refresh([])
                except KeyboardInterrupt as exc:
                    self._interrupt(str(exc) or "SIGINT")
                    raise
            if self.eval_store is not None:
                self.eval_store.write_index()
        return self._infos()

    def _interrupt(self, signal_name: str) -> None:
        for ref, (kind, *what) in list(self.refs.items()):
            self.ray.cancel(ref, force=True)
            if kind == "eval":
                self.eval_store.entries.pop(what[0], None)
                self.eval_store.interrupt(what[0], signal_name)

    def _infos(self) -> dict[str, dict]:
        infos = {}
        if "train" in self.stages:
            infos["train"] = {"failed": self.failed_runs, "executor": "ray"}
        if self.eval_store is not None:
            from ftbench.eval.summary import print_summary

            data = self.eval_store.data
            print_summary(data, self.eval_store.root, self.console, asked=self.asked)
            infos["eval"] = {m: data["models"].get(m, {}).get("status", "unknown")
                             for m in self.asked}
        return infos


def run_on_ray(cfg: StudyConfig, stages: list[str], console: Console, force: bool) -> dict:
    """The train and/or eval stages of a study on Ray; returns each stage's manifest info."""
    started = ray_tasks.connect(cfg.ray.address, cfg.ray.num_cpus, cfg.ray.object_store_mb)
    try:
        return RayStudy(cfg, stages, console, force).run()
    finally:
        if started:
            ray_tasks.require_ray().shutdown()
