"""Reading lm-eval's per-model output files: which tasks are complete, and their metrics."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from pathlib import Path

from ftbench.core.lm_eval_glue import results_files, samples_file, task_metric_values
from ftbench.eval.sample_logs import problem as samples_problem

__all__ = ["completed_tasks", "ftbench_block", "results_files", "samples_file",
           "samples_problem", "task_metric_keys", "task_metrics", "tasks_of"]


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def ftbench_block(path: Path) -> dict | None:
    """The `ftbench` block the worker adds to a results file (fingerprints, counts), or None."""
    data = _read(path)
    return data.get("ftbench") if data else None


def tasks_of(path: Path) -> list[str]:
    """The tasks a results file holds results of (none when unreadable)."""
    return list((_read(path) or {}).get("results") or {})


def completed_tasks(model_dir: Path, fingerprints: Mapping[str, Collection[str]] | None = None
                    ) -> dict[str, Path]:
    """task → the results file that holds it (a results file is only ever moved in complete).

    With `fingerprints` (task → the run fingerprints it is reused for:
    ftbench.eval.task_identity), only the asked tasks made by that model under those settings
    count (`ftbench.run_fingerprint`); an unreadable file never counts, nor one whose
    per-sample logs are missing, truncated or changed (ftbench.eval.sample_logs)."""
    done: dict[str, Path] = {}
    for path in results_files(model_dir):
        data = _read(path)
        if data is None or samples_problem(path, data):
            continue
        made = (data.get("ftbench") or {}).get("run_fingerprint")
        for task in data.get("results", {}):
            if fingerprints is None or made in fingerprints.get(task, ()):
                done[task] = path
    return done


def task_metric_keys(model_dir: Path) -> dict[str, dict[tuple[str, str], float]]:
    """task → {(metric, filter): value} from every results file of a model (latest file wins);
    keeps GSM8K's two `exact_match` filters apart."""
    out: dict[str, dict[tuple[str, str], float]] = {}
    for path in results_files(model_dir):
        data = json.loads(path.read_text())
        for task, values in data.get("results", {}).items():
            out[task] = task_metric_values(values)
    return out


def task_metrics(model_dir: Path) -> dict[str, dict[str, float]]:
    """task → {metric: value} (one filter per metric name: the last lm-eval lists)."""
    return {task: {metric: v for (metric, _), v in values.items()}
            for task, values in task_metric_keys(model_dir).items()}
