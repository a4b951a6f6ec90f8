"""Each evaluated model's metrics to the experiment trackers (ftbench.core.tracking).

Why from the results files: they are what the report reads, so the tracker shows the same
numbers; a model's tracker run is named as the model, so a fine-tune's scores join its training
curves (the training run has the same name).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ftbench.core.tracking import TrackingConfig, log_run
from ftbench.eval.results_files import task_metrics


def result_scalars(model_dir: Path) -> dict[str, float]:
    """`eval/<task>/<metric>` → value, every numeric metric of every task lm-eval wrote."""
    return {f"eval/{task}/{metric}": value
            for task, metrics in sorted(task_metrics(model_dir).items())
            for metric, value in sorted(metrics.items())}


def track_results(tracking: TrackingConfig | None, results_dir: Path,
                  models: Iterable[str]) -> list[str]:
    """Log each model's metrics (a model without results is left out); the models logged."""
    if tracking is None or not tracking.backends:
        return []
    logged = []
    for model in models:
        scalars = result_scalars(Path(results_dir) / model)
        if scalars:
            log_run(tracking, model, scalars)
            logged.append(model)
    return logged
