"""Task resolution (ftbench/eval/tasks.py) without a model: our own tasks skip lm-eval's built-in
index, a built-in task brings it, an unknown task is an input error."""

from __future__ import annotations

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
