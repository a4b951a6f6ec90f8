"""Evaluation rows for the lm-eval tasks: from a prepared directory, or the bundled sample.

Which directory: the `bmw_data` metadata key (lm-eval `--metadata`), else `$FTBENCH_BMW_DATA`,
else the bundled sample prepared in memory with `SAMPLE_PREPARE` — the same settings
`ftbench data prepare` uses for the sample, so both give identical test rows.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from ftbench.core.io import InputError, read_jsonl
from ftbench.suites.bmw.prepare import prepare_file
from ftbench.suites.bmw.resources import SAMPLE_CORPUS

SAMPLE_PREPARE = {"sizes": (16, 32, 48), "test_size": 16, "seed": 42, "max_input_words": None}
ENV_VAR = "FTBENCH_BMW_DATA"


@cache
def _sample_test_rows() -> tuple[dict, ...]:
    return tuple(prepare_file(SAMPLE_CORPUS, **SAMPLE_PREPARE).test)


def resolve_data_dir(bmw_data: str | None = None) -> Path | None:
    value = bmw_data or os.environ.get(ENV_VAR)
    return Path(value).expanduser() if value else None


def test_rows(task: str, bmw_data: str | None = None) -> list[dict]:
    """The held-out rows of one task ('summarization', 'title', 'tags', 'type', 'perplexity')."""
    data_dir = resolve_data_dir(bmw_data)
    if data_dir is None:
        rows = list(_sample_test_rows())
    else:
        test_file = data_dir / "test.jsonl"
        if not test_file.is_file():
            raise InputError(
                f"{test_file}: not found; {ENV_VAR} / bmw_data must name a directory made by "
                "`ftbench data prepare`"
            )
        rows = read_jsonl(test_file)
    selected = [r for r in rows if r.get("task") == task]
    if not selected:
        raise InputError(f"no '{task}' rows in {data_dir or SAMPLE_CORPUS}")
    return selected
