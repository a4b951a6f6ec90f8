"""The general_small suite: evaluation only (lm-eval's MMLU HS-CS, HellaSwag, GSM8K, renamed).

It has nothing to prepare or train on; a study lists it in `eval.tasks` beside its own suite to
measure what fine-tuning cost. Its report section (12, forgetting) reads lm-eval's aggregates
straight from the results files (`ftbench.report.general_results`), so it needs no columns here.
"""

from __future__ import annotations

from ftbench.core.paths import TASKS_DIR
from ftbench.suites.base import DataSource, Suite
from ftbench.suites.general.data import ENV_VAR, SAMPLE_DIR

SUITE = Suite(
    name="general_small", task_group="general_small", tasks_dir=TASKS_DIR / "general_small",
    data=DataSource(metadata_key="general_data", env_var=ENV_VAR, reads="dir",
                    sample_dir=SAMPLE_DIR),
    task_prefix="general_small", role="general",
)
