"""Adding a domain = a task folder + one suite module: a toy domain in a temporary folder runs a
whole study (data → train → eval → report) without a line of ftbench changed; the registry's
errors are one line naming the config file and key."""

from __future__ import annotations

import json

import pytest
import yaml
from toy_domain import COMPOSITE, WORDS

from ftbench.core.io import InputError, read_jsonl


def _study(root, module, model, **extra) -> dict:
    return {"name": "toy", "suite": str(module), "out_dir": str(root / "study"),
            "data": {"source": str(module.parent / "words.jsonl"), "sizes": [8],
                     "test_size": 4, "seed": 3},
            "models": [{"name": "tiny", "path": str(model)}],
            "train": {"method": "lora", "backend": "peft", "lora": {"r": 4, "alpha": 8},
                      "learning_rate": 3e-3, "max_steps": 3, "batch_size": 4,
                      "max_seq_length": 64, "eval_fraction": 0.0, "seed": 0},
            "eval": {"backend": "hf"},  # not `auto`: vLLM where installed, an engine per model
            **extra}


def _write(path, data) -> str:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def _one_line(capsys, *args) -> str:
    from ftbench.cli.main import main

    capsys.readouterr()
    rc = main([str(a) for a in args])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2 and len(err) == 1 and "Traceback" not in err[0], (rc, err)
    return err[0]


def test_suite_module_is_registered_and_prepares_the_shared_layout(toy, tmp_path):
    from ftbench.pipelines.study_config import load_study_config
    from ftbench.suites.registry import suite_of_task
    from ftbench.suites.sources import eval_data_fingerprint

    root, module = toy
    cfg = load_study_config(_write(tmp_path / "toy.yaml", _study(tmp_path, module, tmp_path)))
    suite = cfg.suite_def()
    assert (suite.name, suite.origin, cfg.eval.tasks) == ("toy", str(module.resolve()), ["toy"])
    assert suite_of_task("toy_upper") is suite and suite_of_task("bmw_type").name == "bmw"
    assert cfg.eval_metadata()["toy_data"] == str(cfg.data_dir.resolve())
    assert str(module.parent / "tasks" / "toy") in cfg.include_path()

    from ftbench.suites.layout import PrepareSettings

    result = suite.prepare(root / "words.jsonl", PrepareSettings(sizes=(4, 8), test_size=4,
                                                                 seed=3), tmp_path / "prepared")
    test = read_jsonl(tmp_path / "prepared" / "test.jsonl")
    train8 = read_jsonl(tmp_path / "prepared" / "train_8.jsonl")
    train4 = read_jsonl(tmp_path / "prepared" / "train_4.jsonl")
    words = {w for w, _ in WORDS}
    test_words = {r["article_id"] for r in test}
    assert len(test_words) == 4 and len(test) == 8  # 4 words x 2 tasks, whole groups held out
    assert {r["article_id"] for r in train8} == words - test_words  # disjoint, all the rest
    assert train4 == [r for r in train8 if r["article_id"] in {x["article_id"] for x in train4}]
    upper = next(r for r in train8 if r["task"] == "upper")
    word = upper["article_id"]
    assert upper["messages"] == [
        {"role": "system", "content": "You rewrite words."},
        {"role": "user", "content": f"Write this word in capital letters: {word}"},
        {"role": "assistant", "content": word.upper()}]
    manifest = json.loads((tmp_path / "prepared" / "manifest.json").read_text())
    assert manifest["suite"] == "toy" and manifest["sizes"]["8"]["articles"] == 8
    assert manifest["fingerprint"]["digest"] == suite.fingerprint(
        suite.source_digest(root / "words.jsonl"),
        PrepareSettings(sizes=(4, 8), test_size=4, seed=3))["digest"]
    assert result.manifest["test_rows_per_task"] == {"upper": 4, "kind": 4}
    # the evaluation fingerprint finds the toy data by the suite's own metadata key
    found = eval_data_fingerprint({"toy_data": str(tmp_path / "prepared")}, ["toy_kind"])
    assert found["toy"]["sha256"] == manifest["files"]["test.jsonl"]
    assert "bmw" not in found


def test_unknown_suite_is_one_line_naming_file_and_key(tmp_path, capsys, toy):
    config = _write(tmp_path / "s.yaml", {**_study(tmp_path, toy[1], tmp_path), "suite": "bwm"})
    line = _one_line(capsys, "study", config)
    assert config in line and "config key 'suite'" in line and "unknown suite 'bwm'" in line


@pytest.mark.parametrize("body, needle", [
    ("X = 1\n", "defines no SUITE"),
    ("import not_a_module_anywhere\n", "importing"),
    ("from ftbench.suites.registry import BUILTIN\nSUITE = BUILTIN['glue']\n", "already taken"),
])
def test_bad_suite_module_is_one_line_naming_file_and_key(tmp_path, capsys, toy, body, needle):
    module = tmp_path / "bad_suite.py"
    module.write_text(body, encoding="utf-8")
    config = _write(tmp_path / "s.yaml", {**_study(tmp_path, toy[1], tmp_path),
                                          "suite": str(module)})
    line = _one_line(capsys, "study", config)
    assert config in line and "config key 'suite'" in line and needle in line
    assert str(module) in line


def test_evaluation_only_suite_cannot_be_a_study_suite(tmp_path, toy):
    from ftbench.pipelines.study_config import load_study_config

    config = _write(tmp_path / "s.yaml", {**_study(tmp_path, toy[1], tmp_path),
                                          "suite": "general_small"})
    with pytest.raises(InputError, match="config key 'suite'.*evaluation-only"):
        load_study_config(config)


@pytest.mark.slow
def test_study_runs_on_a_toy_suite_defined_outside_the_package(toy, tmp_path, tiny_model):
    """`ftbench study` on the toy domain: its data prepared by its suite, LoRA on its train
    rows, its lm-eval tasks evaluated from its own folder, and a report in its vocabulary."""
    from ftbench.cli.main import main
    from ftbench.eval.results_files import samples_file, task_metrics

    module = toy[1]
    config = _write(tmp_path / "toy.yaml", _study(tmp_path, module, tiny_model))
    assert main(["study", config]) == 0
    study = tmp_path / "study"
    assert json.loads((study / "data" / "manifest.json").read_text())["suite"] == "toy"
    index = json.loads((study / "results" / "index.json").read_text())
    assert {m: e["status"] for m, e in index["models"].items()} == {
        "tiny-base": "complete", "tiny-8": "complete"}
    assert index["settings"]["metadata"]["toy_data"] == str((study / "data").resolve())
    assert index["settings"]["data"]["toy"]["from"] == "metadata toy_data"
    for model in index["models"]:
        metrics = task_metrics(study / "results" / model)
        assert set(metrics) >= {"toy_upper", "toy_kind"}
        # re-derive each metric from the per-sample log: 4 held-out words per task
        upper = read_jsonl(samples_file(study / "results" / model, "toy_upper"))
        kind = read_jsonl(samples_file(study / "results" / model, "toy_kind"))
        assert len(upper) == len(kind) == 4
        assert {s["doc"]["task"] for s in upper} == {"upper"}
        assert metrics["toy_upper"]["exact_match"] == pytest.approx(
            sum(s["exact_match"] for s in upper) / 4)
        assert metrics["toy_kind"]["acc"] == pytest.approx(sum(s["acc"] for s in kind) / 4)
        assert all(s["target"] == s["doc"]["input"].upper() for s in upper)
    report = study / "report"
    ranking = (report / "tables" / "ranking.csv").read_text().splitlines()
    assert "upper_exact_match" in ranking[0] and "kind_accuracy" in ranking[0]
    assert {line.split(",")[1] for line in ranking[1:]} == {"tiny-base", "tiny-8"}
    summary = (report / "summary.md").read_text()
    assert "kind_accuracy" in summary
    assert "have no report columns" not in summary
    # ranked by its own composite: the weighted sum of its two metrics, best first
    import pandas as pd

    table = pd.read_csv(report / "tables" / "ranking.csv")
    expected = sum(w * table[c] for c, w in COMPOSITE.items())
    assert table["overall_score"].tolist() == pytest.approx(expected.tolist())
    assert table["overall_score"].is_monotonic_decreasing
    assert "Ranking score: `overall_score`" in summary
    index_suite = index["settings"]["suite"]
    assert (index_suite["name"], index_suite["origin"]) == ("toy", str(module.resolve()))
    # its choice task's answers are read as labels: per-class accuracy over fruit / animal
    classes = pd.read_csv(report / "tables" / "per_class_accuracy.csv")
    assert set(classes["class"]) == {"fruit", "animal"} and set(classes["task"]) == {"toy_kind"}
    # `ftbench report DIR` in a new process (no config, no suite module named) reloads the
    # suite from the index and gives the same ranking
    import subprocess
    import sys
    from pathlib import Path

    again = tmp_path / "again"
    proc = subprocess.run([str(Path(sys.executable).with_name("ftbench")), "report",
                           str(study / "results"), "--out", str(again)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (again / "tables" / "ranking.csv").read_text() == \
        (report / "tables" / "ranking.csv").read_text()
    assert "have no report columns" not in (again / "summary.md").read_text()


def test_ftbench_eval_takes_a_suite_module(toy, tmp_path, monkeypatch, tiny_model):
    """`ftbench eval --suite FILE`: the module's task folder joins the include path, its group is
    the default task list, and the results index will record the suite for the report."""
    from cli_helpers import eval_settings_of

    module = toy[1]
    s = eval_settings_of(monkeypatch, "--models", f"tiny={tiny_model}", "--suite", str(module),
                         "--out", str(tmp_path / "r"))
    assert s.tasks == ["toy"]
    assert str((module.parent / "tasks" / "toy").resolve()) in s.include_path
    assert s.suite["name"] == "toy" and s.suite["origin"] == str(module.resolve())
    assert s.for_index("hf")["suite"] == s.suite
