"""Chat prompts read from lm-eval task YAML, so training rows and evaluation prompts agree.

A suite's task files are the single source of each prompt (`description` is the system message,
`doc_to_text` the user turn). Training rows are rendered from the same templates, so a
fine-tuned model sees at evaluation time exactly the prompt it was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2
import yaml


class _TaggedLoader(yaml.SafeLoader):
    """A safe loader that keeps lm-eval's `!function` tags as plain strings."""


_TaggedLoader.add_multi_constructor("!", lambda loader, suffix, node: f"!{suffix}")


@dataclass(frozen=True)
class TaskPrompt:
    system: str
    user_template: str

    def render_user(self, doc: dict) -> str:
        return jinja2.Template(self.user_template, keep_trailing_newline=True).render(**doc)


def load_task_yaml(path: Path) -> dict:
    """A task YAML with its `include`s merged (`!function` tags kept as strings): the prompt
    and generation settings outside lm-eval, for training rows and benchmark floors."""
    cfg = yaml.load(path.read_text(encoding="utf-8"), Loader=_TaggedLoader) or {}
    include = cfg.pop("include", None)
    if include:
        base = load_task_yaml(path.parent / include)
        base.update(cfg)
        cfg = base
    return cfg


def read_prompts(tasks_dir: Path, files: Mapping[str, str]) -> dict[str, TaskPrompt]:
    """{task key: prompt} from `files` ({task key: YAML file name in tasks_dir})."""
    prompts = {}
    for task, filename in files.items():
        cfg = load_task_yaml(Path(tasks_dir) / filename)
        prompts[task] = TaskPrompt(system=cfg.get("description", ""),
                                   user_template=cfg["doc_to_text"])
    return prompts
