"""Results whose tasks declare no report columns (a user's own lm-eval task) are reported as
measured — each task's metrics per model as lm-eval gave them, with its standard error — not
refused with "nothing to report"."""

from __future__ import annotations

import csv
import json
import math

from cli_helpers import in_process

WORDS = [("apple", 0), ("tiger", 1), ("pear", 0), ("horse", 1), ("plum", 0), ("zebra", 1)]

TASK = """task: mine_pick
dataset_path: json
dataset_kwargs:
  data_files: {{test: {rows}}}
test_split: test
output_type: multiple_choice
doc_to_text: "Is {{{{word}}}} a fruit or an animal?"
doc_to_choice: ["fruit", "animal"]
doc_to_target: "{{{{gold}}}}"
metric_list:
  - {{metric: acc, aggregation: mean, higher_is_better: true}}
  - {{metric: acc_norm, aggregation: mean, higher_is_better: true}}
metadata:
  version: 1.0
"""

SUITE = """from pathlib import Path
from ftbench.suites.base import Suite
SUITE = Suite(name="mine", task_group="mine_pick", tasks_dir=Path(__file__).parent / "tasks")
"""


def test_custom_task_without_report_columns_is_reported_as_measured(tmp_path, capsys,
                                                                     tiny_model):
    tasks = tmp_path / "mine" / "tasks"
    tasks.mkdir(parents=True)
    rows = tasks / "pick.jsonl"
    rows.write_text("".join(json.dumps({"word": w, "gold": g}) + "\n" for w, g in WORDS))
    (tasks / "mine_pick.yaml").write_text(TASK.format(rows=rows))
    (tmp_path / "mine" / "mine.py").write_text(SUITE)
    res = tmp_path / "results"
    ran = in_process(capsys, "eval", "--models", f"a={tiny_model},b={tiny_model}", "--suite",
                     tmp_path / "mine" / "mine.py", "--tasks", "mine_pick", "--limit", "4",
                     "--backend", "hf", "--out", res)
    assert ran.rc == 0, ran.err

    out = tmp_path / "report"
    done = in_process(capsys, "report", res, "--out", out)
    assert done.rc == 0, done.err
    assert "report of what was measured" in " ".join(done.out.split())
    with (out / "tables" / "measured.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert {(r["model"], r["metric"]) for r in table} == {
        (m, k) for m in "ab" for k in ("acc", "acc_norm")}
    given = json.loads(next((res / "a").glob("results_*.json")).read_text())["results"]
    for row in table:  # lm-eval's numbers, unchanged
        assert row["task"] == "mine_pick" and row["filter"] == "none" and row["n"] == "4"
        assert math.isclose(float(row["value"]), given["mine_pick"][f"{row['metric']},none"])
        assert math.isclose(float(row["stderr"]),
                            given["mine_pick"][f"{row['metric']}_stderr,none"])
    summary = (out / "summary.md").read_text()
    acc = given["mine_pick"]["acc,none"]
    stderr = given["mine_pick"]["acc_stderr,none"]
    assert "## mine_pick (n = 4)" in summary and "| model | acc | acc_norm |" in summary
    assert f"| a | {acc:.4g} ± {stderr:.2g} |" in summary
    assert (out / "index.html").is_file()
    made = json.loads((out / "manifest.json").read_text())
    assert made["source"] == str(res.resolve())  # what made it
