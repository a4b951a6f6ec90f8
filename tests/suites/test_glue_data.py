"""GLUE data: local JSONL in the HF schema, stratified seeded subsamples, few-shot/train splits."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ftbench.core.io import InputError, read_jsonl
from ftbench.suites.glue.data import (
    ENV_DATA,
    eval_rows,
    read_split,
    stratified_sample,
    train_rows,
    train_split_for,
)
from ftbench.suites.glue.prompts import to_chat


def test_real_validation_splits_have_the_official_sizes(glue_dir):
    assert len(read_split("sst2", "validation", str(glue_dir))) == 872
    assert len(read_split("rte", "validation", str(glue_dir))) == 277
    mnli = read_split("mnli", "validation_matched", str(glue_dir))
    assert len(mnli) == 9815
    assert Counter(r["label_name"] for r in mnli) == {
        "entailment": 3479, "neutral": 3123, "contradiction": 3213}
    assert mnli[0]["answer"] == "neutral" and mnli[0]["glue_task"] == "mnli"


def test_subsample_is_stratified_seeded_and_shuffled(glue_dir):
    rows = eval_rows("mnli", "validation_matched", str(glue_dir), glue_n=300, glue_seed=7)
    assert len(rows) == 300
    # 3479/9815*300 = 106.3, 3123/9815*300 = 95.5, 3213/9815*300 = 98.2 → largest remainder
    assert Counter(r["label"] for r in rows) == {0: 106, 1: 96, 2: 98}
    assert rows == eval_rows("mnli", "validation_matched", str(glue_dir), glue_n=300, glue_seed=7)
    other = eval_rows("mnli", "validation_matched", str(glue_dir), glue_n=300, glue_seed=8)
    assert {r["idx"] for r in rows} != {r["idx"] for r in other}
    assert len({r["label"] for r in rows[:6]}) > 1  # --limit on the first docs sees several classes
    assert len({r["idx"] for r in rows}) == 300


def test_full_split_keeps_file_order(glue_dir, monkeypatch):
    monkeypatch.setenv("FTBENCH_GLUE_N", "all")
    rows = eval_rows("sst2", "validation", str(glue_dir))
    assert [r["idx"] for r in rows] == list(range(872))
    assert stratified_sample(rows, 10_000, 0) == rows


def test_mnli_train_falls_back_to_the_other_validation_split(glue_dir):
    assert train_split_for("mnli", "validation_matched", str(glue_dir)) == "validation_mismatched"
    assert train_split_for("mnli", "validation_mismatched", str(glue_dir)) == "validation_matched"
    assert train_split_for("sst2", "validation", str(glue_dir)) == "train"
    assert len(train_rows("mnli", "validation_matched", str(glue_dir))) == 9832
    assert len(train_rows("rte", "validation", str(glue_dir))) == 2490


def test_bad_row_names_file_line_and_field(tmp_path):
    (tmp_path / "rte").mkdir()
    lines = [{"idx": 0, "sentence1": "a", "sentence2": "b", "label": 0},
             {"idx": 1, "sentence1": "a", "sentence2": "b", "label": 2}]
    (tmp_path / "rte" / "validation.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    with pytest.raises(InputError, match=r"rte/validation.jsonl:2: field 'label'"):
        read_split("rte", "validation", str(tmp_path))
    (tmp_path / "rte" / "validation.jsonl").write_text('{"idx": 0, "sentence1": 3}\n')
    with pytest.raises(InputError, match=r"validation.jsonl:1: field 'sentence1' must be a string"):
        read_split("rte", "validation", str(tmp_path))
    with pytest.raises(InputError, match=r"sst2/validation.jsonl: not found"):
        read_split("sst2", "validation", str(tmp_path))
    with pytest.raises(InputError, match="glue_n"):
        eval_rows("rte", "validation", str(tmp_path), glue_n="many")


def test_without_local_data_the_hub_is_asked(monkeypatch):
    """Offline, the real hub call fails and the error says how to use local files."""
    monkeypatch.delenv(ENV_DATA, raising=False)
    with pytest.raises(InputError, match=f"nyu-mll/glue.*{ENV_DATA}"):
        read_split("rte", "validation")


def test_lora_rows_are_chat_rows_with_the_label_word(glue_dir, tmp_path):
    from ftbench.train.data import check_train_file, load_rows, read_manifest

    rows = stratified_sample(train_rows("rte", "validation", str(glue_dir)), 40, 0)
    chat = to_chat(rows[0])
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant"]
    assert chat["messages"][2]["content"] == ("yes" if rows[0]["label"] == 0 else "no")
    assert rows[0]["sentence2"].strip() in chat["messages"][1]["content"]

    # a glue study with suite_options.tasks prepares one task per folder, the same rows
    from ftbench.suites.glue.options import GlueOptions
    from ftbench.suites.glue.study import prepare_part
    from ftbench.suites.layout import PrepareSettings, write_prepared

    out = tmp_path / "rte"
    result = prepare_part(glue_dir, PrepareSettings(sizes=(20, 40), seed=0), "rte",
                          GlueOptions(tasks=["rte"], eval_n=24, eval_seed=1))
    write_prepared(result, out)
    path = check_train_file(out, 40, read_manifest(out), "k")
    assert load_rows(path) == [to_chat(r) for r in rows]  # same sample, same order, same prompt
    assert load_rows(out / "train_20.jsonl") == [to_chat(r) for r in rows[:20]]  # nested
    test = read_jsonl(out / "test.jsonl")
    assert all(r["target"] == r["answer"] and r["id"] == f"rte-validation-{r['idx']}"
               for r in test)
    assert len(test) == 24 and {r["task"] for r in test} == {"rte"}
    assert [r["idx"] for r in test] == [r["idx"] for r in eval_rows("rte", "validation",
                                                                     str(glue_dir), 24, 1)]
    assert result.manifest["cells"] == [["rte", "validation"]]
    assert result.manifest["sizes"]["40"]["rows"] == 40
