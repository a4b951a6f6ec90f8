"""Run a GLUE experiment matrix: decoders zero-/few-shot and LoRA, encoders fine-tuned, one report.

Decoder modes go through ftbench's runner (`evaluate_models`, one invocation over all models):
one invocation for the base decoders on every zero-/few-shot task, and one per task for the
LoRA checkpoints (each adapter is trained on one task and evaluated on that task's generative
prompt, the prompt it was trained on). Training is `ftbench.train.grid.run_grid` for LoRA and
`ftbench.train.encoder.train_encoder` for encoders. Every step resumes: finished runs, evaluations
and encoder runs are reused. Costs per experiment: training time (from the run manifests),
inference latency per example (evaluation wall time / examples), and peak RSS of the process
and its children (sampled every 0.1 s while each task ran; training peaks from the run
manifests).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict
from pathlib import Path

import psutil
from rich.console import Console

from ftbench.core.io import atomic_write_json, read_jsonl
from ftbench.eval.results_files import samples_file
from ftbench.pipelines.glue_config import TASKS, TINY, GlueConfig
from ftbench.report.glue import (
    Experiment,
    records_from_samples,
    write_comparison,
)
from ftbench.suites.glue.suite import prepare_glue
from ftbench.suites.layout import PrepareSettings


def lm_task(task: str, mode: str, scoring: str) -> str:
    """The glue_small task of a (matrix task, mode): LoRA is always scored generatively."""
    gen = "_gen" if scoring == "generative" or mode == "lora" else ""
    return TASKS[task][2] + gen + ("_5shot" if mode == "few_shot" else "")


class RssSampler:
    """Samples (time, RSS of this process + children in MiB) in a thread; `peak(t0, t1)` per window."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.samples = interval, []
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> float:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._rss()))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float, end: float) -> float | None:
        window = [rss for t, rss in self.samples if start - self.interval <= t <= end + self.interval]
        return round(max(window), 1) if window else None


def _evaluate(cfg: GlueConfig, specs, tasks: list[str], out: Path, console: Console) -> dict:
    """One runner invocation; returns {model: {task: {results_file, seconds, peak_rss_mb}}}."""
    from ftbench.eval.orchestrator import EvalSettings, evaluate_models

    settings = EvalSettings(tasks=tasks, backend=cfg.eval.backend, limit=cfg.eval.limit,
                            batch_size=cfg.eval.batch_size,
                            apply_chat_template=cfg.eval.apply_chat_template,
                            metadata=cfg.metadata())
    memory_file = out / "memory.json"
    memory = json.loads(memory_file.read_text()) if memory_file.is_file() else {}
    with RssSampler() as sampler:
        index = evaluate_models(specs, settings, out, console)
    found: dict[str, dict] = {}
    for name, entry in index.data["models"].items():
        for task, info in entry.get("tasks", {}).items():
            if info.get("status") != "complete":
                continue
            results = out / name / info["results_file"]
            end = results.stat().st_mtime
            peak = sampler.peak(end - info.get("seconds", 0.0), end)
            if peak is not None and task in tasks:
                memory.setdefault(name, {})[task] = peak
            found.setdefault(name, {})[task] = {
                "results_file": str(results), "seconds": info.get("seconds"),
                "peak_rss_mb": memory.get(name, {}).get(task)}
    atomic_write_json(memory_file, memory)
    failed = {n: e.get("error") for n, e in index.data["models"].items() if e["status"] != "complete"}
    for name, error in failed.items():
        console.print(f"[red]  {name}: evaluation failed: {str(error)[:200]}[/]")
    return found


def _decoder_experiment(cfg: GlueConfig, model: str, task: str, mode: str, model_dir: Path,
                        info: dict, train: dict | None = None) -> Experiment | None:
    name = lm_task(task, mode, cfg.eval.scoring)
    path = samples_file(model_dir, name)
    if path is None:
        return None
    records = records_from_samples(path, TASKS[task][0])
    seconds = info.get("seconds")
    peaks = [p for p in (info.get("peak_rss_mb"), (train or {}).get("peak_rss_mb")) if p]
    return Experiment(model=model, kind="decoder", task=task, glue=TASKS[task][0], mode=mode,
                      records=records, train_s=(train or {}).get("train_s"),
                      latency_ms_per_example=round(1000 * seconds / len(records), 3)
                      if seconds and records else None,
                      peak_rss_mb=max(peaks) if peaks else None,
                      sources={"samples": str(path), "lm_eval_task": name, **(train or {})})


def _build_tiny(cfg: GlueConfig, console: Console) -> None:
    from ftbench.train.tiny_model import TinyModelConfig, build_tiny_model

    for m in cfg.decoders:
        out = Path(cfg.decoder_path(m))
        if m.path == TINY and not (out / "manifest.json").is_file():
            console.print(f"  building the embedded tiny model → {out}")
            build_tiny_model(out, config=TinyModelConfig(pretrain_steps=m.tiny_pretrain_steps))


def _base_decoders(cfg: GlueConfig, console: Console) -> list[Experiment]:
    from ftbench.eval.specs import ModelSpec

    modes = [m for m in ("zero_shot", "few_shot") if m in cfg.modes]
    if not modes:
        return []
    cells = {(t, m): lm_task(t, m, cfg.eval.scoring) for t in cfg.tasks for m in modes}
    specs = [ModelSpec(name=m.name, pretrained=cfg.decoder_path(m)) for m in cfg.decoders]
    out = cfg.out / "results" / "base"
    found = _evaluate(cfg, specs, list(cells.values()), out, console)
    exps = []
    for spec in specs:
        for (task, mode), name in cells.items():
            info = found.get(spec.name, {}).get(name)
            if info:
                exp = _decoder_experiment(cfg, spec.name, task, mode, out / spec.name, info)
                exps += [exp] if exp else []
    return exps


def _lora(cfg: GlueConfig, console: Console) -> list[Experiment]:
    from ftbench.eval.specs import ModelSpec
    from ftbench.train.grid import run_grid

    exps = []
    for task in cfg.tasks:
        glue, split, _ = TASKS[task]
        data_dir = cfg.out / "data" / task  # the glue suite's prepared layout, one cell
        prepare_glue(cfg.glue_data, PrepareSettings(sizes=(cfg.lora_train_n,), seed=cfg.glue_seed),
                     data_dir, cells=((glue, split),), eval_n=cfg.eval_n, eval_seed=cfg.glue_seed)
        tc = cfg.lora_config(task, data_dir)
        grid = run_grid(tc, console)["runs"]
        specs, trained = [], {}
        for run in tc.runs():
            run_dir = Path(tc.output_dir) / run.name
            manifest = json.loads((run_dir / "manifest.json").read_text())
            if manifest.get("status") != "complete":
                console.print(f"[red]  LoRA {run.name} on {task} failed: {grid[run.name].get('error')}[/]")
                continue
            specs.append(ModelSpec(name=f"{run.model_name}-lora", pretrained=str(
                (run_dir / "merged").resolve())))
            trained[specs[-1].name] = (run.model_name, {
                "train_s": manifest["timing"]["train_s"],
                "peak_rss_mb": manifest["memory"]["peak_rss_mb"], "run_dir": str(run_dir)})
        if not specs:
            continue
        out = cfg.out / "results" / f"lora-{task}"
        found = _evaluate(cfg, specs, [lm_task(task, "lora", cfg.eval.scoring)], out, console)
        for spec in specs:
            info = found.get(spec.name, {}).get(lm_task(task, "lora", cfg.eval.scoring))
            model, train = trained[spec.name]
            exp = info and _decoder_experiment(cfg, model, task, "lora", out / spec.name, info, train)
            exps += [exp] if exp else []
    return exps


def _encoders(cfg: GlueConfig, console: Console) -> list[Experiment]:
    from ftbench.train.encoder import resolve_model, train_encoder

    exps = []
    for enc in cfg.encoders:
        for task in cfg.tasks:
            settings = cfg.encoder_settings(task, enc.path)
            run_dir = cfg.out / "encoders" / f"{enc.name}__{task}"
            manifest_path = run_dir / "manifest.json"
            manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
            if manifest.get("status") != "complete" or manifest.get("settings") != asdict(settings):
                console.print(f"  fine-tuning encoder {enc.name} ({resolve_model(enc.path)}) "
                              f"on {task}")
                manifest = train_encoder(settings, run_dir)
            exps.append(Experiment(
                model=enc.name, kind="encoder", task=task, glue=TASKS[task][0], mode="encoder",
                records=read_jsonl(run_dir / "predictions.jsonl"),
                train_s=manifest["timing"]["train_s"],
                latency_ms_per_example=manifest["timing"]["latency_ms_per_example"],
                peak_rss_mb=manifest["memory"]["peak_rss_mb"],
                sources={"run_dir": str(run_dir)}))
    return exps


def run_matrix(cfg: GlueConfig, console: Console | None = None) -> dict:
    """Run every (model, task, mode) of the config; write the report; return the manifest."""
    from ftbench.eval.index import package_versions

    console = console or Console()
    cfg.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    experiments: list[Experiment] = []
    if any(m in cfg.modes for m in ("zero_shot", "few_shot", "lora")):
        _build_tiny(cfg, console)
    experiments += _base_decoders(cfg, console)
    if "lora" in cfg.modes:
        experiments += _lora(cfg, console)
    if "encoder" in cfg.modes:
        experiments += _encoders(cfg, console)
    files = write_comparison(experiments, cfg.out / "report")
    manifest = {"kind": "ftbench-glue-matrix", "name": cfg.name, "config": asdict(cfg),
                "experiments": [e.name for e in experiments],
                "expected": len(cfg.tasks) * (len(cfg.decoders) * len([m for m in cfg.modes if m != "encoder"])
                                              + len(cfg.encoders) * ("encoder" in cfg.modes)),
                "files": {k: str(v) for k, v in files.items()},
                "wall_s": round(time.time() - t0, 1), "versions": package_versions()}
    atomic_write_json(cfg.out / "manifest.json", manifest)
    return manifest
