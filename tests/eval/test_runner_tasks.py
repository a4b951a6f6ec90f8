"""Runner pieces without a model: task resolution (our own tasks skip lm-eval's built-in index)
and the log filter."""

from __future__ import annotations

import logging

import pytest

from ftbench.core.io import InputError
from ftbench.core.paths import TASKS_DIR
from ftbench.eval.tasks import expand_tasks, task_manager


def test_own_tasks_resolve_without_the_builtin_index():
    tm = task_manager(TASKS_DIR, None, ["bmw"])
    assert "hellaswag" not in tm.task_index  # lm-eval's ~27k built-in YAML loads were skipped
    assert expand_tasks(["bmw"], tm) == ["bmw_summarization", "bmw_title", "bmw_tags", "bmw_type",
                                         "bmw_type_mc", "bmw_perplexity"]


def test_a_builtin_task_brings_the_full_index():
    tm = task_manager(TASKS_DIR, None, ["bmw_type", "arc_easy"])
    assert expand_tasks(["bmw_type", "arc_easy"], tm) == ["bmw_type", "arc_easy"]
    with pytest.raises(InputError, match="no_such_task"):
        expand_tasks(["no_such_task"], tm)


def test_lm_eval_custom_dataset_hint_is_dropped_and_real_warnings_kept(caplog):
    from ftbench.core.lm_eval_glue import quiet_custom_dataset_hint

    quiet_custom_dataset_hint()  # what every evaluation does first

    logger = logging.getLogger("lm_eval.api.task")
    with caplog.at_level(logging.WARNING, logger="lm_eval.api.task"):
        logger.warning("bmw_title: Custom kwargs can be passed to `--metadata` in console")
        logger.warning("bmw_title: a real problem")
    assert [r.getMessage() for r in caplog.records] == ["bmw_title: a real problem"]
