"""Chat prompts for the four BMW tasks, read from the task YAML so training and evaluation agree.

The lm-eval task files in `tasks/bmw/` are the single source of each prompt (`description` is the
system message, `doc_to_text` the user turn). Training rows are rendered from the same templates,
so a fine-tuned model sees at evaluation time exactly the prompt it was trained on.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ftbench.suites.bmw.resources import BMW_TASKS_DIR
from ftbench.suites.prompts import TaskPrompt, load_task_yaml, read_prompts

__all__ = ["TASK_FILES", "TaskPrompt", "load_task_yaml", "task_prompts"]

TASK_FILES = {
    "summarization": "bmw_summarization.yaml",
    "title": "bmw_title.yaml",
    "tags": "bmw_tags.yaml",
    "type": "bmw_type.yaml",
}


@cache
def task_prompts(tasks_dir: Path = BMW_TASKS_DIR) -> dict[str, TaskPrompt]:
    """The system and user prompts of each BMW task, from its YAML file."""
    return read_prompts(tasks_dir, TASK_FILES)
