"""`ftbench` on bad input (ftbench/cli/main.py): exit 2 and one line naming the file, line and
key — before any expensive work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import SAMPLE, in_process, one_line_error


def _study_yaml(path: Path, out: Path, extra: str = "", models: str = "- {name: t, path: tiny}",
                data: str = "") -> Path:
    path.write_text(f"name: s\nout_dir: {out}\ndata:\n  source: {SAMPLE}\n  sizes: [16]\n"
                    f"  test_size: 16\n{data}models:\n  {models}\n{extra}")
    return path


def test_non_utf8_input_names_file_line_and_byte_offset(tmp_path, capsys):
    raw = tmp_path / "bad.jsonl"
    lines = SAMPLE.read_bytes().splitlines(keepends=True)[:3]
    raw.write_bytes(b"".join(lines) + b'{"title": "caf\xe9"}\n')
    line = one_line_error(in_process(capsys, "data", "prepare", raw, "--out", tmp_path / "o"),
                          f"{raw}:4:", "not UTF-8", "0xe9", "byte offset 14")
    assert not (tmp_path / "o").exists(), line
    config = tmp_path / "c.yaml"
    config.write_bytes(b"name: s\n# caf\xe9\n")
    one_line_error(in_process(capsys, "study", config), f"{config}:2:", "not UTF-8")


def test_a_byte_order_mark_is_accepted(tmp_path, capsys):
    raw = tmp_path / "bom.jsonl"
    raw.write_bytes(b"\xef\xbb\xbf" + SAMPLE.read_bytes())
    assert in_process(capsys, "data", "prepare", raw, "--out", tmp_path / "o", "--sizes", "16",
                      "--test-size", "16").rc == 0
    config = _study_yaml(tmp_path / "c.yaml", tmp_path / "study")
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    assert in_process(capsys, "study", config, "--only", "data").rc == 0


@pytest.mark.parametrize("args, needle", [
    (["data", "prepare", SAMPLE, "--test-size", "nan"], "--test-size"),
    (["data", "prepare", SAMPLE, "--test-size", "inf"], "--test-size"),
    (["data", "prepare", SAMPLE, "--test-size", "1.5"], "--test-size"),
    (["data", "prepare", SAMPLE, "--test-size", "0"], "--test-size"),
    (["eval", "--models", f"m={SAMPLE.parent}", "--limit", "0"], "--limit"),
    (["eval", "--models", f"m={SAMPLE.parent}", "--limit", "-1"], "--limit"),
    (["eval", "--models", f"m={SAMPLE.parent}", "--limit", "nan"], "--limit"),
    (["eval", "--models", f"m={SAMPLE.parent}", "--limit", "2.5"], "--limit"),
    (["eval", "--models", f"m={SAMPLE.parent}", "--batch-size", "x"], "--batch-size"),
    (["eval", "--models", f"m={SAMPLE.parent}", "--metadata", "[1]"], "--metadata"),
    (["eval", "--models", f"index.json={SAMPLE.parent}"], "'index.json' is reserved"),
    (["eval", "--models", "m=./no/such/model"], "'./no/such/model' not found"),
    (["eval", "--models", f"m={SAMPLE.parent}", "--tasks", "bmw_nope"], "unknown task 'bmw_nope'"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_cli_values_are_checked_first(tmp_path, capsys, args, needle):
    out = tmp_path / "out"
    extra = ["--out", out] if args[0] in ("data", "eval") else []
    one_line_error(in_process(capsys, *args, *extra), needle)
    assert not out.exists()


def test_duplicate_yaml_keys_name_the_line(tmp_path, capsys):
    config = _study_yaml(tmp_path / "c.yaml", tmp_path / "study")
    config.write_text(config.read_text().replace("name: s\n", "name: s\nname: t\n"))
    one_line_error(in_process(capsys, "study", config), f"{config}:2:", "duplicate key 'name'",
                   "line 1")
    train = tmp_path / "t.yaml"
    train.write_text("base_model: m\nlora:\n  r: 8\n  r: 16\n")
    one_line_error(in_process(capsys, "train", train), f"{train}:4:", "duplicate key 'r'")


@pytest.mark.parametrize("override, needle", [
    ("eval.backend=vlm", "'eval.backend'"),
    ("eval.tasks=[bmw_type,bmw_nope]", "unknown task 'bmw_nope'"),
    ("eval.limit=0", "'eval.limit'"),
    ("data.test_size=1.5", "'data.test_size'"),
    ("data.test_size=.nan", "'data.test_size'"),
    ("models=[{name: t, path: ./no/such/model}]", "'./no/such/model' not found"),
])
def test_study_config_errors_come_before_any_stage(tmp_path, capsys, override, needle):
    out = tmp_path / "study"
    config = _study_yaml(tmp_path / "c.yaml", out)
    # overrides may follow --only (argparse alone would refuse them there)
    one_line_error(in_process(capsys, "study", config, "--only", "data,models,train,eval",
                              override), needle)
    assert not out.exists(), "nothing may run (or be written) before the config is checked"


def test_eval_out_that_is_a_file_is_refused_untouched(tmp_path, capsys):
    target = tmp_path / "results.json"
    target.write_text(json.dumps({"mine": True}))
    one_line_error(in_process(capsys, "eval", "--models", f"m={SAMPLE.parent}", "--tasks",
                              "bmw_type", "--out", target, "--backend", "hf"), "is a file")
    assert json.loads(target.read_text()) == {"mine": True}
