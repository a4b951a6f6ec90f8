"""Per-sample logs sealed when written and checked when reused (ftbench/eval/sample_logs.py),
on hand-made files: the disk-full shapes (missing, 0-byte, cut mid-line, cut at a line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftbench.eval.sample_logs import expected_lines, problem, seal

DATE = "2026-01-02T03-04-05.678901"


def _files(tmp: Path, rows: int, written: int | None = None, block: bool = True) -> Path:
    results = tmp / f"results_{DATE}.json"
    data = {"results": {"t": {"acc,none": 1.0}}, "configs": {"t": {}},
            "n-samples": {"t": {"original": rows, "effective": rows}}}
    if block:
        data["ftbench"] = {"samples": expected_lines({"t": [{}] * rows})}
    results.write_text(json.dumps(data))
    lines = [json.dumps({"doc_id": i}) + "\n" for i in range(rows if written is None else written)]
    (tmp / f"samples_t_{DATE}.jsonl").write_text("".join(lines))
    return results


def test_seal_records_lines_and_hash_and_the_check_accepts(tmp_path):
    results = _files(tmp_path, 3)
    seal(results)
    record = json.loads(results.read_text())["ftbench"]["samples"]["t"]
    assert record["lines"] == 3 and record["file"] == f"samples_t_{DATE}.jsonl"
    assert len(record["sha256"]) == 64
    assert problem(results, json.loads(results.read_text())) is None


@pytest.mark.parametrize("written", [0, 2])
def test_seal_refuses_a_short_file(tmp_path, written):
    with pytest.raises(RuntimeError, match=f"samples_t_{DATE}.jsonl: {written} of 3 lines"):
        seal(_files(tmp_path, 3, written))


def _sealed(tmp_path: Path) -> tuple[Path, Path]:
    results = _files(tmp_path, 3)
    seal(results)
    return results, tmp_path / f"samples_t_{DATE}.jsonl"


def test_missing_truncated_or_changed_files_are_named(tmp_path):
    results, samples = _sealed(tmp_path)
    data = json.loads(results.read_text())
    samples.write_text(samples.read_text().replace('"doc_id": 1', '"doc_id": 7'))
    assert problem(results, data) == f"{samples.name} changed since the task finished " \
                                     "(its sha256 differs)"
    samples.write_bytes(samples.read_bytes()[:20])  # 1 line and a half
    assert problem(results, data) == f"{samples.name} is truncated or changed (2 of 3 lines)"
    samples.unlink()
    assert problem(results, data) == f"{samples.name} is missing"


def test_results_from_before_the_record_are_checked_as_well_as_can_be(tmp_path):
    results = _files(tmp_path, 3, block=False)
    samples = tmp_path / f"samples_t_{DATE}.jsonl"
    data = json.loads(results.read_text())
    assert problem(results, data) is None  # whole: reused
    whole = samples.read_bytes()
    samples.write_bytes(whole[:-5])
    assert "line 3 is not JSON" in problem(results, data)
    samples.write_bytes(whole[: whole.index(b"\n") + 1])
    assert problem(results, data) == f"{samples.name} is truncated (1 lines for 3 documents)"
    samples.write_bytes(b"")
    assert problem(results, data) == f"{samples.name} is empty"
