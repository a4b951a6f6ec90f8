"""Run a study's stages in order; each is skipped when its outputs are complete.

The study directory's `manifest.json` records the config, package versions, data hashes and a
status and wall time per stage, so an interrupted study says where it stopped and a re-run
finishes without redoing completed work (each stage's own resume logic decides what is left).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from harness_ext.io import InputError, atomic_write_json, sha256_file
from harness_ext.runner.index import package_versions
from harness_ext.study.config import STAGES, TINY, StudyConfig


def _stage_data(cfg: StudyConfig, console: Console) -> dict:
    from harness_ext.data.prepare import prepare_file, write_prepared

    raw = resolve_source(cfg, console)
    settings = {"sizes": tuple(cfg.data.sizes), "test_size": _test_size(cfg.data.test_size),
                "seed": cfg.data.seed, "max_input_words": cfg.data.max_input_words,
                "strip_reference_from_input": cfg.data.strip_reference_from_input}
    marker = {"source_sha256": sha256_file(raw), **{k: list(v) if isinstance(v, tuple) else v
                                                     for k, v in settings.items()}}
    manifest = cfg.data_dir / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text()).get("study_marker") == marker:
        return {"skipped": True, "dir": str(cfg.data_dir)}
    result = prepare_file(raw, skip_invalid=cfg.data.skip_invalid, **settings)
    result.manifest["study_marker"] = marker
    write_prepared(result, cfg.data_dir)
    for w in result.warnings:
        console.print(f"  note: {w}")
    return {"skipped": False, "dir": str(cfg.data_dir), "warnings": result.warnings,
            "test_rows": result.manifest["test_rows_per_task"]}


def _test_size(value: float) -> float | int:
    return int(value) if value >= 1 else value


def resolve_source(cfg: StudyConfig, console: Console) -> Path:
    """A local JSONL as is; a hub dataset id is downloaded once into the study directory."""
    src = Path(cfg.data.source)
    if src.is_file():
        return src
    if src.suffix in (".jsonl", ".json") or "/" not in cfg.data.source:
        raise InputError(f"config key 'data.source': {src} not found")
    target = cfg.out / "raw" / (cfg.data.source.replace("/", "__") + ".jsonl")
    if not target.is_file():
        from datasets import load_dataset

        console.print(f"  downloading hub dataset {cfg.data.source}")
        ds = load_dataset(cfg.data.source, split="train")
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.to_json(str(target) + ".tmp", lines=True, force_ascii=False)
        Path(str(target) + ".tmp").rename(target)
    return target


def _stage_models(cfg: StudyConfig, console: Console) -> dict:
    from harness_ext.model_sources import is_model_source, resolve_model_path
    from training.tiny_model import TinyModelConfig, build_tiny_model

    built = {}
    for m in cfg.models:
        if is_model_source(m.path):  # an alias or a .gguf file: converted once, cached
            built[m.name] = resolve_model_path(m.path, log=lambda s: console.print(f"  {s}"))
            continue
        if m.path != TINY:
            continue
        out = Path(cfg.model_path(m))
        if (out / "manifest.json").is_file():
            built[m.name] = "skipped"
            continue
        console.print(f"  building the embedded tiny model → {out}")
        build_tiny_model(out, config=TinyModelConfig(pretrain_steps=m.tiny_pretrain_steps))
        built[m.name] = "built"
    return built


def _stage_train(cfg: StudyConfig, console: Console) -> dict:
    from training.grid import run_grid

    failed = []
    for train_config in cfg.train_configs():  # one grid per training method
        index = run_grid(train_config, console)
        runs = index.get("runs", index)
        failed += [n for n, r in runs.items()
                   if isinstance(r, dict) and r.get("status") == "failed" and n not in failed]
    if failed:
        console.print(f"[red]  training failed for {', '.join(failed)}; the others go on[/]")
    return {"failed": failed}


def _stage_eval(cfg: StudyConfig, console: Console) -> dict:
    from harness_ext.runner.orchestrator import EvalSettings, evaluate_models
    from harness_ext.runner.summary import print_summary

    settings = EvalSettings(
        tasks=cfg.eval.tasks, backend=cfg.eval.backend, limit=cfg.eval.limit,
        batch_size=cfg.eval.batch_size, apply_chat_template=cfg.eval.apply_chat_template,
        metadata=cfg.eval_metadata(), context_length=cfg.eval.context_length,
        threads=cfg.eval.threads, enable_thinking=cfg.eval.thinking,
        max_gen_toks=cfg.eval.max_gen_toks)
    index = evaluate_models(cfg.model_specs(), settings, cfg.results_dir, console)
    print_summary(index.data, cfg.results_dir, console)
    return {m: v["status"] for m, v in index.data["models"].items()}


def _stage_report(cfg: StudyConfig, console: Console) -> dict:
    from harness_ext.report.build import report_main

    base = f"{cfg.models[0].name}-base" if cfg.eval.include_base else None
    return report_main(cfg.results_dir, cfg.report_dir, top_n=cfg.report.top_n, baseline=base,
                       metric=cfg.report.metric, tie_threshold=cfg.report.tie_threshold,
                       n_samples=cfg.report.n_samples, runs=cfg.runs_dir, console=console)


STAGE_FUNCS: dict[str, Callable[[StudyConfig, Console], dict]] = {
    "data": _stage_data, "models": _stage_models, "train": _stage_train, "eval": _stage_eval,
    "report": _stage_report,
}


def run_study(cfg: StudyConfig, only: list[str] | None = None, console: Console | None = None,
              config_path: Path | None = None) -> dict:
    """Run the stages (all, or `only`), recording each in the study manifest."""
    console = console or Console()
    stages = only or list(STAGES)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise InputError(f"--only: unknown stage {unknown[0]!r}; stages: {', '.join(STAGES)}")
    cfg.out.mkdir(parents=True, exist_ok=True)
    path = cfg.out / "manifest.json"
    manifest = json.loads(path.read_text()) if path.is_file() else {"stages": {}}
    manifest.update(config=_config_dict(cfg), versions=package_versions(),
                    config_file=str(config_path) if config_path else None)
    for stage in stages:
        console.print(Rule(f"[bold]{cfg.name}: {stage}"))
        t0 = time.time()
        manifest["stages"][stage] = {"status": "running", "started": time.strftime("%H:%M:%S")}
        atomic_write_json(path, manifest)
        try:
            info = STAGE_FUNCS[stage](cfg, console)
        except BaseException as exc:
            manifest["stages"][stage].update(status="failed", error=f"{type(exc).__name__}: {exc}",
                                             seconds=round(time.time() - t0, 1))
            atomic_write_json(path, manifest)
            raise
        manifest["stages"][stage] = {"status": "complete", "seconds": round(time.time() - t0, 1),
                                     "info": info}
        atomic_write_json(path, manifest)
    return manifest


def _config_dict(cfg: StudyConfig) -> dict:
    d = asdict(cfg)
    d["train"] = cfg.train
    return d
