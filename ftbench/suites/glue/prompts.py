"""GLUE rows as chat conversations for LoRA: the prompts of the generative task YAML, answer = label word.

The `glue_small_<task>_gen` YAML files are the single source of each prompt (`description` is
the system message, `doc_to_text` the user turn), as for every suite's tasks: a fine-tuned model is
evaluated on exactly the prompt it was trained on. `ftbench.suites.glue.suite` writes these rows
into the shared prepared layout.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ftbench.core.paths import TASKS_DIR
from ftbench.suites.glue.data import GLUE_TASKS, glue_task
from ftbench.suites.prompts import TaskPrompt, read_prompts

GLUE_TASKS_DIR = TASKS_DIR / "glue_small"
PROMPT_FILES = {name: f"glue_small_{name}_gen.yaml" for name in GLUE_TASKS}


@cache
def gen_prompt(task_name: str, tasks_dir: Path = GLUE_TASKS_DIR) -> TaskPrompt:
    """System and user prompt of `glue_small_<task>_gen`, read from its YAML."""
    glue_task(task_name)
    return read_prompts(tasks_dir, {task_name: PROMPT_FILES[task_name]})[task_name]


def to_chat(row: dict) -> dict:
    """One GLUE row as system / user / assistant (= the answer word of its label)."""
    prompt = gen_prompt(row["glue_task"])
    row_id = f"{row['glue_task']}-{row['idx']}"
    return {"id": row_id, "article_id": row_id, "task": row["glue_task"], "messages": [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": prompt.render_user(row)},
        {"role": "assistant", "content": row["answer"]},
    ]}
