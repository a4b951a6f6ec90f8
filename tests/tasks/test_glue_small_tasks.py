"""The glue_small suite through stock lm-eval: registration, prompts, scoring, the CLI, and
equivalence with lm-eval's own `sst2` task."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from file_modules import load_file

from ftbench.core.paths import TASKS_DIR
from ftbench.metrics.label_scores import label_scores
from ftbench.suites.glue.prompts import gen_prompt, to_chat

GLUE_DIR = TASKS_DIR / "glue_small"
BASES = ["sst2", "rte", "mnli", "mnli_mismatched"]
TASKS = [f"glue_small_{b}{mode}{shots}" for b in BASES for mode in ("", "_gen")
         for shots in ("", "_5shot")]


def _utils():
    """tasks/glue_small/utils.py, loaded under its own name (other task folders have a utils.py)."""
    return load_file(GLUE_DIR / "utils.py", "glue_small_utils")


@pytest.fixture(scope="module")
def tm(glue_dir):
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS_DIR),
                       metadata={"glue_data": str(glue_dir), "glue_n": 40})


def test_every_glue_small_yaml_is_registered(tm):
    assert set(TASKS) <= set(tm.all_subtasks)
    assert {"glue_small", "glue_small_gen"} <= set(tm.all_groups)
    assert "sst2" in tm.all_subtasks  # the built-in task is not shadowed
    for path in GLUE_DIR.glob("glue_small*.yaml"):
        assert path.read_text().startswith("# lm_eval "), path


def test_docs_prompts_and_few_shot_pool(tm):
    loaded = tm.load(["glue_small_rte_gen", "glue_small_mnli_5shot", "glue_small_sst2_gen_5shot"])
    tasks = loaded["tasks"]
    rte = tasks["glue_small_rte_gen"]
    doc = rte.eval_docs[0]
    assert len(rte.eval_docs) == 40
    # lm-eval renders the same user turn and system prompt that LoRA training uses
    chat = to_chat(dict(doc))
    assert rte.doc_to_text(doc) == chat["messages"][1]["content"]
    assert rte.config.description == gen_prompt("rte").system == chat["messages"][0]["content"]
    assert rte.doc_to_target(doc) == chat["messages"][2]["content"] in ("yes", "no")
    # 5-shot MNLI: examples come from the other validation split, seeded
    mnli = tasks["glue_small_mnli_5shot"]
    mnli.set_fewshot_seed(1234)
    shots = mnli.sampler.sample(n=5)
    assert len(shots) == 5 and mnli.config.num_fewshot == 5
    pool = mnli.fewshot_docs()
    assert len(pool) == 9832  # validation_mismatched
    assert not {d["premise"] for d in mnli.eval_docs} & {d["premise"] for d in pool}
    assert {d["premise"] for d in shots} <= {d["premise"] for d in pool}
    mnli.set_fewshot_seed(1234)
    assert mnli.sampler.sample(n=5) == shots
    sst2 = tasks["glue_small_sst2_gen_5shot"]
    assert len(sst2.fewshot_docs()) == 2000  # sst2 train


@pytest.mark.parametrize("answer, label", [
    ("Positive.", "positive"), ("negative - the review is harsh", "negative"),
    (" positive\n", "positive"), ("I cannot tell", None), ("", None),
])
def test_generative_answers_are_parsed_to_labels(answer, label):
    doc = {"glue_task": "sst2", "label_name": "positive"}
    out = _utils().process_generation(doc, [answer])
    assert out["mcc"] == {"gold": "positive", "pred": label}
    assert out["acc"] == float(label == "positive")
    assert out["unparseable"] == float(label is None)


def test_rte_and_mnli_answer_words_map_to_glue_labels():
    u = _utils()
    rte = {"glue_task": "rte", "label_name": "not_entailment"}
    assert u.process_generation(rte, ["No, it does not."])["mcc"]["pred"] == "not_entailment"
    assert u.process_generation(rte, ["Yes"])["acc"] == 0.0
    mnli = {"glue_task": "mnli", "label_name": "neutral"}
    assert u.process_generation(mnli, ["Neutral"])["acc"] == 1.0
    # loglikelihood choice: index order is the HF label order (True, Neither, False)
    assert u.process_choice(mnli, [(-9.0, False), (-2.0, True), (-5.0, False)])["acc"] == 1.0


def test_corpus_aggregations_match_label_scores():
    u = _utils()
    items = [{"gold": g, "pred": p} for g, p in [("positive", "positive"), ("positive", None),
                                                 ("negative", "negative"), ("negative", "positive")]]
    ref = label_scores([i["gold"] for i in items], [i["pred"] for i in items],
                       ["negative", "positive"])
    assert u.agg_macro_f1(items) == pytest.approx(ref["macro_f1"])
    assert u.agg_mcc(items) == pytest.approx(ref["mcc"])


@pytest.mark.slow
def test_stock_lm_eval_cli_runs_both_groups_offline(tiny_model, glue_dir, tmp_path):
    """`lm_eval --include_path tasks --tasks glue_small,glue_small_gen` on the real GLUE files."""
    env = {**os.environ, "FTBENCH_GLUE_DATA": str(glue_dir)}
    cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf",
           "--model_args", f"pretrained={tiny_model},dtype=float32", "--device", "cpu",
           "--include_path", str(TASKS_DIR), "--tasks", "glue_small,glue_small_gen",
           "--limit", "4", "--apply_chat_template", "--log_samples",
           "--output_path", str(tmp_path / "out")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = list((tmp_path / "out").rglob("results_*.json"))
    data = json.loads(results_file.read_text())
    results = data["results"]
    for name in [t for t in TASKS if "mismatched" not in t]:
        reported = {k.split(",")[0] for k in results[name]}
        assert {"acc", "macro_f1", "mcc"} <= reported, name
        assert ("unparseable" in reported) == ("_gen" in name)
        assert data["n-shot"][name] == (5 if name.endswith("5shot") else 0)
    for group in ("glue_small", "glue_small_gen"):
        assert {"acc,none", "macro_f1,none", "mcc,none"} <= set(results[group])
    # the per-sample log holds each doc's (gold, pred): the metrics are re-derived from it
    for name in ("glue_small_mnli_5shot", "glue_small_sst2_gen"):
        (samples,) = (tmp_path / "out").rglob(f"samples_{name}_2*.jsonl")
        rows = [json.loads(line) for line in samples.open()]
        assert len(rows) == 4
        golds = [r["mcc"]["gold"] for r in rows]
        assert golds == [r["doc"]["label_name"] for r in rows]
        labels = ["entailment", "neutral", "contradiction"] if "mnli" in name else [
            "negative", "positive"]
        scores = label_scores(golds, [r["mcc"]["pred"] for r in rows], labels)
        assert scores["acc"] == pytest.approx(results[name]["acc,none"])
        assert scores["mcc"] == pytest.approx(results[name]["mcc,none"])


@pytest.mark.slow
def test_zero_shot_sst2_equals_lm_eval_builtin_sst2(tiny_model, glue_dir):
    """Same prompt, data and model: same per-sample loglikelihoods, predictions and accuracy."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    meta = {"glue_data": str(glue_dir), "glue_n": "all"}  # whole split, in file order
    tm = TaskManager(include_path=str(TASKS_DIR), metadata=meta)
    builtin = {**tm.task_index["sst2"].cfg, "dataset_path": "json", "dataset_name": None,
               "dataset_kwargs": {"data_files": {
                   "train": str(glue_dir / "sst2" / "train.jsonl"),
                   "validation": str(glue_dir / "sst2" / "validation.jsonl")}}}
    out = simple_evaluate(model="hf", model_args=f"pretrained={tiny_model},dtype=float32",
                          device="cpu", tasks=[builtin, "glue_small_sst2"], task_manager=tm,
                          limit=40, log_samples=True, batch_size=8, metadata=meta,
                          bootstrap_iters=0)
    ours, theirs = out["samples"]["glue_small_sst2"], out["samples"]["sst2"]
    assert len(ours) == len(theirs) == 40
    labels = ["negative", "positive"]
    for a, b in zip(ours, theirs):
        assert a["doc"]["sentence"] == b["doc"]["sentence"]
        assert a["arguments"] == b["arguments"]  # identical (context, continuation) requests
        lls = [r[0] for r in b["filtered_resps"]]
        assert [r[0] for r in a["filtered_resps"]] == pytest.approx(lls)
        assert a["mcc"]["pred"] == labels[max(range(2), key=lambda i: lls[i])]
        assert a["acc"] == b["acc"]
    assert out["results"]["glue_small_sst2"]["acc,none"] == out["results"]["sst2"]["acc,none"]
