"""GLUE rows in the shared prepared layout: per (task, evaluation split) cell, a label-stratified
train sample as chat rows with the generative task's prompt, and the evaluation rows its tasks
score (`test.jsonl`, for the record and the overlap check). The plain glue study prepares the
default cells into one folder; the matrix (`suite_options.tasks`) one cell per folder.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from ftbench.core.fingerprint import code_digest, digest
from ftbench.core.paths import SUITES_CODE_DIR
from ftbench.suites.glue.data import (
    DEFAULT_N,
    DEFAULT_SEED,
    GLUE_TASKS,
    eval_rows,
    stratified_sample,
    train_rows,
)
from ftbench.suites.glue.prompts import GLUE_TASKS_DIR, PROMPT_FILES, to_chat
from ftbench.suites.layout import PrepareResult, PrepareSettings
from ftbench.suites.prompts import read_prompts

# what a study on GLUE trains on: each task with its (matched) evaluation split
DEFAULT_CELLS = (("sst2", "validation"), ("rte", "validation"), ("mnli", "validation_matched"))
GLUE_CODE_DIR = Path(__file__).resolve().parent


def _test_row(row: dict, split: str) -> dict:
    return {"id": f"{row['glue_task']}-{split}-{row['idx']}",
            "article_id": f"{row['glue_task']}-{split}-{row['idx']}", "task": row["glue_task"],
            "target": row["answer"], **row}


def prepare_cells(glue_data: str | None, settings: PrepareSettings,
                  cells: tuple[tuple[str, str], ...] = DEFAULT_CELLS, eval_n: int | None = DEFAULT_N,
                  eval_seed: int = DEFAULT_SEED) -> PrepareResult:
    """Per (GLUE task, evaluation split): train_N = the first N rows of a label-stratified sample
    (seed `settings.seed`) of its train split (or MNLI's stand-in), as chat rows; test = the
    evaluation rows the tasks score with `eval_n` / `eval_seed`."""
    largest = max(settings.sizes)
    samples = {cell: stratified_sample(train_rows(cell[0], cell[1], glue_data), largest,
                                       settings.seed) for cell in cells}
    test = [_test_row(r, split) for task, split in cells
            for r in eval_rows(task, split, glue_data, eval_n or "all", eval_seed)]
    train: dict[int, list[dict]] = {}
    sizes: dict[str, dict] = {}
    warnings: list[str] = []
    for size in sorted(set(settings.sizes)):
        rows = [r for cell in cells for r in samples[cell][:size]]
        got = min(len(samples[cell][:size]) for cell in cells)
        if got < size:
            warnings.append(f"train size {size} capped to {got} rows per task")
        train[size] = [to_chat(r) for r in rows]
        sizes[str(size)] = {"requested": size, "articles": got, "rows": len(rows)}
    texts = {tuple(str(r.get(f, "")) for f in GLUE_TASKS[r["glue_task"]].fields) for r in test}
    shared = sum(tuple(str(r.get(f, "")) for f in GLUE_TASKS[r["glue_task"]].fields) in texts
                 for cell in cells for r in samples[cell])
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seed": settings.seed,
        "cells": [list(c) for c in cells], "eval_n": eval_n, "eval_seed": eval_seed,
        "articles": {"train": min(len(s) for s in samples.values()), "test": len(test)},
        "sizes": sizes, "test_rows_per_task": dict(Counter(r["task"] for r in test)),
        # GLUE's own splits are disjoint by construction; identical texts are counted, not fatal
        "leak_check": {"train_rows_with_a_test_text": shared, "passed": True},
        "warnings": warnings,
    }
    return PrepareResult(test=test, train=train, manifest=manifest, warnings=warnings)


def cells_fingerprint(source_sha256: str | None, settings: PrepareSettings,
                      cells: tuple[tuple[str, str], ...] = DEFAULT_CELLS,
                      eval_n: int | None = DEFAULT_N, eval_seed: int = DEFAULT_SEED) -> dict:
    prompts = {t: asdict(p) for t, p in sorted(read_prompts(GLUE_TASKS_DIR, PROMPT_FILES).items())}
    fp = {"suite": "glue", "source_sha256": source_sha256,
          "settings": {**asdict(settings), "sizes": sorted(set(settings.sizes))},
          "cells": [list(c) for c in cells], "eval_n": eval_n, "eval_seed": eval_seed,
          "prompts": digest(prompts), "code": code_digest([SUITES_CODE_DIR, GLUE_CODE_DIR])}
    return {**fp, "digest": digest(fp)}
