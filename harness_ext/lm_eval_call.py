"""One model through lm-eval's `simple_evaluate`, saved the way the `lm_eval` CLI saves it.

Keeping to lm-eval's own files (`results_*.json`, `samples_<task>_*.jsonl` written by its
EvaluationTracker) means stock lm-eval tooling reads our outputs, and `lm_eval` run by hand on one
model gives the same numbers as that model's entry in a study.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_ext.paths import TASKS_DIR


@dataclass
class EvalRequest:
    """Everything that decides one model's evaluation (identical settings for every model)."""

    model_args: dict[str, Any]
    tasks: list[str]
    output_dir: Path
    backend: str = "hf"
    limit: int | float | None = None
    batch_size: int | str = 8
    apply_chat_template: bool = True
    use_cache: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    include_path: Path = TASKS_DIR


_TASK_MANAGERS: dict[tuple[str, str], Any] = {}


def task_manager(include_path: Path, metadata: dict[str, Any] | None = None):
    """A TaskManager per include path and metadata (building one costs seconds: reuse it)."""
    from lm_eval.tasks import TaskManager

    key = (str(include_path), json.dumps(metadata or {}, sort_keys=True))
    if key not in _TASK_MANAGERS:
        _TASK_MANAGERS[key] = TaskManager(include_path=str(include_path), metadata=metadata or None)
    return _TASK_MANAGERS[key]


def run_lm_eval(req: EvalRequest) -> dict:
    """Evaluate one model; write lm-eval's results and samples files under req.output_dir."""
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker

    tracker = EvaluationTracker(output_path=str(req.output_dir))
    results = simple_evaluate(
        model=req.backend,
        model_args=req.model_args,
        tasks=req.tasks,
        batch_size=req.batch_size,
        limit=req.limit,
        use_cache=req.use_cache,
        log_samples=True,
        evaluation_tracker=tracker,
        apply_chat_template=req.apply_chat_template,
        task_manager=task_manager(req.include_path, req.metadata),
        metadata=req.metadata or None,
        bootstrap_iters=1000,
    )
    if results is None:  # non-zero rank in distributed runs
        return {}
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for task_name in results["configs"]:
        tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    return results
