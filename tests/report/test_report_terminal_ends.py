"""What a terminal shows at a report's start and end: the key findings first, the path of
`index.html` last and named once — for `ftbench report` and for the demo's study (`make demo`
runs `ftbench demo`, the study of configs/demo.yaml), on the session's finished demo study.

The study runs as a user runs it, in a real process with its output piped (no TTY): nothing of
the libraries (warnings, progress bars) reaches stdout or stderr.
"""

from __future__ import annotations

import re

import pytest
from cli_helpers import in_process, run_cli
from study_fixture import OVERRIDES, copy_study

from ftbench.core.paths import CONFIGS_DIR

NOISE = re.compile(r"warn|%\|| it/s|s/it|Traceback|bootstrapping|do_sample|\{'loss'",
                   re.IGNORECASE)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def _starts_with_findings(lines: list[str], after: int) -> None:
    """Line `after` is the report's rule, then its context (models, ranking score, headline
    metrics: a line, two where the terminal is narrow), then the findings."""
    assert lines[after].startswith("─") and "ftbench report" in lines[after], lines[:after + 3]
    head = lines[after + 1:after + 5]
    assert "Key findings" in head, head
    first = after + 1 + head.index("Key findings")
    assert lines[after + 1].startswith("3 models from a study; ranking score "), head
    assert lines[first + 1].lstrip().startswith("1. "), lines[first + 1]


def test_ftbench_report_starts_with_the_findings_and_ends_with_index_html(
        finished_study, tmp_path, capsys):
    out = tmp_path / "report"
    outcome = in_process(capsys, "report", finished_study.cfg.results_dir, "--out", out,
                         "--runs", finished_study.cfg.runs_dir, "--samples", "3")
    assert outcome.rc == 0, outcome.err
    lines = _lines(outcome.out)
    _starts_with_findings(lines, 0)
    assert lines[-1].endswith(f"the report: {out / 'index.html'} (one page), "
                              f"{out / 'summary.md'} (markdown)."), lines[-1]
    assert outcome.out.count("index.html") == 1


@pytest.mark.slow  # one real `ftbench study --only report` process (~15 s idle)
def test_the_demo_study_ends_with_index_html_named_once_and_prints_no_library_noise(
        finished_study, tmp_path):
    copy = copy_study(finished_study, tmp_path / "demo")
    outcome = run_cli("study", CONFIGS_DIR / "demo.yaml", f"out_dir={copy.out}", *OVERRIDES,
                      "--only", "report", timeout=600)
    assert outcome.rc == 0, outcome.err[-3000:]
    assert outcome.err == "", outcome.err[-3000:]
    lines = _lines(outcome.out)
    assert not [line for line in lines if NOISE.search(line)]
    assert lines[0].startswith("─") and "demo: report" in lines[0]
    _starts_with_findings(lines, 1)
    page = copy.report_dir / "index.html"
    assert re.fullmatch(r"Wrote \d+ tables and \d+ plots\.", lines[-3]), lines[-3]
    assert lines[-2] == f"study demo: done in {lines[-2].split()[4]} s; outputs in {copy.out}"
    assert lines[-1] == (f"report: {page} (one page), {page.with_name('summary.md')} "
                         "(markdown)")
    assert outcome.out.count("index.html") == 1
