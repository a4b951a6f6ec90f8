"""Task names → leaf tasks, without loading any dataset (the index lm-eval builds is enough)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from harness_ext.io import InputError
from harness_ext.paths import TASKS_DIR


@cache
def _task_manager(include_path: str, metadata_json: str):
    from lm_eval.tasks import TaskManager

    metadata = json.loads(metadata_json) or None
    return TaskManager(include_path=include_path, metadata=metadata)


def task_manager(include_path: Path | str = TASKS_DIR, metadata: dict | None = None):
    """One TaskManager per include path and metadata: building one costs seconds."""
    return _task_manager(str(include_path), json.dumps(metadata or {}, sort_keys=True))


def expand_tasks(names: list[str], tm) -> list[str]:
    """Groups and tags expanded to their leaf tasks, in order, without duplicates."""
    from lm_eval.tasks._index import Kind

    index = tm.task_index
    out: list[str] = []

    def visit(name: str) -> None:
        entry = index.get(name)
        if entry is None:
            raise InputError(f"unknown task {name!r} (include path: {TASKS_DIR})")
        if entry.kind == Kind.GROUP:
            for child in (entry.cfg or {}).get("task", []):
                visit(child if isinstance(child, str) else child["task"])
        elif entry.kind == Kind.TAG:
            for other, e in index.items():
                if name in e.tags and e.kind in (Kind.TASK, Kind.PY_TASK):
                    visit(other)
        elif name not in out:
            out.append(name)

    for n in names:
        visit(n)
    return out
