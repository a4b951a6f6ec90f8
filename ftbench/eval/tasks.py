"""Task names → leaf tasks, without loading any dataset (the index lm-eval builds is enough)."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

from ftbench.core import lm_eval_glue
from ftbench.core.io import InputError
from ftbench.core.paths import TASKS_DIR


@cache
def _task_manager(include_path: str, metadata_json: str, include_defaults: bool):
    return lm_eval_glue.new_task_manager(include_path, json.loads(metadata_json),
                                         include_defaults)


def task_manager(include_path: Path | str = TASKS_DIR, metadata: dict | None = None,
                 tasks: list[str] | None = None):
    """One TaskManager per include path and metadata: building one costs seconds.

    lm-eval's own index parses every built-in YAML (~27k loads, 5-25 s on 2 cores, most of a
    small evaluation's wall time). When all of `tasks` resolve within the include path alone,
    that index is skipped; otherwise (or when `tasks` is not given) it is built as usual.
    """
    meta = json.dumps(metadata or {}, sort_keys=True)
    if tasks:
        own = _task_manager(str(include_path), meta, False)
        try:
            expand_tasks(tasks, own)
            return own
        except InputError:
            pass
    return _task_manager(str(include_path), meta, True)


def expand_tasks(names: list[str], tm) -> list[str]:
    """Groups and tags expanded to their leaf tasks, in order, without duplicates."""
    return lm_eval_glue.leaf_tasks(names, tm, f" (include path: {TASKS_DIR})")


def check_limit(value: int | float | None, key: str = "--limit") -> int | float | None:
    """lm-eval's limit: a whole number of examples per task (>= 1) or a fraction in (0, 1)."""
    if value is None:
        return None
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and value > 0 and (value < 1 or float(value).is_integer()))
    if not ok:
        raise InputError(f"{key}: must be a whole number of examples (>= 1) or a fraction in "
                         f"(0, 1), got {value!r}")
    return int(value) if value >= 1 else float(value)
