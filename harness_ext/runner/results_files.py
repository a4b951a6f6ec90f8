"""Reading lm-eval's per-model output files: which tasks are complete, and their metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path


def results_files(model_dir: Path) -> list[Path]:
    return sorted(model_dir.glob("results_*.json"))


def completed_tasks(model_dir: Path) -> dict[str, Path]:
    """task → the results file that holds it (a results file is only ever moved in complete)."""
    done: dict[str, Path] = {}
    for path in results_files(model_dir):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        for task in data.get("results", {}):
            done[task] = path
    return done


def task_metrics(model_dir: Path) -> dict[str, dict[str, float]]:
    """task → {metric: value} from every results file of a model (latest file wins)."""
    out: dict[str, dict[str, float]] = {}
    for path in results_files(model_dir):
        data = json.loads(path.read_text())
        for task, values in data.get("results", {}).items():
            # metric keys are "<metric>,<filter>"; "sample_len" and "alias" are not metrics
            out[task] = {k.split(",")[0]: v for k, v in values.items()
                         if "," in k and isinstance(v, (int, float)) and "_stderr" not in k}
    return out


def samples_file(model_dir: Path, task: str) -> Path | None:
    # lm-eval names them samples_<task>_<date>.jsonl; `bmw_type_*` must not match bmw_type_mc
    pattern = re.compile(rf"samples_{re.escape(task)}_\d{{4}}-.*\.jsonl")
    files = sorted(p for p in model_dir.glob(f"samples_{task}_*.jsonl") if pattern.fullmatch(p.name))
    return files[-1] if files else None
