"""Reading lm-eval's per-model output files: which tasks are complete, and their metrics."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from pathlib import Path

from ftbench.core.lm_eval_glue import results_files, samples_file, task_metric_values
from ftbench.eval.sample_logs import problem as samples_problem

__all__ = [
    "completed_tasks",
    "ftbench_block",
    "readable_results",
    "results_files",
    "samples_file",
    "samples_problem",
    "shape_problem",
    "task_metric_keys",
    "task_metrics",
    "tasks_of",
]


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def shape_problem(data: object) -> str | None:
    """Why parsed JSON is not an lm-eval results file (a list, `{}`: no `results` mapping)."""
    if not isinstance(data, dict):
        return f"not an lm-eval results file (a JSON {type(data).__name__}, not an object)"
    if not isinstance(data.get("results"), dict) or not all(
            isinstance(v, dict) for v in data["results"].values()):
        return "not an lm-eval results file (no 'results' mapping of tasks to metrics)"
    return None


def _problem(path: Path) -> str | None:
    """Why a results file cannot be read as one (unreadable, truncated, wrong shape), or None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return f"not readable ({exc})"
    except json.JSONDecodeError as exc:
        return f"invalid JSON, truncated? ({exc.msg} at line {exc.lineno})"
    return shape_problem(data)


def readable_results(model_dir: Path) -> list[tuple[Path, dict]]:
    """(file, content) of every results file that reads as an lm-eval results file, oldest
    first: the one reader of the report's, so a truncated `[]` or `{}` file is skipped alike
    (`task_metric_keys` names it)."""
    out = []
    for path in results_files(model_dir) if Path(model_dir).is_dir() else []:
        data = _read(path)
        if data is not None and shape_problem(data) is None:
            out.append((path, data))
    return out


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
        if data is None or shape_problem(data) or samples_problem(path, data):
            continue
        made = (data.get("ftbench") or {}).get("run_fingerprint")
        for task in data.get("results", {}):
            if fingerprints is None or made in fingerprints.get(task, ()):
                done[task] = path
    return done


def task_metric_keys(model_dir: Path, problems: list[str] | None = None
                     ) -> dict[str, dict[tuple[str, str], float]]:
    """task → {(metric, filter): value} from every results file of a model (latest file wins);
    keeps GSM8K's two `exact_match` filters apart. A file that cannot be read as one
    (truncated, `[]`, `{}`) is left out — the others still count — and named in `problems`."""
    out: dict[str, dict[tuple[str, str], float]] = {}
    good = readable_results(model_dir)
    if problems is not None:
        ok = {path for path, _ in good}
        problems += [f"{path}: {_problem(path)}; left out"
                     for path in results_files(model_dir) if path not in ok]
    for _, data in good:
        for task, values in data["results"].items():
            out[task] = task_metric_values(values)
    return out


def task_metrics(model_dir: Path, problems: list[str] | None = None
                 ) -> dict[str, dict[str, float]]:
    """task → {metric: value} (one filter per metric name: the last lm-eval lists)."""
    return {task: {metric: v for (metric, _), v in values.items()}
            for task, values in task_metric_keys(model_dir, problems).items()}
