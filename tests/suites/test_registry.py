"""The built-in suites: BMW through the Suite interface is byte-for-byte `ftbench data prepare`;
GLUE is a study suite whose tasks read the GLUE directory; the evaluation fingerprint keeps its
per-suite keys."""

from __future__ import annotations

import io

from rich.console import Console

from ftbench.core.io import read_jsonl
from ftbench.suites.bmw.resources import SAMPLE_CORPUS
from ftbench.suites.layout import PrepareSettings
from ftbench.suites.registry import BUILTIN, data_location_keys, get_suite, suite_of_task


def test_builtin_suites_and_their_tasks():
    assert list(BUILTIN) == ["bmw", "glue", "general_small", "chat"]
    assert get_suite("bmw").data.metadata_key == "bmw_data"
    assert suite_of_task("bmw") is BUILTIN["bmw"]
    assert suite_of_task("glue_small_rte_gen_5shot") is BUILTIN["glue"]
    assert suite_of_task("general_small_gsm8k") is BUILTIN["general_small"]
    assert suite_of_task("chat_answer") is suite_of_task("chat") is BUILTIN["chat"]
    assert suite_of_task("hellaswag") is None
    assert BUILTIN["general_small"].evaluation_only and not BUILTIN["glue"].evaluation_only
    assert set(data_location_keys()) >= {"bmw_data", "glue_data", "general_data",
                                        "chat_data"}
    assert list(BUILTIN["bmw"].prompts()) == ["summarization", "title", "tags", "type"]


def test_bmw_suite_prepare_is_data_prepare_byte_for_byte(tmp_path):
    from ftbench.suites.bmw.prepare import prepare_file, prepare_fingerprint, write_prepared

    settings = PrepareSettings(sizes=(16, 48), test_size=16, seed=7, max_input_words=60)
    suite = get_suite("bmw")
    via_suite = suite.prepare(SAMPLE_CORPUS, settings, tmp_path / "suite")
    write_prepared(prepare_file(SAMPLE_CORPUS, sizes=(16, 48), test_size=16, seed=7,
                                max_input_words=60), tmp_path / "direct")
    for name in ("test.jsonl", "train_16.jsonl", "train_48.jsonl"):
        assert (tmp_path / "suite" / name).read_bytes() == (tmp_path / "direct" / name).read_bytes()
    fp = prepare_fingerprint(suite.source_digest(SAMPLE_CORPUS), settings)
    assert via_suite.manifest["fingerprint"] == fp == suite.fingerprint(
        suite.source_digest(SAMPLE_CORPUS), settings)


def test_glue_as_a_study_suite(glue_dir, tmp_path):
    import yaml

    from ftbench.pipelines.study import run_study
    from ftbench.pipelines.study_config import load_study_config

    config = tmp_path / "glue.yaml"
    config.write_text(yaml.safe_dump({
        "name": "glue", "suite": "glue", "out_dir": str(tmp_path / "study"),
        "data": {"source": str(glue_dir), "sizes": [8, 16], "seed": 5},
        "models": [{"name": "m", "path": str(tmp_path)}]}))
    cfg = load_study_config(config)
    assert cfg.eval.tasks == ["glue_small"]
    assert cfg.eval_metadata() == {"glue_data": str(glue_dir.resolve())}  # the tasks read it
    console = Console(file=io.StringIO())
    first = run_study(cfg, ["data"], console)["stages"]["data"]["info"]
    assert first["skipped"] is False and first["test_rows"] == {"sst2": 500, "rte": 277,
                                                                "mnli": 500}
    rows = read_jsonl(cfg.data_dir / "train_16.jsonl")
    assert {r["task"] for r in rows} == {"sst2", "rte", "mnli"} and len(rows) == 48
    small = read_jsonl(cfg.data_dir / "train_8.jsonl")
    assert small == [r for r in rows if r in small] and len(small) == 24  # nested per task
    assert run_study(cfg, ["data"], console)["stages"]["data"]["info"]["skipped"] is True
