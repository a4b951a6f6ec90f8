"""The general_small suite: evaluation only (lm-eval's MMLU HS-CS, HellaSwag, GSM8K, renamed).

It has nothing to prepare or train on; a study lists it in `eval.tasks` beside its own suite to
measure what fine-tuning cost. Its report section (12, forgetting) reads lm-eval's aggregates
straight from the results files (`ftbench.report.general_results`), so it needs no columns here.
"""

from __future__ import annotations

import yaml

from ftbench.core.paths import TASKS_DIR
from ftbench.suites.base import DataSource, Suite
from ftbench.suites.general.data import ENV_VAR, SAMPLE_DIR


def hub_datasets(task: str) -> list[tuple[str, str | None]]:
    """The hub dataset a general_small task reads without local files: its upstream task's."""
    from ftbench.suites.general.task import upstream_config

    ours = yaml.safe_load((TASKS_DIR / "general_small" / f"{task}.yaml").read_text()
                          .replace("!function", "")) or {}
    if not ours.get("upstream_task"):
        return []
    cfg = upstream_config(ours["upstream_task"], ours["upstream_dir"])
    return [(cfg["dataset_path"], cfg.get("dataset_name"))] if cfg.get("dataset_path") else []


SUITE = Suite(
    name="general_small", task_group="general_small", tasks_dir=TASKS_DIR / "general_small",
    data=DataSource(metadata_key="general_data", env_var=ENV_VAR, reads="dir",
                    sample_dir=SAMPLE_DIR, hub_datasets=hub_datasets),
    task_prefix="general_small", role="general",
)
