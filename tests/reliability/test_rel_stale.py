"""Changed inputs never reuse old outputs: training config, model files, data, eval settings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from cli_helpers import (
    SAMPLE,
    in_process,
    index,
    metrics,
    one_line_error,
    snapshot,
    tiny_study,
)
from study_fixture import QUICK_PRETRAIN_STEPS

from ftbench.core.io import read_jsonl, sha256_file
from ftbench.eval.results_files import completed_tasks
from ftbench.train.tiny_model import load_manifest

TASK = "bmw_perplexity"  # one loglikelihood task on 2 articles: seconds on the tiny model
EVAL = ["--tasks", TASK, "--limit", "2", "--backend", "hf"]


def _ppl(results: Path, model: str) -> float:
    return metrics(results, model)[TASK]["word_perplexity"]


def _train_yaml(path: Path, model: Path, data: Path, out: Path, **keys) -> Path:
    cfg = {"base_model": str(model), "model_name": "tiny", "train_size": 16,
           "data_dir": str(data), "output_dir": str(out), "method": "lora", "backend": "peft",
           "lora": {"r": 4, "alpha": 8, "dropout": 0.0}, "learning_rate": 3e-3, "max_steps": 2,
           "batch_size": 2, "max_seq_length": 256, "eval_fraction": 0.0, "seed": 0, **keys}
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_changed_learning_rate_or_rank_is_never_reported_complete(
        tmp_path, capsys, tiny_model, prepared):
    runs = tmp_path / "runs"
    config = _train_yaml(tmp_path / "t.yaml", tiny_model, prepared, runs)
    assert in_process(capsys, "train", config).rc == 0
    run = runs / "tiny-16"
    before = snapshot(run)
    grid = (runs / "grid_index.json").read_text()
    line = one_line_error(in_process(capsys, "train", config, "learning_rate=1e-3"),
                          "tiny-16", "config.learning_rate: 0.003 → 0.001", "--force")
    assert "already complete" not in line
    one_line_error(in_process(capsys, "train", config, "lora.r=8"), "config.lora.r: 4 → 8")
    assert snapshot(run) == before and (runs / "grid_index.json").read_text() == grid

    assert in_process(capsys, "train", config, "lora.r=8", "--force").rc == 0
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["config"]["lora"]["r"] == 8
    assert json.loads((run / "adapter" / "adapter_config.json").read_text())["r"] == 8
    entry = json.loads((runs / "grid_index.json").read_text())["runs"]["tiny-16"]
    assert entry["action"] == "trained" and entry["fingerprint"] == manifest["fingerprint"]["digest"]
    # the same config again is reused
    assert in_process(capsys, "train", config, "lora.r=8").rc == 0
    assert json.loads((runs / "grid_index.json").read_text())["runs"]["tiny-16"]["action"] == "skipped"


def test_changed_train_data_is_detected(tmp_path, capsys, tiny_model):
    data = tmp_path / "data"
    assert in_process(capsys, "data", "prepare", SAMPLE, "--out", data, "--sizes", "16",
                      "--test-size", "16").rc == 0
    runs = tmp_path / "runs"
    config = _train_yaml(tmp_path / "t.yaml", tiny_model, data, runs)
    assert in_process(capsys, "train", config).rc == 0
    assert in_process(capsys, "data", "prepare", SAMPLE, "--out", data, "--sizes", "16",
                      "--test-size", "16", "--seed", "7").rc == 0
    one_line_error(in_process(capsys, "train", config), "tiny-16", "data_sha256")


def test_another_model_under_an_old_name_is_never_answered_from_old_results_or_cache(
        tmp_path, capsys, tiny_model, tiny_other):
    res = tmp_path / "results"
    assert in_process(capsys, "eval", "--models", f"m1={tiny_model}", "--out", res, *EVAL).rc == 0
    old = _ppl(res, "m1")
    before = snapshot(res / "m1")
    one_line_error(in_process(capsys, "eval", "--models", f"m1={tiny_other}", "--out", res,
                              *EVAL), "model m1", str(tiny_model), str(tiny_other), "--force")
    assert snapshot(res / "m1") == before and index(res)["models"]["m1"]["spec"][
        "pretrained"] == str(tiny_model)

    fresh = tmp_path / "fresh"
    assert in_process(capsys, "eval", "--models", f"m1={tiny_other}", "--out", fresh,
                      *EVAL).rc == 0
    truth = _ppl(fresh, "m1")
    assert truth != old

    # a user deletes the results (not the cache) and evaluates the other model under the name
    for p in (res / "m1").glob("results_*.json"):
        p.unlink()
    (res / "m1" / "status.json").unlink()
    assert in_process(capsys, "eval", "--models", f"m1={tiny_other}", "--out", res, *EVAL).rc == 0
    assert _ppl(res, "m1") == truth, "the request cache answered with the old model's outputs"
    assert len(list((res / "m1" / "cache").iterdir())) == 2  # one cache per model fingerprint

    # --force moves the old results aside (never deleted) and evaluates afresh
    assert in_process(capsys, "eval", "--models", f"m1={tiny_model}", "--out", res, "--force",
                      *EVAL).rc == 0
    assert _ppl(res, "m1") == old
    assert list((res / ".ftbench" / "superseded").glob("*/m1/results_*.json"))
    entry = index(res)["models"]["m1"]
    assert entry["spec"]["pretrained"] == str(tiny_model)
    assert entry["fingerprint"]["pretrained"]["files"]["model.safetensors"].startswith("sha256:")


def test_the_data_source_is_part_of_the_settings(tmp_path, capsys, tiny_model, prepared,
                                                 monkeypatch):
    res = tmp_path / "results"
    assert in_process(capsys, "eval", "--models", f"m1={tiny_model}", "--out", res, *EVAL).rc == 0
    assert index(res)["settings"]["data"]["bmw"]["from"] == "bundled sample"
    other = tmp_path / "other-data"
    shutil.copytree(prepared, other)
    (other / "test.jsonl").write_text("".join(
        json.dumps(r) + "\n" for r in read_jsonl(prepared / "test.jsonl")[5:]))
    (other / "manifest.json").unlink()  # a hand-made test file: allowed, hashed like any other
    shutil.rmtree(other / ".ftbench")
    monkeypatch.setenv("FTBENCH_BMW_DATA", str(other))
    one_line_error(in_process(capsys, "eval", "--models", f"m2={tiny_model}", "--out", res,
                              *EVAL), "data_sha256.bmw")
    assert set(index(res)["models"]) == {"m1"}
    monkeypatch.delenv("FTBENCH_BMW_DATA")
    one_line_error(in_process(capsys, "eval", "--models", f"m2={tiny_model}", "--out", res,
                              "--metadata", json.dumps({"bmw_data": str(other)}), *EVAL),
                   "data_sha256.bmw")
    # a modified prepared directory (test.jsonl no longer what its manifest says) is refused
    shutil.copy(prepared / "manifest.json", other / "manifest.json")
    one_line_error(in_process(capsys, "eval", "--models", f"m2={tiny_model}", "--out",
                              tmp_path / "r2", "--metadata",
                              json.dumps({"bmw_data": str(other)}), *EVAL),
                   str(other / "test.jsonl"), "manifest")
    assert sha256_file(prepared / "test.jsonl") != sha256_file(other / "test.jsonl")


@pytest.mark.slow
def test_study_with_a_new_data_seed_keeps_no_old_model_or_result(tmp_path, capsys,
                                                                 tiny_model_quick):
    # the quick tiny model (its build is what the new seed repeats) and short answers
    tiny_model = tiny_model_quick
    config = tiny_study(tmp_path, tiny_model, "s", sizes=[32], max_steps=2,
                        eval_stage={"tasks": ["bmw_type"], "backend": "hf", "limit": 4,
                                    "include_base": False, "max_gen_toks": {"bmw_type": 16}},
                        model={"tiny_pretrain_steps": QUICK_PRETRAIN_STEPS})
    out = tmp_path / "study"
    assert in_process(capsys, "study", config, "--only", "data,models,train,eval").rc == 0
    before = snapshot(out / "runs") | snapshot(out / "results")
    one_line_error(in_process(capsys, "study", config, "data.seed=7"), "settings.seed: 42 → 7",
                   "--force")
    assert snapshot(out / "runs") | snapshot(out / "results") == before

    assert in_process(capsys, "study", config, "data.seed=7", "--force",
                      "--only", "data,models,train,eval").rc == 0
    test_ids = {r["article_id"] for r in read_jsonl(out / "data" / "test.jsonl")}
    run = json.loads((out / "runs" / "tiny-32" / "manifest.json").read_text())
    assert run["data"]["sha256"] == sha256_file(out / "data" / "train_32.jsonl")
    trained_on = {r["article_id"] for r in read_jsonl(out / "data" / "train_32.jsonl")}
    assert not test_ids & trained_on
    entry = index(out / "results")["models"]["tiny-32"]
    assert entry["status"] == "complete"
    assert entry["fingerprint"]["pretrained"]["files"]["model.safetensors"] == (
        "sha256:" + sha256_file(out / "runs" / "tiny-32" / "merged" / "model.safetensors"))
    samples = read_jsonl(next((out / "results" / "tiny-32").glob("samples_bmw_type_*.jsonl")))
    assert {s["doc"]["article_id"] for s in samples} <= test_ids
    # the tiny model was rebuilt in the study on the new split (not through the link: the
    # session's model, pre-trained on the seed-42 split, is untouched)
    model = out / "models" / "tiny"
    assert not model.is_symlink()
    assert load_manifest(tiny_model)["pretraining_data"]["split"]["seed"] == 42
    assert load_manifest(model)["pretraining_data"]["test_file"]["sha256"] == sha256_file(
        out / "data" / "test.jsonl")
    # a model whose manifest predates the pre-training record is stale once runs depend on it
    manifest = load_manifest(model)
    del manifest["pretraining_data"]
    (model / "manifest.json").write_text(json.dumps(manifest))
    one_line_error(in_process(capsys, "study", config, "data.seed=7", "--only", "models"),
                   "pretraining_texts_sha256", "--force")


def test_a_task_is_its_own_identity(tmp_path, capsys, tiny_model):
    """Adding a task to finished results evaluates only that task (no --force); changing one
    task's own setting (its generation budget) is named, and --force re-evaluates only it."""
    res = tmp_path / "results"
    base = ["eval", "--models", f"m={tiny_model}", "--out", res, "--limit", "2",
            "--backend", "hf"]
    assert in_process(capsys, *base, "--tasks", TASK).rc == 0
    first = completed_tasks(res / "m")[TASK]
    kept = (first.stat().st_mtime_ns, first.read_bytes())

    added = in_process(capsys, *base, "--tasks", f"{TASK},bmw_type")
    assert added.rc == 0, added.err
    done = completed_tasks(res / "m")
    assert set(done) == {TASK, "bmw_type"} and done[TASK] == first
    assert (first.stat().st_mtime_ns, first.read_bytes()) == kept  # reused, not recomputed
    generated = done["bmw_type"]
    type_files = snapshot(res / "m")

    budget = [*base, "--tasks", f"{TASK},bmw_type", "--max-gen-toks", "bmw_type=8"]
    line = one_line_error(in_process(capsys, *budget), "task bmw_type", "gen_kwargs",
                          "--force")
    assert TASK not in line.split("; re-run")[0]
    assert snapshot(res / "m") == type_files  # nothing touched before --force
    forced = in_process(capsys, *budget, "--force")
    assert forced.rc == 0, forced.err
    done = completed_tasks(res / "m")
    assert done[TASK] == first and (first.stat().st_mtime_ns, first.read_bytes()) == kept
    assert done["bmw_type"] != generated and not generated.exists()
    block = json.loads(done["bmw_type"].read_text())["ftbench"]
    assert block["task_settings"]["gen_kwargs"] == {"max_gen_toks": 8}
    assert list(res.glob(f".ftbench/superseded/*/m/{generated.name}"))  # moved aside, kept
