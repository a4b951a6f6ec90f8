"""General-skill results of one model: lm-eval's aggregates with stderr, and per-item 0/1 scores.

The suites' vocabulary (`vocab.py`) keys metrics by name only; general tasks need the filter too
(GSM8K reports `exact_match` under `strict-match` and `flexible-extract`) and lm-eval's own
stderr, so they are read here, straight from `results_*.json` and `samples_<task>_*.jsonl`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ftbench.core.io import InputError, read_jsonl
from ftbench.core.lm_eval_glue import HEADLINE_ORDER, headline_key, split_metric_key, stderr_key
from ftbench.eval.results_files import readable_results, samples_file
from ftbench.report.stats import as_float
from ftbench.suites.registry import general_task_prefixes

__all__ = ["HEADLINE_ORDER", "GeneralResults", "benchmark_name", "headline", "is_general",
           "item_values", "parse_task_results", "read_general", "read_items"]

Key = tuple[str, str]  # (metric, filter)


@dataclass
class GeneralResults:
    """task -> {(metric, filter): (value, stderr)} and task -> per-item frame (doc_id, filter, metrics)."""

    metrics: dict[str, dict[Key, tuple[float, float]]] = field(default_factory=dict)
    items: dict[str, pd.DataFrame] = field(default_factory=dict)


def is_general(task: str) -> bool:
    """Whether `task` is a benchmark of a general-skills suite (`Suite.role == "general"`)."""
    return task.startswith(general_task_prefixes())


def benchmark_name(task: str) -> str:
    """The benchmark a general-skills task measures (its name without the suite's prefix)."""
    prefix = next((p for p in general_task_prefixes() if task.startswith(p)), "")
    return task.removeprefix(prefix)


def parse_task_results(values: dict) -> dict[Key, tuple[float, float]]:
    """lm-eval's `{"acc,none": 0.5, "acc_stderr,none": 0.1, ...}` -> {(acc, none): (0.5, 0.1)}."""
    out: dict[Key, tuple[float, float]] = {}
    for key, value in values.items():
        parts = split_metric_key(key)
        if parts is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        metric, filt = parts
        stderr = as_float(values.get(stderr_key(metric, filt)))
        out[(metric, filt)] = (float(value), stderr)
    return out


def headline(keys) -> Key | None:
    """One number per benchmark per model: the same choice as the eval summary's table."""
    return headline_key(keys)


def read_items(path: Path, keys) -> pd.DataFrame:
    """One row per (doc_id, filter) with the per-item value of every metric in `keys`."""
    rows = []
    for line in read_jsonl(path):
        if not isinstance(line, dict) or "doc_id" not in line:
            raise InputError(f"{path}: a line has no doc_id; not an lm-eval samples file")
        row = {"doc_id": line["doc_id"], "doc_hash": line.get("doc_hash"),
               "filter": line.get("filter", "none")}
        for metric in {m for m, _ in keys}:
            if metric in line:
                row[metric] = as_float(line[metric])
        rows.append(row)
    return pd.DataFrame(rows)


def read_general(model_dir: Path, notes: list[str], model: str) -> GeneralResults:
    """Every general-skills task of one model directory (latest results file wins)."""
    out = GeneralResults()
    for _, data in readable_results(model_dir):  # an unreadable file: named by load_study
        for task, values in data["results"].items():
            if is_general(task) and isinstance(values, dict):
                parsed = parse_task_results(values)
                if parsed:
                    out.metrics[task] = parsed
    for task, keys in out.metrics.items():
        path = samples_file(model_dir, task)
        if path is None:
            notes.append(f"model {model}: no per-sample log for {task}; its forgetting rows have "
                         "no paired test")
            continue
        try:
            out.items[task] = read_items(path, keys)
        except InputError as exc:
            notes.append(f"{exc}; paired tests for {task} skipped")
    return out


def item_values(items: pd.DataFrame | None, key: Key) -> pd.Series | None:
    """Per-item values of one (metric, filter), indexed by the document's hash (lm-eval's
    `doc_hash`), else its doc_id: two models are paired on the same document even if one was
    evaluated on another subsample, where equal doc_ids would name different items."""
    metric, filt = key
    if items is None or items.empty or metric not in items:
        return None
    sub = items[items["filter"] == filt]
    if sub.empty:
        return None
    by = "doc_hash" if "doc_hash" in sub and sub["doc_hash"].notna().all() else "doc_id"
    return sub.drop_duplicates(by).set_index(by)[metric]
