"""`ftbench study` with `suite: chat` on the bundled chat sample: data → LoRA → eval → report,
ranked by the chat composite; and the chat tasks' per-sample scores re-derived from their logs."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from ftbench.core.io import read_jsonl


def _study(tmp_path, model) -> dict:
    return {"name": "chat", "suite": "chat", "out_dir": str(tmp_path / "study"),
            "data": {"source": "sample", "sizes": [8], "test_size": 6, "seed": 3},
            "models": [{"name": "tiny", "path": str(model)}],
            "train": {"method": "lora", "backend": "peft", "lora": {"r": 4, "alpha": 8},
                      "learning_rate": 3e-3, "max_steps": 3, "batch_size": 4,
                      "max_seq_length": 96, "eval_fraction": 0.0, "seed": 0},
            "eval": {"tasks": ["chat"], "backend": "hf", "limit": 4,
                     "max_gen_toks": {"chat_answer": 12}},
            # the study's own composite weights (scaled to sum to 1: 0.5 / 0.25 / 0.25)
            "report": {"composite": WEIGHTS}}


WEIGHTS = {"answer_keyword_overlap": 2.0, "answer_rougeL": 1.0, "answer_bertscore_f1": 1.0}


@pytest.mark.slow
def test_study_on_the_chat_sample_is_ranked_by_the_chat_composite(tmp_path, tiny_model):
    import pandas as pd

    from ftbench.cli.main import main
    from ftbench.eval.results_files import samples_file, task_metrics
    from ftbench.metrics import keyword_overlap, normalized_exact_match, rouge_scores
    from ftbench.metrics.extraction import extract_answer

    config = tmp_path / "chat.yaml"
    config.write_text(yaml.safe_dump(_study(tmp_path, tiny_model)), encoding="utf-8")
    assert main(["study", str(config)]) == 0
    study = tmp_path / "study"
    manifest = json.loads((study / "data" / "manifest.json").read_text())
    assert manifest["suite"] == "chat" and manifest["shapes"] and manifest["split"] == "seeded"
    # train rows are the sample's conversations, the held-out questions are not among them
    test_ids = {r["id"] for r in read_jsonl(study / "data" / "test.jsonl")}
    train = read_jsonl(study / "data" / "train_8.jsonl")
    assert len(test_ids) == 6 and len(train) == 8 and not test_ids & {r["id"] for r in train}
    assert all(r["messages"][-1]["role"] == "assistant" for r in train)
    index = json.loads((study / "results" / "index.json").read_text())
    assert {m: e["status"] for m, e in index["models"].items()} == {
        "tiny-base": "complete", "tiny-8": "complete"}
    assert index["settings"]["data"]["chat"]["from"] == "metadata chat_data"
    for model in index["models"]:
        metrics = task_metrics(study / "results" / model)
        answers = read_jsonl(samples_file(study / "results" / model, "chat_answer"))
        assert len(answers) == 4 and {s["doc"]["id"] for s in answers} <= test_ids
        for s in answers:  # each per-sample score is the metric of the logged answer
            pred = extract_answer(s["resps"][0][0])
            ref = s["doc"]["target"]
            assert s["rougeL"] == pytest.approx(rouge_scores(ref, pred)["rougeL"])
            kw = keyword_overlap(ref, pred)
            assert (math.isnan(s["keyword_overlap"]) and math.isnan(kw)) or \
                s["keyword_overlap"] == pytest.approx(kw)
            assert s["exact_match"] == normalized_exact_match(ref, pred)
        assert metrics["chat_answer"]["rougeL"] == pytest.approx(
            sum(s["rougeL"] for s in answers) / 4)
        ppl = read_jsonl(samples_file(study / "results" / model, "chat_perplexity"))
        ll = [float(s["resps"][0][0][0]) for s in ppl]
        words = [len(s["doc"]["target"].split()) for s in ppl]
        assert metrics["chat_perplexity"]["word_perplexity"] == pytest.approx(
            math.exp(-sum(ll) / sum(words)))
    report = study / "report"
    ranking = pd.read_csv(report / "tables" / "ranking.csv")
    models = pd.read_csv(report / "tables" / "models.csv").set_index("model")
    assert set(ranking["model"]) == {"tiny-base", "tiny-8"}
    # ranked by the study's composite: the weighted sum of three answer metrics, best first
    total = sum(WEIGHTS.values())
    expected = sum(w / total * models[c] for c, w in WEIGHTS.items()).loc[ranking["model"]]
    assert ranking["overall_score"].tolist() == pytest.approx(expected.tolist())
    assert ranking["overall_score"].is_monotonic_decreasing
    # `ftbench report DIR` in a new process reads the weights the results recorded
    again = tmp_path / "again"
    assert main(["report", str(study / "results"), "--out", str(again), "-q"]) == 0
    assert pd.read_csv(again / "tables" / "ranking.csv")["overall_score"].tolist() == \
        pytest.approx(ranking["overall_score"].tolist())
    summary = (report / "summary.md").read_text()
    assert "Ranking score: `overall_score`" in summary
    assert "answer_keyword_overlap" in summary and "have no report columns" not in summary
