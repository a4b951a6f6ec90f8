"""The GLUE-small matrix as a study of the glue suite: its config (study and older matrix format),
the variants, parts and encoder model kind it expands to, and the study end to end on CPU."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from ftbench.core.io import InputError, read_jsonl
from ftbench.core.paths import CONFIGS_DIR
from ftbench.metrics.label_scores import label_scores
from ftbench.pipelines.study_config import load_study_config
from ftbench.suites.glue.options import lm_task, task_part

QUICK = CONFIGS_DIR / "glue_small_quick.yaml"
MATRIX = CONFIGS_DIR.parent / "tests" / "golden" / "glue_quick" / "matrix_config.yaml"


@pytest.mark.parametrize("override, message", [
    ("suite_options.tasks=[cola]", "unknown task 'cola'"),
    ("suite_options.modes=[zero_shot, prompt_tuning]", "unknown mode 'prompt_tuning'"),
    ("suite_options.scoring=logprob", "suite_options.scoring"),
    ("suite_options.eval_n=0", "suite_options.eval_n"),
    ("suite_options.encoder.batch_size=0", "suite_options.encoder.batch_size"),
    ("suite_options.encoderz=1", "unknown config key 'suite_options.encoderz'"),
    ("train.data_dir=x", "set by the study itself"),
    ("train.lora.r=0", "lora.r"),
    ("eval.tasks=[glue_small]", "the study's variants name its tasks"),
    ("models=[{name: m, path: minilm, kind: classifier}]", "knows the kinds lm, encoder"),
    ("models=[{name: e, path: minilm, kind: encoder}, {name: e, path: minilm, kind: encoder}]",
     "duplicate model names"),
    ("models=[{name: e, path: minilm, kind: encoder}]", "at least one model of kind lm"),
    ("executor=ray", "run locally only"),
])
def test_bad_glue_study_config_names_the_key(override, message):
    with pytest.raises(InputError, match=message):
        load_study_config(QUICK, [override])


@pytest.mark.parametrize("override, message", [
    ("tasks=[cola]", "unknown task 'cola'"),
    ("modes=[zero_shot, prompt_tuning]", "unknown mode 'prompt_tuning'"),
    ("lora.data_dir=x", "set by the study itself"),
    ("encoders=[]", "encoders"),
    ("decoderz=[]", "unknown config key 'decoderz'"),
])
def test_bad_matrix_config_names_the_key(override, message, monkeypatch):
    monkeypatch.setenv("FTBENCH_GLUE_DATA", "/nonexistent")
    with pytest.raises(InputError, match=message):
        load_study_config(MATRIX, [override], suite_format="glue")


def test_the_matrix_format_reads_glue_data_or_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("FTBENCH_GLUE_DATA", raising=False)
    assert load_study_config(MATRIX, suite_format="glue").data.source == "$FTBENCH_GLUE_DATA"
    given = load_study_config(MATRIX, [f"glue_data={tmp_path}"], suite_format="glue")
    assert given.data.source == str(tmp_path)


def test_matrix_cells_map_to_glue_small_tasks_and_back():
    assert lm_task("sst2", "zero_shot", "generative") == "glue_small_sst2_gen"
    assert lm_task("mnli", "few_shot", "loglikelihood") == "glue_small_mnli_5shot"
    assert lm_task("rte", "lora", "loglikelihood") == "glue_small_rte_gen"  # LoRA generates
    assert task_part("glue_small_mnli_mismatched_gen_5shot") == "mnli_mismatched"
    assert task_part("glue_small_mnli_gen") == "mnli" and task_part("glue_small") is None
    assert task_part("general_small_arc") is None


def test_the_matrix_is_a_study_with_variants_parts_and_an_encoder(monkeypatch, tmp_path):
    """The older matrix YAML and the shipped study config expand to the same study."""
    monkeypatch.setenv("FTBENCH_GLUE_DATA", str(tmp_path))
    old = load_study_config(MATRIX, [f"out_dir={tmp_path}/m"], suite_format="glue")
    assert [v.name for v in old.variant_list] == ["zero_shot", "few_shot", "lora"]
    assert old.parts == ("sst2", "rte", "mnli")
    assert old.eval_metadata() == {"glue_data": str(tmp_path.resolve()), "glue_n": 100,
                                   "glue_seed": 1234}
    assert [r.name for r in old.runs()] == ["tiny-llama-sst2-256", "tiny-llama-rte-256",
                                            "tiny-llama-mnli-256"]
    assert [tc.data_dir for tc in old.train_configs()] == [
        str(tmp_path / "m" / "data" / p) for p in ("sst2", "rte", "mnli")]
    assert old.model_tasks("base", None) == tuple(
        lm_task(t, m, "generative") for m in ("zero_shot", "few_shot")
        for t in ("sst2", "rte", "mnli"))
    assert old.model_tasks("finetuned", "rte") == ("glue_small_rte_gen",)
    record = old.study_record()
    assert record["models"]["tiny-llama-rte-256"] == {
        "model": "tiny-llama", "kind": "lm", "set": "finetuned", "part": "rte", "train_size": 256}
    assert record["models"]["minilm/mnli"]["dir"] == "minilm/mnli"
    new = load_study_config(QUICK, [f"out_dir={tmp_path}/m"])
    assert [(v.name, v.tasks, v.models) for v in new.variant_list] == [
        (v.name, v.tasks, v.models) for v in old.variant_list]
    assert [m.kind for m in new.models] == ["lm", "encoder"] and new.models[0].path == "smollm2"


def test_without_a_finetuned_variant_nothing_is_trained(monkeypatch, tmp_path):
    monkeypatch.setenv("FTBENCH_GLUE_DATA", str(tmp_path))
    cfg = load_study_config(MATRIX, ["modes=[zero_shot]", "eval.scoring=loglikelihood"],
                            suite_format="glue")
    assert cfg.train_configs() == [] and cfg.runs() == []
    assert cfg.eval.tasks == ["glue_small_sst2", "glue_small_rte", "glue_small_mnli"]
    assert [m.name for m in cfg.models] == ["tiny-llama"]  # no encoder without mode encoder


def test_cli_bad_config_exits_2(tmp_path, capsys, monkeypatch):
    from ftbench.cli.main import main

    monkeypatch.setenv("FTBENCH_GLUE_DATA", str(tmp_path))
    assert main(["glue", str(MATRIX), "tasks=[cola]"]) == 2
    assert "unknown task 'cola'" in capsys.readouterr().err
    assert main(["study", str(QUICK), "suite_options.tasks=[cola]"]) == 2
    assert "unknown task 'cola'" in capsys.readouterr().err


def test_an_unset_source_variable_is_named(tmp_path, monkeypatch, capsys):
    from ftbench.cli.main import main

    monkeypatch.delenv("FTBENCH_GLUE_DATA", raising=False)
    assert main(["study", str(QUICK), f"out_dir={tmp_path}/s", "--only", "data"]) == 2
    assert "$FTBENCH_GLUE_DATA names an environment variable that is not set" in \
        capsys.readouterr().err


@pytest.mark.slow
def test_quick_matrix_as_a_study_end_to_end(tiny_model, glue_dir, tmp_path, monkeypatch):
    """`ftbench study` on the quick preset, shrunk: 2 tasks × (zero-shot, 5-shot, LoRA, encoder);
    every number of the matrix re-derived from the per-sample logs / encoder predictions."""
    from matplotlib.image import imread

    from ftbench.cli.main import main

    monkeypatch.setenv("FTBENCH_GLUE_DATA", str(glue_dir))
    out = tmp_path / "glue"
    overrides = [f"out_dir={out}", "suite_options.tasks=[sst2, rte]", "suite_options.eval_n=24",
                 "eval.limit=6", f"models=[{{name: tiny, path: {tiny_model}}}, "
                 "{name: minilm, path: minilm, kind: encoder}]", "data.sizes=[32]",
                 "train.max_steps=4", "train.batch_size=4", "train.eval_fraction=0.0",
                 "suite_options.encoder.train_n=32", "suite_options.encoder.max_steps=2",
                 "suite_options.encoder.max_length=32"]
    assert main(["study", str(QUICK), *overrides]) == 0
    report = out / "report"
    with (report / "tables" / "glue_comparison.csv").open() as fh:
        table = list(csv.DictReader(fh))
    cells = {(r["model"], r["task"], r["mode"]) for r in table}
    assert cells == {(m, t, mode) for t in ("sst2", "rte") for m, mode in
                     [("tiny", "zero_shot"), ("tiny", "few_shot"), ("tiny", "lora"),
                      ("minilm", "encoder")]}
    index = json.loads((out / "results" / "index.json").read_text())
    # one invocation: the base on the four zero/few-shot tasks, each adapter on its own task
    assert {m: sorted(e["tasks"]) for m, e in index["models"].items()} == {
        "tiny-base": sorted(lm_task(t, m, "generative") for t in ("sst2", "rte")
                            for m in ("zero_shot", "few_shot")),
        "tiny-sst2-32": ["glue_small_sst2_gen"], "tiny-rte-32": ["glue_small_rte_gen"]}
    for row in table:
        exp = report / "experiments" / row["experiment"]
        metrics = json.loads((exp / "metrics.json").read_text())
        if row["kind"] == "decoder":
            samples = read_jsonl(metrics["sources"]["samples"])
            pairs = [(s["mcc"]["gold"], s["mcc"]["pred"]) for s in samples]
            assert len(pairs) == 6  # eval.limit
        else:
            preds = read_jsonl(out / "results" / "minilm" / row["task"] / "predictions.jsonl")
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
    for png in ("glue_accuracy.png", "glue_latency.png"):
        assert imread(report / "plots" / png).shape[0] > 100
    summary = (report / "summary.md").read_text()
    assert "GLUE-small experiment matrix" in summary and "glue_decoder_vs_encoder" in summary
    # the LoRA rows were trained on chat rows with the generative task's prompts, per task
    train = (out / "data" / "rte" / "train_32.jsonl").read_text().splitlines()
    assert yaml.safe_load(train[0])["messages"][2]["content"] in ("yes", "no")
    # `ftbench report` on the results alone gives the same matrix (the index records it)
    from ftbench.report.build import report_main

    again = report_main(out / "results", tmp_path / "again", runs=out / "runs")
    assert again["tables"]["glue_comparison"].read_text() == \
        (report / "tables" / "glue_comparison.csv").read_text()
