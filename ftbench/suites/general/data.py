"""Rows for the general-skills tasks: the hub dataset lm-eval's task names, or local JSONL files.

Which source: the `general_data` metadata key (lm-eval `--metadata`), else `$FTBENCH_GENERAL_DATA`,
else the hub (`cais/mmlu`, `Rowan/hellaswag`, `openai/gsm8k`, as the upstream task says). A local
directory holds `<upstream task>/<split>.jsonl` in exactly the hub schema; `sample` names the
small fixtures bundled with ftbench. Local rows are validated (file, line and field in the error)
because a malformed row would otherwise surface as a cryptic failure deep inside lm-eval.

`general_n` keeps a seeded random subset of the evaluation split (`general_seed`, default 1234),
in the original order, so every model of a study sees the same items; few-shot and training
splits are never subsampled.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ftbench.core.io import InputError, iter_jsonl
from ftbench.core.paths import SAMPLE_DIR as _SAMPLES
from ftbench.core.paths import SAMPLE_SOURCE

ENV_VAR = "FTBENCH_GENERAL_DATA"
SAMPLE = SAMPLE_SOURCE
SAMPLE_DIR = _SAMPLES / "general"
DEFAULT_SEED = 1234
_GSM8K_ANSWER = re.compile(r"#### (-?[0-9.,]+)\s*$")


def _choices(row: dict, field: str, where: str) -> None:
    value = row[field]
    if not (isinstance(value, list) and len(value) == 4 and all(isinstance(v, str) for v in value)):
        raise InputError(f"{where}: field '{field}' must be a list of 4 strings, got {value!r:.80}")


def _check_mmlu(row: dict, where: str) -> None:
    _choices(row, "choices", where)
    if row["answer"] not in (0, 1, 2, 3):
        raise InputError(f"{where}: field 'answer' must be 0-3 (index into choices), "
                         f"got {row['answer']!r}")


def _check_hellaswag(row: dict, where: str) -> None:
    _choices(row, "endings", where)
    if row["label"] not in ("0", "1", "2", "3"):
        raise InputError(f"{where}: field 'label' must be one of '0'-'3' (a string, as on the "
                         f"hub), got {row['label']!r}")


def _check_gsm8k(row: dict, where: str) -> None:
    if not _GSM8K_ANSWER.search(row["answer"]):
        raise InputError(f"{where}: field 'answer' must end with '#### <number>', "
                         f"got ...{row['answer'][-40:]!r}")


# upstream task -> (required fields and their types, extra check); the hub schema of each dataset
SCHEMAS: dict[str, tuple[dict[str, type], Callable[[dict, str], None]]] = {
    "mmlu_high_school_computer_science": (
        {"question": str, "subject": str, "choices": list, "answer": int}, _check_mmlu),
    "hellaswag": (
        {"ind": int, "activity_label": str, "ctx_a": str, "ctx_b": str, "ctx": str,
         "endings": list, "source_id": str, "split": str, "split_type": str, "label": str},
        _check_hellaswag),
    "gsm8k": ({"question": str, "answer": str}, _check_gsm8k),
}


def validate_row(obj: object, benchmark: str, path: Path | str, lineno: int) -> dict:
    """One parsed JSON line checked against the hub schema; InputError names file:line, field."""
    where = f"{path}:{lineno}"
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    fields, check = SCHEMAS[benchmark]
    for name, tp in fields.items():
        if name not in obj:
            raise InputError(f"{where}: field '{name}' is missing")
        value = obj[name]
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise InputError(f"{where}: field '{name}' must be {tp.__name__}, "
                             f"got {type(value).__name__}")
    check(obj, where)
    return obj


def read_split(data_dir: Path, benchmark: str, split: str) -> list[dict]:
    path = data_dir / benchmark / f"{split}.jsonl"
    if not path.is_file():
        raise InputError(f"{path}: not found; general_data / {ENV_VAR} must name a directory with "
                         f"<task>/<split>.jsonl files (task {benchmark} needs split {split!r})")
    rows = [validate_row(obj, benchmark, path, lineno) for lineno, obj in iter_jsonl(path)]
    if not rows:
        raise InputError(f"{path}: no rows")
    return rows


def resolve_data_dir(general_data: str | None = None) -> Path | None:
    """The local data directory, or None for the hub."""
    value = general_data or os.environ.get(ENV_VAR)
    if not value:
        return None
    if value == SAMPLE:
        return SAMPLE_DIR
    path = Path(value).expanduser()
    if not path.is_dir():
        raise InputError(f"general_data / {ENV_VAR}: {path} is not a directory")
    return path


def subsample_indices(n_rows: int, n: int | None, seed: int = DEFAULT_SEED) -> list[int]:
    """Sorted indices of a seeded random subset of size n (all rows when n is None or >= n_rows)."""
    if n is None or n <= 0 or n >= n_rows:
        return list(range(n_rows))
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(n_rows, size=n, replace=False))


def load_benchmark(benchmark: str, *, hub_path: str, hub_name: str | None, splits: list[str],
                   eval_split: str, general_data: str | None = None,
                   general_n: int | str | None = None, general_seed: int | str = DEFAULT_SEED,
                   hub_kwargs: dict | None = None, **_metadata):
    """A `datasets.DatasetDict` with `splits` (the evaluation split subsampled to `general_n`).

    lm-eval calls this as `custom_dataset(**metadata)`: other metadata keys are ignored.
    """
    import datasets

    if benchmark not in SCHEMAS:
        raise InputError(f"unknown general benchmark {benchmark!r}; known: {', '.join(SCHEMAS)}")
    n = int(general_n) if general_n not in (None, "") else None
    data_dir = resolve_data_dir(general_data)
    if data_dir is None:
        loaded = datasets.load_dataset(hub_path, hub_name, **(hub_kwargs or {}))
        out = datasets.DatasetDict({s: loaded[s] for s in splits})
    else:
        out = datasets.DatasetDict({s: datasets.Dataset.from_list(read_split(data_dir, benchmark, s))
                                    for s in splits})
    keep = subsample_indices(len(out[eval_split]), n, int(general_seed))
    out[eval_split] = out[eval_split].select(keep)
    return out
