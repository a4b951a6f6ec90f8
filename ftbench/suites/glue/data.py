"""GLUE rows for the glue_small tasks, the encoder baseline and LoRA: local JSONL or the hub.

Where the rows come from: the `glue_data` metadata key (lm-eval `--metadata`), else
`$FTBENCH_GLUE_DATA` — a directory in the Hugging Face `glue` JSONL schema
(`sst2/{train,validation}.jsonl`, `rte/...`, `mnli/validation_{matched,mismatched}.jsonl`) —
else the hub dataset `nyu-mll/glue`. "Small" is a seeded subsample of the evaluation split,
stratified by label (`glue_n` / `$FTBENCH_GLUE_N`; `all` or 0 = the whole split in file order).

Training and few-shot rows come from `train`; where a local copy has no train split (MNLI), the
*other* MNLI validation split stands in (matched ↔ mismatched), which never overlaps the split
being evaluated. Every row carries `glue_task`, `label_name` and `answer` (the word a generative
model is asked to answer with), so scoring needs nothing but the doc.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ftbench.core.io import InputError, iter_jsonl

HUB_DATASET = "nyu-mll/glue"
ENV_DATA, ENV_N, ENV_SEED = "FTBENCH_GLUE_DATA", "FTBENCH_GLUE_N", "FTBENCH_GLUE_SEED"
DEFAULT_N = 500
DEFAULT_SEED = 1234


@dataclass(frozen=True)
class GlueTask:
    """One GLUE task: its text fields, label names (HF order) and answer words for generation."""

    name: str
    fields: tuple[str, ...]
    labels: tuple[str, ...]
    answers: tuple[str, ...]
    eval_splits: tuple[str, ...]
    stand_in_train: dict[str, str] | None = None  # eval split → split used when train is absent

    def text(self, row: dict) -> str:
        """The input as one string (pairs joined by a newline) for the encoder and error files."""
        return "\n".join(str(row[f]).strip() for f in self.fields)


GLUE_TASKS: dict[str, GlueTask] = {
    "sst2": GlueTask("sst2", ("sentence",), ("negative", "positive"), ("negative", "positive"),
                     ("validation",)),
    "rte": GlueTask("rte", ("sentence1", "sentence2"), ("entailment", "not_entailment"),
                    ("yes", "no"), ("validation",)),
    "mnli": GlueTask("mnli", ("premise", "hypothesis"), ("entailment", "neutral", "contradiction"),
                     ("entailment", "neutral", "contradiction"),
                     ("validation_matched", "validation_mismatched"),
                     {"validation_matched": "validation_mismatched",
                      "validation_mismatched": "validation_matched"}),
}


def glue_task(name: str) -> GlueTask:
    if name not in GLUE_TASKS:
        raise InputError(f"unknown GLUE task {name!r}; known: {', '.join(GLUE_TASKS)}")
    return GLUE_TASKS[name]


def resolve_data_dir(glue_data: str | None = None) -> Path | None:
    value = glue_data or os.environ.get(ENV_DATA)
    return Path(value).expanduser() if value else None


def resolve_n(glue_n: int | str | None = None) -> int | None:
    """Subsample size; None = the whole split. `all`, 0 or a negative number mean the whole split."""
    value = glue_n if glue_n is not None else os.environ.get(ENV_N, DEFAULT_N)
    if isinstance(value, str):
        if value.strip().lower() in ("all", "full", ""):
            return None
        try:
            value = int(value)
        except ValueError:
            raise InputError(f"glue_n / {ENV_N}: expected an integer or 'all', got {value!r}") from None
    return int(value) if value and int(value) > 0 else None


def resolve_seed(glue_seed: int | str | None = None) -> int:
    value = glue_seed if glue_seed is not None else os.environ.get(ENV_SEED, DEFAULT_SEED)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"glue_seed / {ENV_SEED}: expected an integer, got {value!r}") from None


def _check_row(task: GlueTask, row, where: str) -> dict:
    if not isinstance(row, dict):
        raise InputError(f"{where}: expected a JSON object")
    for f in task.fields:
        if not isinstance(row.get(f), str):
            raise InputError(f"{where}: field '{f}' must be a string")
    label = row.get("label")
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < len(task.labels):
        raise InputError(f"{where}: field 'label' must be an integer in 0..{len(task.labels) - 1} "
                         f"({', '.join(task.labels)}), got {label!r}")
    return {**row, "glue_task": task.name, "label_name": task.labels[label],
            "answer": task.answers[label]}


@cache
def _read_local(path: Path, mtime: float, task_name: str) -> tuple[dict, ...]:
    task = GLUE_TASKS[task_name]
    return tuple(_check_row(task, row, f"{path}:{lineno}") for lineno, row in iter_jsonl(path))


def _read_hub(task: GlueTask, split: str) -> list[dict]:
    import datasets

    try:
        ds = datasets.load_dataset(HUB_DATASET, task.name, split=split)
    except Exception as exc:  # offline, no such split, network: say how to use local files
        raise InputError(f"GLUE {task.name}/{split}: could not load the hub dataset {HUB_DATASET} "
                         f"({type(exc).__name__}: {str(exc)[:200]}); set {ENV_DATA} or "
                         "--metadata '{\"glue_data\": DIR}' to a local copy") from None
    return [_check_row(task, row, f"{HUB_DATASET}/{task.name}/{split}[{i}]")
            for i, row in enumerate(ds)]


def local_split_path(data_dir: Path, task: GlueTask, split: str) -> Path:
    return data_dir / task.name / f"{split}.jsonl"


def has_split(task: GlueTask, split: str, glue_data: str | None = None) -> bool:
    data_dir = resolve_data_dir(glue_data)
    return data_dir is None or local_split_path(data_dir, task, split).is_file()


def read_split(task_name: str, split: str, glue_data: str | None = None) -> list[dict]:
    """Every row of one split, validated, in file order."""
    task = glue_task(task_name)
    data_dir = resolve_data_dir(glue_data)
    if data_dir is None:
        return _read_hub(task, split)
    path = local_split_path(data_dir, task, split)
    if not path.is_file():
        raise InputError(f"{path}: not found; {ENV_DATA} / glue_data must name a directory in the "
                         f"HF glue JSONL schema (<task>/<split>.jsonl)")
    rows = _read_local(path.resolve(), path.stat().st_mtime, task.name)
    if not rows:
        raise InputError(f"{path}: no rows")
    return list(rows)


def stratified_sample(rows: list[dict], n: int | None, seed: int) -> list[dict]:
    """`n` rows with the label proportions of `rows` (largest remainder), in a seeded shuffled order.

    The order is shuffled so that lm-eval's `--limit` (the first N docs) draws a mix of classes.
    `n` None or ≥ len(rows): all rows, in file order.
    """
    if n is None or n >= len(rows):
        return list(rows)
    rng = random.Random(seed)
    by_label: dict[int, list[dict]] = {}
    for row in rows:
        by_label.setdefault(row["label"], []).append(row)
    quotas = {lab: n * len(group) / len(rows) for lab, group in by_label.items()}
    counts = {lab: int(q) for lab, q in quotas.items()}
    short = n - sum(counts.values())
    for lab in sorted(quotas, key=lambda k: (counts[k] - quotas[k], k))[:short]:
        counts[lab] += 1
    picked: list[dict] = []
    for lab in sorted(by_label):
        group = by_label[lab][:]
        rng.shuffle(group)
        picked += group[: counts[lab]]
    rng.shuffle(picked)
    return picked


def eval_rows(task_name: str, split: str, glue_data: str | None = None,
              glue_n: int | str | None = None, glue_seed: int | str | None = None) -> list[dict]:
    """The (sub)sampled evaluation split."""
    task = glue_task(task_name)
    if split not in task.eval_splits:
        raise InputError(f"GLUE {task_name}: evaluation split must be one of "
                         f"{', '.join(task.eval_splits)}, got {split!r}")
    n, seed = resolve_n(glue_n), resolve_seed(glue_seed)  # bad settings fail before any I/O
    return stratified_sample(read_split(task_name, split, glue_data), n, seed)


def train_split_for(task_name: str, eval_split: str, glue_data: str | None = None) -> str:
    """`train`, or the stand-in split when a local copy has no train file (MNLI)."""
    task = glue_task(task_name)
    if has_split(task, "train", glue_data) or not task.stand_in_train:
        return "train"
    return task.stand_in_train[eval_split]


def train_rows(task_name: str, eval_split: str, glue_data: str | None = None) -> list[dict]:
    """Rows for few-shot examples and fine-tuning, never from the split being evaluated."""
    return read_split(task_name, train_split_for(task_name, eval_split, glue_data), glue_data)
