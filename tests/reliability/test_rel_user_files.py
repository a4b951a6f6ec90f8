"""Files the project did not write survive every command; its own stale files are cleaned."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cli_helpers import SAMPLE, in_process, one_line_error, snapshot

from ftbench.core.io import sha256_file


def _user_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "notes.txt").write_text("my notes\n")
    shutil.copy(SAMPLE, path / "raw.jsonl")
    return path


def test_prepare_refuses_a_foreign_directory_and_a_file(tmp_path, capsys):
    user = _user_dir(tmp_path / "mine")
    before = snapshot(user)
    out = in_process(capsys, "data", "prepare", user / "raw.jsonl", "--out", user,
                     "--sizes", "16", "--test-size", "16")
    one_line_error(out, str(user), "not created by ftbench")
    assert snapshot(user) == before
    a_file = tmp_path / "results.txt"
    a_file.write_text("keep me\n")
    out = in_process(capsys, "data", "prepare", SAMPLE, "--out", a_file, "--test-size", "16")
    one_line_error(out, str(a_file), "is a file")
    assert a_file.read_text() == "keep me\n"


def test_re_prepare_replaces_only_its_own_files(tmp_path, capsys):
    out_dir = tmp_path / "prepared"
    assert in_process(capsys, "data", "prepare", SAMPLE, "--out", out_dir, "--sizes", "16,32",
                      "--test-size", "16").rc == 0
    (out_dir / "notes.txt").write_text("mine\n")
    (out_dir / "train_999.jsonl").write_text("a user's file with a name like ours\n")
    assert in_process(capsys, "data", "prepare", SAMPLE, "--out", out_dir, "--sizes", "16",
                      "--test-size", "16").rc == 0
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [".ftbench", "manifest.json", "notes.txt", "test.jsonl", "train_16.jsonl",
                     "train_999.jsonl"]  # train_32 was ours and is gone; the user's files stay
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert set(manifest["files"]) == {"test.jsonl", "train_16.jsonl"}
    assert manifest["fingerprint"]["settings"]["sizes"] == [16]


def test_legacy_prepared_directory_is_adopted_and_its_user_files_kept(tmp_path, capsys):
    out_dir = tmp_path / "prepared"
    assert in_process(capsys, "data", "prepare", SAMPLE, "--out", out_dir, "--sizes", "16",
                      "--test-size", "16").rc == 0
    shutil.rmtree(out_dir / ".ftbench")  # as written by an ftbench without ownership markers
    (out_dir / "notes.txt").write_text("mine\n")
    assert in_process(capsys, "data", "prepare", SAMPLE, "--out", out_dir, "--sizes", "32",
                      "--test-size", "16").rc == 0
    assert (out_dir / "notes.txt").read_text() == "mine\n"
    assert not (out_dir / "train_16.jsonl").exists() and (out_dir / "train_32.jsonl").is_file()


def test_report_keeps_a_users_csv_and_png(tmp_path, capsys, peer_csv):
    foreign = tmp_path / "foreign"
    (foreign / "tables").mkdir(parents=True)
    shutil.copy(peer_csv, foreign / "tables" / "peer.csv")
    before = snapshot(foreign)
    one_line_error(in_process(capsys, "report", foreign / "tables" / "peer.csv", "--out", foreign),
                   str(foreign), "not created by ftbench")
    assert snapshot(foreign) == before

    out = tmp_path / "report"
    assert in_process(capsys, "report", peer_csv, "--out", out).rc == 0
    first = {p for p in snapshot(out) if not p.startswith(".ftbench")}
    (out / "tables" / "mine.csv").write_text("a,b\n1,2\n")
    (out / "plots" / "mine.png").write_bytes(b"\x89PNG not really")
    # the same table without perplexity: that section and its plot are not written this time
    import pandas as pd

    reduced = tmp_path / "reduced.csv"
    pd.read_csv(peer_csv).drop(columns=["perplexity", "avg_loss"]).to_csv(reduced, index=False)
    assert in_process(capsys, "report", reduced, "--out", out).rc == 0
    second = {p for p in snapshot(out) if not p.startswith(".ftbench")}
    owned = json.loads((out / ".ftbench" / "owner.json").read_text())["files"]
    assert {"tables/mine.csv", "plots/mine.png"} <= second  # never ours, never removed
    assert first - second, "the reduced source writes fewer files (else this test shows nothing)"
    assert not (first - second) & set(owned)
    assert second - {"tables/mine.csv", "plots/mine.png"} == set(owned)
    made_from = json.loads((out / "manifest.json").read_text())
    assert made_from["source_files"] == {"reduced.csv": sha256_file(reduced)}


def test_study_refuses_a_data_dir_holding_the_raw_source(tmp_path, capsys):
    study = tmp_path / "study"
    _user_dir(study / "data")
    before = snapshot(study)
    config = tmp_path / "study.yaml"
    config.write_text(f"name: s\nout_dir: {study}\ndata:\n  source: {study / 'data' / 'raw.jsonl'}\n"
                      "  sizes: [16]\n  test_size: 16\nmodels:\n  - {name: t, path: tiny}\n")
    one_line_error(in_process(capsys, "study", config, "--only", "data"),
                   str(study / "data"), "not created by ftbench")
    assert snapshot(study) == before
    # a foreign, non-empty out_dir is refused as a whole
    other = _user_dir(tmp_path / "other")
    before = snapshot(other)
    one_line_error(in_process(capsys, "study", config, f"out_dir={other}", "--only", "data"),
                   "out_dir", str(other))
    assert snapshot(other) == before


def test_tiny_model_train_and_eval_refuse_foreign_directories(tmp_path, capsys, prepared):
    user = _user_dir(tmp_path / "mine")
    before = snapshot(user)
    one_line_error(in_process(capsys, "tiny-model", "--out", user), str(user))
    config = tmp_path / "train.yaml"
    config.write_text(f"base_model: {tmp_path}\ntrain_size: 16\ndata_dir: {prepared}\n"
                      f"output_dir: {user}\nmax_steps: 1\n")
    one_line_error(in_process(capsys, "train", config), str(user), "output_dir")
    one_line_error(in_process(capsys, "eval", "--models", f"m={tmp_path}", "--tasks", "bmw_type",
                              "--out", user, "--backend", "hf"), str(user))
    assert snapshot(user) == before
