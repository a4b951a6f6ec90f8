"""A task is complete only when its per-sample logs are: sealed when written, checked when reused.

Why: lm-eval's EvaluationTracker logs and swallows its own write errors, so a disk that fills up
during an evaluation leaves a complete `results_*.json` beside a 0-byte or truncated
`samples_*.jsonl`, and the report reads its answers from that file. When a task finishes, the
worker checks each samples file against the number of samples lm-eval held and records its line
count and sha256 in the results file's `ftbench.samples` block (`seal`); a re-run reuses a task
only while every file still matches (`problem`). Results written before the block existed are
reused when each samples file is there, every line parses as JSON and the count fits lm-eval's
`n-samples` (a whole number of lines per evaluated document: one per filter).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ftbench.core.io import atomic_write_text
from ftbench.core.lm_eval_glue import samples_name


def expected_lines(samples: dict) -> dict[str, dict]:
    """The block's start, from what lm-eval holds in memory: {task: {"lines": n}}."""
    return {name: {"lines": len(rows)} for name, rows in samples.items()}


def _scan(path: Path) -> tuple[int, str, int]:
    """(lines, sha256, index of the first line that is not JSON, or -1)."""
    h, lines, bad = hashlib.sha256(), 0, -1
    with path.open("rb") as fh:
        for raw in fh:
            h.update(raw)
            if bad < 0:
                try:
                    json.loads(raw)
                    if not raw.endswith(b"\n"):
                        raise ValueError("no newline")
                except ValueError:
                    bad = lines
            lines += 1
    return lines, h.hexdigest(), bad


def _samples_path(directory: Path, results: Path, task: str) -> Path:
    """lm-eval names a task's samples file with its results file's date id."""
    date_id = results.stem.removeprefix("results_")
    return directory / f"samples_{task}_{date_id}.jsonl"


def seal(results: Path) -> None:
    """Check the samples files beside `results` (in the worker's temp dir) against the counts
    the block holds and record file, lines and sha256; RuntimeError when one is short."""
    data = json.loads(results.read_text(encoding="utf-8"))
    block = (data.get("ftbench") or {}).get("samples") or {}
    for task, record in block.items():
        path = _samples_path(results.parent, results, task)
        if not path.is_file():
            raise RuntimeError(f"lm-eval did not write {path.name} (disk full?)")
        lines, sha, bad = _scan(path)
        if lines != record["lines"] or bad >= 0:
            raise RuntimeError(f"{path.name}: {lines} of {record['lines']} lines written"
                               + (f", line {bad + 1} is not JSON" if bad >= 0 else "")
                               + " (disk full?)")
        record.update(file=path.name, sha256=sha)
    atomic_write_text(results, json.dumps(data, indent=2, ensure_ascii=False))


def problem(results: Path, data: dict) -> str | None:
    """Why the samples files of a results file (parsed: `data`) cannot be trusted, or None."""
    block = (data.get("ftbench") or {}).get("samples")
    if block is not None:
        for task, record in block.items():
            path = results.parent / str(record.get("file", ""))
            if "file" not in record or not samples_name(task).fullmatch(path.name):
                return f"{results.name}: its record of {task}'s samples file is unreadable"
            if not path.is_file():
                return f"{path.name} is missing"
            lines, sha, _ = _scan(path)
            if lines != record.get("lines"):
                return f"{path.name} is truncated or changed ({lines} of {record.get('lines')} lines)"
            if sha != record.get("sha256"):
                return f"{path.name} changed since the task finished (its sha256 differs)"
        return None
    return _legacy_problem(results, data)


def _legacy_problem(results: Path, data: dict) -> str | None:
    """Results made before the record: each samples file whole as far as can be told."""
    counts = data.get("n-samples") or {}
    for task in data.get("configs") or {}:
        path = _samples_path(results.parent, results, task)
        if not path.is_file():
            return f"{path.name} is missing"
        lines, _, bad = _scan(path)
        if bad >= 0:
            return f"{path.name} is truncated (line {bad + 1} is not JSON)"
        docs = (counts.get(task) or {}).get("effective")
        if lines == 0:
            return f"{path.name} is empty"
        if isinstance(docs, int) and docs > 0 and lines % docs:
            return f"{path.name} is truncated ({lines} lines for {docs} documents)"
    return None
