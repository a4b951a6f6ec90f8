"""Run every (model, train size) of a config: resumable, and one failure does not stop the rest.

Resume rule: a run directory whose manifest says "complete" is skipped; anything else under the
run's name (a failed run's record, a directory from an older layout, a killed run's staging dir) is
removed and the run starts again from the base model. `grid_index.json` in the output directory
records every run's status, the error of a failed one, and its headline numbers.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from harness_ext.io import InputError, atomic_write_json, sha256_file
from training.artifacts import remove_stale_staging
from training.config import RunSpec, TrainConfig
from training.data import check_train_file, read_manifest

INDEX_NAME = "grid_index.json"


@dataclass(frozen=True)
class PlannedRun:
    spec: RunSpec
    run_dir: Path
    train_file: Path
    data_sha: str


def plan(cfg: TrainConfig) -> list[PlannedRun]:
    """Check every run's data before anything trains; InputError names the key or the file."""
    data_dir = Path(cfg.data_dir)
    if not data_dir.is_dir():
        raise InputError(f"config key 'data_dir': {data_dir} is not a directory; make it with "
                         "`ftbench data prepare RAW.jsonl --out DIR`")
    manifest = read_manifest(data_dir)
    key = "grid.sizes" if cfg.grid else "train_size"
    hashes: dict[Path, str] = {}
    planned = []
    for spec in cfg.runs():
        path = check_train_file(data_dir, spec.train_size, manifest, key)
        hashes.setdefault(path, sha256_file(path))
        planned.append(PlannedRun(spec, Path(cfg.output_dir) / spec.name, path, hashes[path]))
    return planned


def read_run_manifest(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def is_complete(run_dir: Path) -> bool:
    m = read_run_manifest(run_dir)
    return bool(m) and m.get("status") == "complete"


def _summary(m: dict) -> dict[str, Any]:
    return {"status": m.get("status"), "base_model": m.get("base_model"),
            "train_size": m.get("train_size"), "method": m.get("method"),
            "backend": m.get("backend"), "eval_loss": m.get("eval_loss"),
            "tokens_per_s": m.get("timing", {}).get("tokens_per_s"),
            "wall_s": m.get("timing", {}).get("wall_s"), "error": m.get("error")}


class GridIndex:
    """`grid_index.json`: rewritten atomically after every run."""

    def __init__(self, output_dir: Path, cfg: TrainConfig) -> None:
        self.path = output_dir / INDEX_NAME
        old = {}
        if self.path.is_file():
            try:
                old = json.loads(self.path.read_text(encoding="utf-8")).get("runs", {})
            except json.JSONDecodeError:
                old = {}
        self.data: dict[str, Any] = {"kind": "ftbench-train-grid", "config": cfg.to_dict(),
                                     "runs": old}

    def record(self, name: str, manifest: dict, action: str) -> None:
        self.data["runs"][name] = {**_summary(manifest), "action": action}
        self.data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        atomic_write_json(self.path, self.data)


def _failed_manifest(cfg: TrainConfig, run: PlannedRun, exc: BaseException, t0: float) -> dict:
    return {
        "kind": "ftbench-train-run", "status": "failed", "run": run.spec.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "base_model": run.spec.model_path,
        "train_size": run.spec.train_size, "method": cfg.method,
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": traceback.format_exc(limit=-8).splitlines()[-40:],
        "timing": {"wall_s": round(time.perf_counter() - t0, 3)}, "config": cfg.to_dict(),
    }


def run_grid(cfg: TrainConfig, console: Console | None = None,
             callbacks: list | None = None) -> dict[str, Any]:
    """Train every run of `cfg` that is not complete yet; return the grid index."""
    from training.unsloth_backend import import_unsloth, resolve_backend

    planned = plan(cfg)  # before the heavy imports: a bad config fails in a second
    backend = resolve_backend(cfg.backend)
    if backend == "unsloth":
        import_unsloth()
    from training.progress import GridProgress
    from training.run import release_memory, train_run

    output_dir = Path(cfg.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(output_dir)
    index = GridIndex(output_dir, cfg)
    with GridProgress(len(planned), console) as display:
        for run in planned:
            name = run.spec.name
            if is_complete(run.run_dir):
                index.record(name, read_run_manifest(run.run_dir) or {}, "skipped")
                display.end_run(name, "already complete, skipped")
                continue
            if run.run_dir.exists():
                shutil.rmtree(run.run_dir)  # a failed or interrupted attempt: start clean
            display.start_run(name)
            t0 = time.perf_counter()
            try:
                manifest = train_run(cfg, run.spec, backend, run.train_file, run.data_sha,
                                     run.run_dir, [display.callback(name), *(callbacks or [])],
                                     on_phase=display.phase)
                index.record(name, manifest, "trained")
                display.end_run(name, f"complete in {manifest['timing']['wall_s']:.1f} s")
            except Exception as exc:  # one run's failure must not stop the grid
                failed = _failed_manifest(cfg, run, exc, t0)
                shutil.rmtree(run.run_dir, ignore_errors=True)
                atomic_write_json(run.run_dir / "manifest.json", failed)
                index.record(name, failed, "failed")
                display.end_run(name, f"[red]failed[/red]: {failed['error']}")
                release_memory()
    return index.data
