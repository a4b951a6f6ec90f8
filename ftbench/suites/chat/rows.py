"""The held-out rows the chat_* tasks evaluate: a prepared directory, a raw chat file, or the
bundled sample.

Which data: the `chat_data` metadata key, else `$FTBENCH_CHAT_DATA`, else the bundled sample
prepared in memory with `SAMPLE_PREPARE` (the same rows a study on it would hold out with those
settings). A value naming a *file* is a raw chat JSONL (any of the three shapes) taken whole as
the test set: nothing is held out of it or trained on it, so `ftbench eval` scores any chat file
as it is; its identity (`raw_identity`) is its content hash, checked row by row first.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from ftbench.core.fingerprint import digest
from ftbench.core.io import InputError, sha256_file
from ftbench.suites import layout
from ftbench.suites.chat.formats import read_chat_file
from ftbench.suites.chat.prepare import prepare_rows
from ftbench.suites.chat.resources import ENV_VAR, METADATA_KEY, SAMPLE_CHAT, SAMPLE_PREPARE


@cache
def _sample_test_rows() -> tuple[dict, ...]:
    return tuple(prepare_rows(SAMPLE_CHAT, layout.PrepareSettings(**SAMPLE_PREPARE)).test)


def sample_source() -> dict:
    """The identity of the bundled sample the tasks prepare in memory."""
    return {"from": "bundled sample", "path": str(SAMPLE_CHAT),
            "sha256": digest({"corpus": sha256_file(SAMPLE_CHAT),
                              "prepare": {k: list(v) if isinstance(v, tuple) else v
                                          for k, v in SAMPLE_PREPARE.items()}})}


def raw_identity(path: Path) -> dict:
    """`DataSource.raw_file`: a raw chat file's identity, after every row is checked (FILE:LINE)."""
    shape, rows = read_chat_file(path)
    return {"path": str(Path(path).resolve()), "sha256": sha256_file(path),
            "read_as": f"raw chat file ({shape}), taken whole as the test set",
            "shape": shape, "rows": len(rows)}


def test_rows(task: str, chat_data: str | None = None) -> list[dict]:
    """The held-out rows of one task key ('answer': both chat tasks read the same rows)."""
    value = chat_data or os.environ.get(ENV_VAR)
    if value and Path(value).expanduser().is_file():
        return [r for r in read_chat_file(Path(value).expanduser())[1] if r["task"] == task]
    if value:
        return layout.test_rows(value, task, f"metadata {METADATA_KEY} / ${ENV_VAR}")
    rows = [r for r in _sample_test_rows() if r["task"] == task]
    if not rows:
        raise InputError(f"{SAMPLE_CHAT}: no '{task}' rows")
    return rows
