"""An lm-eval built-in task under a `general_small_*` name, its definition reused as is.

A task YAML in `tasks/general_small/` names the upstream task (`upstream_task`, and the folder of
lm-eval's own `tasks/` that holds it, `upstream_dir`) and `class:` points here. lm-eval builds
the task through this class, which loads the upstream YAML with lm-eval's own loader (includes
and `!function`s resolved exactly as for the built-in) and changes only three things:

* the name (`general_small_*`, so an include path never shadows the built-in),
* where the rows come from (`custom_dataset` -> `ftbench.suites.general.data.load_benchmark`: the
  upstream hub dataset by default, or local files in its schema), and the seeded subsample,
* the metadata (our suite version; the upstream version is kept as `upstream_version`).

Prompts, few-shot settings, metrics, filters and generation settings stay the upstream ones, so
numbers are comparable with `lm_eval --tasks hellaswag` on the same items.
"""

from __future__ import annotations

from functools import partial

from ftbench.core.io import InputError
from ftbench.core.lm_eval_glue import ConfigurableTask, upstream_task_yaml
from ftbench.suites.general.data import load_benchmark

_OWN_KEYS = ("class", "upstream_task", "upstream_dir")


def upstream_config(task: str, folder: str) -> dict:
    """The built-in task's full config (a fresh copy: callers may change it)."""
    return upstream_task_yaml(task, folder)


def eval_split(cfg: dict) -> str:
    """The split lm-eval evaluates on: test, else validation (as ConfigurableTask.eval_docs)."""
    split = cfg.get("test_split") or cfg.get("validation_split")
    if not split:
        raise InputError(f"upstream task {cfg.get('task')!r} has neither test_split nor "
                         "validation_split")
    return split


def used_splits(cfg: dict) -> list[str]:
    """Every split the upstream task may read: evaluation, few-shot and training."""
    fewshot = (cfg.get("fewshot_config") or {}).get("split")
    names = [cfg.get(k) for k in ("test_split", "validation_split", "training_split",
                                  "fewshot_split")] + [fewshot]
    return list(dict.fromkeys(n for n in names if n))


def general_config(config: dict) -> dict:
    """Our task YAML's config (plus lm-eval's runtime metadata) -> the full task config."""
    ours = dict(config)
    for key in ("upstream_task", "upstream_dir"):
        if not ours.get(key):
            raise InputError(f"general_small task {ours.get('task')!r}: key '{key}' is required")
    upstream, folder = ours["upstream_task"], ours["upstream_dir"]
    for key in _OWN_KEYS:
        ours.pop(key, None)
    cfg = upstream_config(upstream, folder)
    cfg.pop("tag", None)  # the built-in's tags (e.g. multiple_choice) are not ours
    up_meta = cfg.pop("metadata", None) or {}
    meta = dict(ours.pop("metadata", None) or {})
    meta.setdefault("upstream_task", upstream)
    if "version" in up_meta:
        meta.setdefault("upstream_version", up_meta["version"])
    cfg["task_alias"] = ours.pop("task_alias", None) or ours["task"]  # not upstream's alias
    cfg.update(ours)
    cfg["metadata"] = meta
    cfg["custom_dataset"] = partial(
        load_benchmark, upstream, hub_path=cfg.get("dataset_path"),
        hub_name=cfg.get("dataset_name"), splits=used_splits(cfg), eval_split=eval_split(cfg),
        hub_kwargs=cfg.get("dataset_kwargs"))
    cfg["dataset_kwargs"] = None  # custom_dataset gets metadata (general_data, general_n) only
    return cfg


class UpstreamTask(ConfigurableTask):
    """`class:` target of the general_small task YAMLs (see the module docstring)."""

    def __init__(self, config: dict | None = None, **kwargs) -> None:
        super().__init__(config=general_config(config or {}), **kwargs)
