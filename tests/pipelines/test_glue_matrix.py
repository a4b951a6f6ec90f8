"""The GLUE experiment matrix: config validation, and the quick matrix end to end on CPU."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from ftbench.core.io import InputError, read_jsonl
from ftbench.core.paths import CONFIGS_DIR
from ftbench.metrics.label_scores import label_scores
from ftbench.pipelines.glue_config import load_glue_config
from ftbench.pipelines.glue_matrix import lm_task

QUICK = CONFIGS_DIR / "glue_small_quick.yaml"


@pytest.mark.parametrize("override, message", [
    ("tasks=[cola]", "unknown task 'cola'"),
    ("modes=[zero_shot, prompt_tuning]", "unknown mode 'prompt_tuning'"),
    ("eval.scoring=logprob", "eval.scoring"),
    ("lora.data_dir=x", "set by the matrix itself"),
    ("lora.lora.r=0", "lora.r"),
    ("encoder.batch_size=0", "batch_size"),
    ("eval_n=0", "eval_n"),
    ("encoders=[]", "encoders"),
    ("decoderz=[]", "unknown config key 'decoderz'"),
])
def test_bad_matrix_config_names_the_key(override, message):
    with pytest.raises(InputError, match=message):
        load_glue_config(QUICK, [override])


def test_matrix_cells_map_to_glue_small_tasks():
    assert lm_task("sst2", "zero_shot", "generative") == "glue_small_sst2_gen"
    assert lm_task("mnli", "few_shot", "loglikelihood") == "glue_small_mnli_5shot"
    assert lm_task("rte", "lora", "loglikelihood") == "glue_small_rte_gen"  # LoRA generates
    cfg = load_glue_config(QUICK)
    assert cfg.metadata() == {"glue_n": 100, "glue_seed": 1234}
    assert [r.name for r in cfg.lora_config("rte", CONFIGS_DIR.parent).runs()] == ["tiny-llama-256"]


def test_cli_bad_config_exits_2(tmp_path, capsys):
    from ftbench.cli.main import main

    assert main(["glue", str(QUICK), "tasks=[cola]"]) == 2
    assert "unknown task 'cola'" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_matrix_end_to_end(tiny_model, glue_dir, tmp_path, monkeypatch):
    """`ftbench glue` on the quick preset, shrunk: 2 tasks × (zero-shot, 5-shot, LoRA, encoder)."""
    from matplotlib.image import imread

    from ftbench.cli.main import main

    monkeypatch.setenv("FTBENCH_GLUE_DATA", str(glue_dir))
    out = tmp_path / "glue"
    overrides = [f"out_dir={out}", "tasks=[sst2, rte]", "eval_n=24", "eval.limit=6",
                 f"decoders=[{{name: tiny, path: {tiny_model}}}]", "lora_train_n=32",
                 "lora.max_steps=4", "lora.batch_size=4", "lora.eval_fraction=0.0",
                 "encoder.train_n=32", "encoder.max_steps=2", "encoder.max_length=32"]
    assert main(["glue", str(QUICK), *overrides]) == 0
    report = out / "report"
    with (report / "comparison.csv").open() as fh:
        table = list(csv.DictReader(fh))
    cells = {(r["model"], r["task"], r["mode"]) for r in table}
    assert cells == {(m, t, mode) for t in ("sst2", "rte") for m, mode in
                     [("tiny", "zero_shot"), ("tiny", "few_shot"), ("tiny", "lora"),
                      ("minilm", "encoder")]}
    for row in table:
        exp = report / "experiments" / row["experiment"]
        metrics = json.loads((exp / "metrics.json").read_text())
        # re-derive the numbers from the per-sample log / the encoder's predictions
        if row["kind"] == "decoder":
            samples = read_jsonl(metrics["sources"]["samples"])
            pairs = [(s["mcc"]["gold"], s["mcc"]["pred"]) for s in samples]
            assert len(pairs) == 6  # eval.limit
        else:
            preds = read_jsonl(out / "encoders" / f"minilm__{row['task']}" / "predictions.jsonl")
            pairs = [(p["gold"], p["pred"]) for p in preds]
            assert len(pairs) == 24  # eval_n
            assert float(row["train_s"]) > 0
        labels = ["negative", "positive"] if row["task"] == "sst2" else [
            "entailment", "not_entailment"]
        s = label_scores([g for g, _ in pairs], [p for _, p in pairs], labels)
        assert float(row["acc"]) == pytest.approx(s["acc"])
        assert float(row["mcc"]) == pytest.approx(s["mcc"])
        assert int(row["n"]) == s["n"]
        assert float(row["latency_ms_per_example"]) > 0 and float(row["peak_rss_mb"]) > 50
        with (exp / "errors.csv").open() as fh:
            errors = list(csv.DictReader(fh))
        assert len(errors) == sum(g != p for g, p in pairs)
        assert all(e["text"] and e["gold"] != e["predicted"] for e in errors)
        assert imread(exp / "confusion.png").ndim == 3
    assert float(next(r for r in table if r["mode"] == "lora")["train_s"]) > 0
    for png in ("accuracy.png", "latency.png"):
        assert imread(report / png).shape[0] > 100
    summary = (report / "summary.md").read_text()
    assert "Accuracy by mode" in summary and "McNemar" in summary
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["experiments"]) == manifest["expected"] == 8
    # the LoRA rows were trained on chat rows with the generative task's prompts
    train = (out / "data" / "rte" / "train_32.jsonl").read_text().splitlines()
    assert yaml.safe_load(train[0])["messages"][2]["content"] in ("yes", "no")
