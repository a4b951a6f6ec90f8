"""Per-task identity: what one (model, task) results file is reused for.

Why per task: the evaluation settings every task shares (backend, limit, chat template, versions…)
decide the whole results directory, but a task's own inputs — its lm-eval folder and code, the
data of its suite, its generation budget — only its own results. So adding a task to finished
results evaluates only that task, and a change to one task's inputs makes only that task stale
(`--force` re-evaluates it alone). Results files made when the fingerprint covered the whole task
list stay reusable while that list and everything else is unchanged (`legacy`).
"""

from __future__ import annotations

from collections.abc import Mapping

from ftbench.core.fingerprint import changes, digest, eval_code_digest
from ftbench.eval.generation import gen_kwargs_for
from ftbench.suites.sources import task_data_groups

# the keys an older settings record compared for the whole directory; now each task's own
TASK_KEYS = ("tasks", "task_code", "data_sha256", "max_gen_toks")


def task_settings(leaf: list[str], tm, data: Mapping[str, dict],
                  max_gen_toks: int | Mapping[str, int] | None) -> dict[str, dict]:
    """task → its own inputs: its folder's code (with the package's metric code), its suite's
    data hash, its generation budget."""
    out = {}
    for task in leaf:
        yaml_path = getattr(tm.task_index.get(task), "yaml_path", None)
        out[task] = {
            "task_code": eval_code_digest([yaml_path.parent] if yaml_path else []),
            "data_sha256": {g: data[g]["sha256"] for g in task_data_groups(task) if g in data},
            "gen_kwargs": gen_kwargs_for(task, max_gen_toks),
        }
    return out


def task_fingerprints(run_fp: str, legacy_fp: str, settings: Mapping[str, dict]
                      ) -> dict[str, tuple[str, ...]]:
    """task → the run fingerprints a results file of it may carry to be reused: its own (the
    model's run fingerprint with the task's inputs), then the older whole-list one."""
    return {task: (digest({"run": run_fp, "task": own}), legacy_fp)
            for task, own in settings.items()}


def shared(compare: Mapping | None) -> dict | None:
    """A stored settings record without the per-task keys older versions kept in it."""
    return None if compare is None else {k: v for k, v in compare.items() if k not in TASK_KEYS}


def settings_changes(stored: Mapping, now: Mapping) -> tuple[list[str], dict[str, list[str]]]:
    """What changed since a results folder's stored settings: the shared settings (every model
    is stale) and, per task evaluated there before, its own inputs (that task is stale for every
    model: the models of one folder are compared on the same task inputs). A folder recorded
    before per-task identity compares its whole record once, less the task list."""
    if "tasks" not in stored:
        old = {k: v for k, v in (stored.get("compare") or {}).items() if k != "tasks"}
        new = {k: v for k, v in now["legacy_compare"].items() if k != "tasks"}
        return (changes(old, new) if old != new else []), {}
    was = shared(stored.get("compare"))
    common = changes(was, now["compare"]) if was != now["compare"] else []
    own = {task: changes(old, now["tasks"][task]) for task, old in stored["tasks"].items()
           if task in now["tasks"] and old != now["tasks"][task]}
    return common, own


def merged(stored: Mapping | None, now: Mapping) -> dict:
    """The settings to store: now's, keeping the inputs of tasks evaluated before and not asked
    now (asking for them again is compared with what made their files)."""
    kept = (stored or {}).get("tasks") or {}
    return {**now, "tasks": {**kept, **now["tasks"]}}
