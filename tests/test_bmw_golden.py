"""The BMW demo is unchanged by the suites redesign: prepared data byte for byte, and every
report table (and summary.md) of the frozen demo study as commit b951a2c wrote them, plus the
sections added since (tests/golden/bmw_demo/README.md lists them).

`tests/golden/bmw_demo/README.md` says how the frozen study and its report were made.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pandas as pd
import pytest

GOLDEN = Path(__file__).parent / "golden" / "bmw_demo"
RECORDED_ROOT = "/tmp/golden/before"  # where the frozen study was made


@pytest.fixture(scope="module")
def frozen(tmp_path_factory) -> Path:
    """The frozen demo study, extracted, its recorded paths pointed at the extraction."""
    root = tmp_path_factory.mktemp("bmw_demo") / "study"
    root.mkdir()
    with tarfile.open(GOLDEN / "study.tgz") as tar:
        tar.extractall(root, filter="data")
    for path in root.rglob("*.json"):
        text = path.read_text(encoding="utf-8")
        if RECORDED_ROOT in text:
            path.write_text(text.replace(RECORDED_ROOT, str(root)), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def golden_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bmw_golden_report")
    with tarfile.open(GOLDEN / "report.tgz") as tar:
        tar.extractall(out, filter="data")
    return out


def test_the_demo_data_is_prepared_byte_for_byte_as_before(frozen, tmp_path):
    from ftbench.suites.layout import PrepareSettings
    from ftbench.suites.registry import get_suite

    suite = get_suite("bmw")
    settings = PrepareSettings(sizes=(16, 48), test_size=16, seed=42, max_input_words=40)
    suite.prepare(suite.raw_sample, settings, tmp_path / "data")
    names = ["test.jsonl", "train_16.jsonl", "train_48.jsonl"]
    for name in names:
        assert (tmp_path / "data" / name).read_bytes() == (frozen / "data" / name).read_bytes(), name


def test_the_demo_report_tables_are_as_before(frozen, golden_report, tmp_path):
    from ftbench.report.build import report_main

    out = tmp_path / "report"
    result = report_main(frozen / "results", out, runs=frozen / "runs", top_n=5,
                         tie_threshold=0.01, n_samples=3)
    golden = sorted(p.name for p in golden_report.glob("*.csv"))
    assert sorted(Path(p).name for p in result["tables"].values()) == golden
    for name in golden:
        want, got = pd.read_csv(golden_report / name), pd.read_csv(out / "tables" / name)
        assert list(got.columns) == list(want.columns), name
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, atol=1e-12,
                                      obj=name)
    summary = (out / "summary.md").read_text(encoding="utf-8").replace(str(frozen), "<ROOT>")
    assert summary == (golden_report / "summary.md").read_text(encoding="utf-8")


def test_the_docs_demo_tables_are_the_frozen_demo_s(golden_report, tmp_path):
    """docs/benchmarks.md shows what the demo prints: its tables are the ones
    `scripts/demo_table.py` writes from the frozen demo study's report."""
    from file_modules import load_script

    report = tmp_path / "report"
    (report / "tables").mkdir(parents=True)
    for csv in golden_report.glob("*.csv"):
        (report / "tables" / csv.name).write_bytes(csv.read_bytes())
    script = load_script("demo_table")
    assert script.shown_tables() == script.demo_tables(report)
    assert script.main([str(report), "--check"]) == 0  # what to run after a fresh `make demo`
    models = report / "tables" / "models.csv"  # a report whose perplexity differs: a diff
    models.write_text(models.read_text(encoding="utf-8").replace("6894.", "6895.", 1),
                      encoding="utf-8")
    diff = script.check(report)
    assert [line[:1] for line in diff if "perplexity" in line] == ["-", "+"], diff
    assert script.main([str(report), "--check"]) == 1
