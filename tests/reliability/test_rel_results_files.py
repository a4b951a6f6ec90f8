"""Results folders as they are found: a results file of the wrong shape (`[]`, `{}`) or a
truncated one is named and left out — never the model's good files — and a folder that cannot be
written (a read-only mount: EROFS injected at the write calls, since the test may run as root,
for whom chmod changes nothing) ends with one line naming it; `ftbench report` never needs to
write into its input. One real evaluation of the tiny model (bmw_type_mc, whose headline is
its suite's third candidate for the task, and bmw_perplexity) serves every case."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import in_process, one_line_error

from ftbench.eval.results_files import completed_tasks

EVAL = ["--tasks", "bmw_type_mc,bmw_perplexity", "--limit", "2", "--backend", "hf"]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, tiny_model) -> Path:
    from ftbench.cli.main import main

    res = tmp_path_factory.mktemp("rel-results") / "results"
    assert main(["eval", "--models", f"m1={tiny_model}", "--out", str(res), *EVAL]) == 0
    return res


def read_only(monkeypatch, root: Path) -> None:
    """Every write under `root` fails as on a read-only mount (mkdir, temp files, os.open)."""
    root = str(root.resolve())

    def inside(path) -> bool:
        return str(Path(path).resolve()).startswith(root)

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    real_mkdir, real_mkstemp, real_open = os.mkdir, tempfile.mkstemp, os.open
    monkeypatch.setattr(os, "mkdir", lambda p, *a, **k: refuse(p) if inside(p)
                        else real_mkdir(p, *a, **k))
    monkeypatch.setattr(tempfile, "mkstemp", lambda *a, dir=None, **k: refuse(dir)
                        if dir is not None and inside(dir) else real_mkstemp(*a, dir=dir, **k))
    monkeypatch.setattr(os, "open", lambda p, flags, *a, **k: refuse(p)
                        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(p)
                        else real_open(p, flags, *a, **k))


def test_a_bad_results_file_is_named_and_the_good_ones_kept(tmp_path, capsys, evaluated,
                                                           tiny_model):
    res = tmp_path / "results"
    shutil.copytree(evaluated, res)
    model = res / "m1"
    (model / "results_2099-01-01T00-00-00.000001.json").write_text("[]")
    (model / "results_2099-01-01T00-00-00.000002.json").write_text("{}")
    perplexity = completed_tasks(model)["bmw_perplexity"]
    with perplexity.open("r+b") as fh:
        fh.truncate(200)

    report = in_process(capsys, "report", res, "--out", tmp_path / "report")
    assert report.rc == 0, report.err
    summary = (tmp_path / "report" / "summary.md").read_text()
    for name, why in (("000001", "a JSON list"), ("000002", "no 'results' mapping"),
                      (perplexity.name, "invalid JSON")):
        assert name in summary and why in summary, (name, summary[-3000:])
    ranking = pd.read_csv(tmp_path / "report" / "tables" / "ranking.csv")
    assert ranking["model"].tolist() == ["m1"]  # its good file still counts: ranked by
    assert ranking["type_mc_accuracy"].notna().all()  # bmw_type_mc's headline

    again = in_process(capsys, "eval", "--models", f"m1={tiny_model}", "--out", res, *EVAL)
    assert again.rc == 0, again.err
    text = " ".join((again.out + again.err).split())
    assert "not an lm-eval results file" in text and "before fingerprints" not in text, text
    assert (model / "results_2099-01-01T00-00-00.000001.json.corrupt").is_file()
    assert set(completed_tasks(model)) == {"bmw_type_mc", "bmw_perplexity"}


def test_a_read_only_results_folder_is_one_line(tmp_path, capsys, monkeypatch, evaluated,
                                                tiny_model):
    res = tmp_path / "results"
    shutil.copytree(evaluated, res)
    os.utime(res / "index.json", ns=(0, 0))  # older than the status files: the report would
    read_only(monkeypatch, res)               # refresh it (here, in memory only)

    report = in_process(capsys, "report", res, "--out", tmp_path / "report")
    assert report.rc == 0, report.err
    assert "index.json not refreshed" in (tmp_path / "report" / "summary.md").read_text()

    one_line_error(in_process(capsys, "report", res, "--out", res / "report"),
                   f"cannot write in {res}", "read-only", "--out")
    one_line_error(in_process(capsys, "eval", "--models", f"m2={tiny_model}", "--out", res,
                              *EVAL), str(res), "read-only [EROFS]", "run the same command again")
    new = tmp_path / "ro" / "new"
    read_only(monkeypatch, tmp_path / "ro")
    one_line_error(in_process(capsys, "eval", "--models", f"m2={tiny_model}", "--out", new,
                              *EVAL), f"cannot write in {tmp_path / 'ro'}", "read-only")


def test_a_json_array_given_as_jsonl_gets_the_conversion(tmp_path, capsys):
    import json

    from cli_helpers import SAMPLE

    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    for name, text in (("pretty.json", json.dumps(rows, indent=2)), ("one.jsonl", json.dumps(rows))):
        path = tmp_path / name
        path.write_text(text)
        one_line_error(in_process(capsys, "data", "prepare", path, "--out", tmp_path / name[:3],
                                  "--sizes", "16", "--test-size", "16"),
                       f"{path}:1: a JSON array, not JSON Lines", "jq -c")
        assert not (tmp_path / name[:3]).exists()
