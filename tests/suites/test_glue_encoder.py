"""Encoder baseline: MiniLM fully fine-tuned on real SST-2 beats chance on CPU in about a minute."""

from __future__ import annotations

import json

import pytest

from ftbench.core.io import InputError
from ftbench.metrics.label_scores import label_scores
from ftbench.suites.glue.encoder import MINILM, EncoderSettings, resolve_model, train_encoder


def test_settings_are_checked_before_any_model_loads():
    with pytest.raises(InputError, match="eval_split"):
        EncoderSettings(task="sst2", eval_split="validation_matched")
    with pytest.raises(InputError, match="unknown GLUE task"):
        EncoderSettings(task="cola")
    with pytest.raises(InputError, match="train_n"):
        EncoderSettings(train_n=0)
    assert EncoderSettings(task="mnli").eval_split == "validation_matched"
    assert (resolve_model(MINILM) + "/config.json").endswith("model/config.json")


@pytest.mark.slow
def test_minilm_beats_chance_on_sst2(glue_dir, tmp_path):
    """320 train sentences, 20 steps; 200 stratified validation sentences (98 neg / 102 pos)."""
    from scipy.stats import binomtest

    settings = EncoderSettings(model=MINILM, task="sst2", train_n=320, eval_n=200,
                               glue_data=str(glue_dir), batch_size=16, max_length=32,
                               learning_rate=3e-4, epochs=1, seed=42)
    m = train_encoder(settings, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "predictions.jsonl").open()]
    assert len(rows) == 200 and m["eval"]["n"] == 200 and m["train_rows"] == 320
    scores = label_scores([r["gold"] for r in rows], [r["pred"] for r in rows],
                          ["negative", "positive"])
    assert scores["acc"] == pytest.approx(m["scores"]["acc"])
    assert scores["mcc"] == pytest.approx(m["scores"]["mcc"])
    majority = max(c["gold"] for c in scores["counts"].values()) / 200
    # better than the majority class, and significantly better than a coin
    assert scores["acc"] > majority
    assert binomtest(round(scores["acc"] * 200), 200, 0.5, alternative="greater").pvalue < 0.01
    assert scores["mcc"] > 0.1
    t = m["timing"]
    assert t["steps"] == 20 and t["train_s"] > 0 and t["latency_ms_per_example"] > 0
    assert m["memory"]["peak_rss_mb"] > 100
    print(f"MiniLM SST-2: acc {scores['acc']:.3f} mcc {scores['mcc']:.3f} train {t['train_s']} s "
          f"latency {t['latency_ms_per_example']} ms/example")
