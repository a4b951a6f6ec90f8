"""The prepared-data layout every suite writes, and the helpers a simple suite prepares with.

A prepared directory holds `test.jsonl` (held-out rows), nested `train_<N>.jsonl` (chat rows;
train_N ⊂ train_M for N < M) and `manifest.json` (settings, counts, file hashes, fingerprint),
written last so that a directory without it is an interrupted preparation. Common row fields:
`id`, `article_id` (the group id: all rows of one article / example share it, and a group is
never split between test and train), `task`; test rows carry `target` and the fields their task's
prompt reads, train rows carry `messages` (system, user, assistant).
"""

from __future__ import annotations

import math
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ftbench.core.io import (
    InputError,
    atomic_write_json,
    atomic_write_jsonl,
    read_json,
    read_jsonl,
    sha256_file,
)
from ftbench.core.locking import dir_lock
from ftbench.core.outputs import (
    MARK_DIR,
    claim_dir,
    clean_partials,
    owned_files,
    partial_dir,
    record_files,
)
from ftbench.suites.prompts import TaskPrompt

KIND = "ftbench-prepared-data"
LEGACY_KINDS = ("ftbench-glue-train",)  # GLUE matrix train dirs written before the shared layout
DEFAULT_SIZES = (500, 1000, 1500, 2000)


def check_test_size(value: float | int, key: str = "--test-size") -> float | int:
    """A fraction in (0, 1) or a whole number of articles; anything else names `key`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{key}: must be a fraction in (0, 1) or a whole number of test "
                         f"articles, got {value!r}")
    if value <= 0 or (value >= 1 and not float(value).is_integer()):
        raise InputError(f"{key}: must be a fraction in (0, 1) or a whole number of test "
                         f"articles, got {value!r}")
    return int(value) if value >= 1 else float(value)


@dataclass(frozen=True)
class PrepareSettings:
    """How a study's data stage prepares its suite's data (a suite ignores what it has no use
    for: GLUE has its own test split, so `test_size` does not apply to it)."""

    sizes: tuple[int, ...] = DEFAULT_SIZES
    test_size: float | int = 0.1
    seed: int = 42
    max_input_words: int | None = None
    skip_invalid: bool = False
    strip_reference_from_input: bool = False


@dataclass
class PrepareResult:
    """In-memory output of a suite's preparation; `write_prepared` puts it on disk."""

    test: list[dict]
    train: dict[int, list[dict]]
    manifest: dict
    warnings: list[str] = field(default_factory=list)


def chat_row(row: dict, prompt: TaskPrompt) -> dict:
    """A row as a system/user/assistant conversation rendered with its task YAML's prompt."""
    messages = [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": prompt.render_user(row)},
        {"role": "assistant", "content": row["target"]},
    ]
    return {"id": row["id"], "article_id": row["article_id"], "task": row["task"],
            "messages": messages}


def prepare_examples(rows: list[dict], settings: PrepareSettings,
                     prompts: Mapping[str, TaskPrompt], where: str = "rows",
                     held_out: set[str] | None = None) -> PrepareResult:
    """Split task rows by group (`article_id`, else `id`) into a seeded test split and nested
    train sizes (counted in groups); train rows become chat rows with `prompts` ({task: prompt}).
    `held_out`: the test groups when the data comes split already (`test_size` then unused).
    No sizes (an evaluation-only study): every group, or every `held_out` group, is test.

    Every row needs `id`, `task` (a key of `prompts`) and `target`; the other fields are what
    the task's prompt template reads."""
    for i, row in enumerate(rows, start=1):
        for key in ("id", "task", "target"):
            if not isinstance(row.get(key), str) or not row[key]:
                raise InputError(f"{where}: row {i}: field '{key}' must be a non-empty string")
        if row["task"] not in prompts:
            raise InputError(f"{where}: row {i}: field 'task' must be one of "
                             f"{', '.join(prompts)}, got {row['task']!r}")
        row.setdefault("article_id", row["id"])
    groups = sorted({r["article_id"] for r in rows})
    evaluate_only = not settings.sizes  # nothing trains: no group needs to stay on the train side
    if held_out is None and evaluate_only:
        test_size, n_test = "all (evaluation only)", len(groups)
    elif held_out is None:
        test_size = check_test_size(settings.test_size, "test_size")
        n_test = test_size if isinstance(test_size, int) else round(len(groups) * test_size)
    else:
        test_size, n_test = "given", len(set(held_out) & set(groups))
    if not 0 < n_test < len(groups) + evaluate_only:
        raise InputError(f"test size {test_size!r} gives {n_test} test groups out of "
                         f"{len(groups)}; it must leave at least one on each side")
    rng = random.Random(settings.seed)
    order = groups[:]
    rng.shuffle(order)  # the order defines the test split and the nested train subsets
    if held_out is not None:  # the given test groups first, the train order still seeded
        order = [g for g in order if g in held_out] + [g for g in order if g not in held_out]
    test_ids, train_ids = set(order[:n_test]), order[n_test:]
    test = [r for r in rows if r["article_id"] in test_ids]
    train: dict[int, list[dict]] = {}
    sizes: dict[str, dict] = {}
    warnings: list[str] = []
    for size in sorted(set(settings.sizes)):
        n = min(size, len(train_ids))
        if n < size:
            warnings.append(f"train size {size} capped to {n}: only {n} train groups")
        chosen = set(train_ids[:n])
        train[size] = [chat_row(r, prompts[r["task"]]) for r in rows
                       if r["article_id"] in chosen]
        sizes[str(size)] = {"requested": size, "articles": n, "rows": len(train[size])}
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seed": settings.seed,
        "test_size": test_size,
        "articles": {"read": len(groups), "kept": len(groups), "test": n_test,
                     "train": len(train_ids)},
        "sizes": sizes, "test_rows_per_task": dict(Counter(r["task"] for r in test)),
        "leak_check": {"shared_groups": len(test_ids & set(train_ids)),
                       "passed": not test_ids & set(train_ids)},
        "warnings": warnings,
    }
    return PrepareResult(test=test, train=train, manifest=manifest, warnings=warnings)


def test_rows(data_dir: Path | str, task: str, how: str) -> list[dict]:
    """The held-out rows of one task from a prepared directory (for a task's custom_dataset);
    `how` names where the directory came from (metadata key / environment variable)."""
    test_file = Path(data_dir).expanduser() / "test.jsonl"
    if not test_file.is_file():
        raise InputError(f"{test_file}: not found; {how} must name a directory made by the "
                         "suite's preparation (`ftbench study`, data stage)")
    selected = [r for r in read_jsonl(test_file) if r.get("task") == task]
    if not selected:
        raise InputError(f"{test_file}: no '{task}' rows")
    return selected


def read_prepared_manifest(out: Path) -> dict | None:
    """The manifest of a complete prepared directory, or None (absent, or unreadable)."""
    try:
        data = read_json(Path(out) / "manifest.json")
    except InputError:
        return None
    return data if isinstance(data, dict) else None


def legacy_prepared(out: Path) -> bool:
    """A directory written by `ftbench data prepare` before ownership markers existed (or a GLUE
    matrix train directory from before the shared layout)."""
    m = read_prepared_manifest(out)
    return bool(m) and "files" in m and ("leak_check" in m or m.get("kind") in LEGACY_KINDS)


def _owned(out: Path) -> set[str]:
    """The files this directory holds that preparation wrote (marker list, or legacy manifest)."""
    names = set(owned_files(out))
    legacy = read_prepared_manifest(out) or {}
    return names | set(legacy.get("files", {})) | {"manifest.json"}


def write_prepared(result: PrepareResult, out: Path | str) -> Path:
    """Write test.jsonl, train_<size>.jsonl and manifest.json into `out`.

    `out` must be new, empty, or made by this command before; files there that preparation did
    not write are never touched. manifest.json is removed first and written last, so a directory
    without it is an interrupted preparation (consumers refuse it) and never a mix that looks
    complete.
    """
    out = claim_dir(out, KIND, adopt=legacy_prepared)
    with dir_lock(out, f"ftbench data prepare --out {out}"):
        clean_partials(out)
        stage = partial_dir(out, "prepare")
        try:
            files = {"test.jsonl": atomic_write_jsonl(stage / "test.jsonl", result.test)}
            for size, rows in result.train.items():
                files[f"train_{size}.jsonl"] = atomic_write_jsonl(stage / f"train_{size}.jsonl",
                                                                  rows)
            result.manifest["files"] = {name: sha256_file(p) for name, p in files.items()}
            result.manifest["kind"] = KIND
            atomic_write_json(stage / "manifest.json", result.manifest)
            old = _owned(out)
            (out / "manifest.json").unlink(missing_ok=True)
            record_files(out, old | set(files) | {"manifest.json"})
            for name in files:
                os.replace(stage / name, out / name)
            for name in old - set(files) - {"manifest.json"}:
                if (out / name).is_file() and not name.startswith(MARK_DIR):
                    (out / name).unlink()
            os.replace(stage / "manifest.json", out / "manifest.json")
            record_files(out, set(files) | {"manifest.json"})
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return out
