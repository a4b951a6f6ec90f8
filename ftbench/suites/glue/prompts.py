"""GLUE rows as chat conversations for LoRA: the prompts of the generative task YAML, answer = label word.

The `glue_small_<task>_gen` YAML files are the single source of each prompt (`description` is
the system message, `doc_to_text` the user turn), as for the bmw tasks: a fine-tuned model is
evaluated on exactly the prompt it was trained on. The written directory has the layout
`ftbench/train/` reads (`train_<size>.jsonl` + `manifest.json` with hashes).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ftbench.core.io import atomic_write_json, atomic_write_jsonl, sha256_file
from ftbench.core.paths import TASKS_DIR
from ftbench.suites.bmw.prompts import TaskPrompt, load_task_yaml
from ftbench.suites.glue.data import glue_task

GLUE_TASKS_DIR = TASKS_DIR / "glue_small"


@cache
def gen_prompt(task_name: str, tasks_dir: Path = GLUE_TASKS_DIR) -> TaskPrompt:
    """System and user prompt of `glue_small_<task>_gen`, read from its YAML."""
    glue_task(task_name)
    cfg = load_task_yaml(tasks_dir / f"glue_small_{task_name}_gen.yaml")
    return TaskPrompt(system=cfg["description"], user_template=cfg["doc_to_text"])


def to_chat(row: dict) -> dict:
    """One GLUE row as system / user / assistant (= the answer word of its label)."""
    prompt = gen_prompt(row["glue_task"])
    row_id = f"{row['glue_task']}-{row['idx']}"
    return {"id": row_id, "article_id": row_id, "task": row["glue_task"], "messages": [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": prompt.render_user(row)},
        {"role": "assistant", "content": row["answer"]},
    ]}


def write_train_dir(rows: list[dict], out: Path, source: dict) -> Path:
    """`out/train_<n>.jsonl` + `manifest.json` for `ftbench train` (size = number of rows)."""
    out = Path(out)
    name = f"train_{len(rows)}.jsonl"
    path = atomic_write_jsonl(out / name, [to_chat(r) for r in rows])
    atomic_write_json(out / "manifest.json", {
        "kind": "ftbench-glue-train", "source": source,
        "articles": {"train": len(rows)},
        "sizes": {str(len(rows)): {"requested": len(rows), "articles": len(rows), "rows": len(rows)}},
        "files": {name: sha256_file(path)},
    })
    return path
