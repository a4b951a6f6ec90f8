"""ftbench.metrics.bertscore: encoder resolution, a real offline MiniLM run, the memo cache.

The real run is ONE batched call shared by the tests (module fixture): loading bert_score and
the encoder dominates the cost on 2 CPU cores.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from ftbench.metrics import bertscore, bertscore_corpus, resolve_encoder
from ftbench.metrics.bertscore import ENV_VAR, Encoder, clear_cache

REF_PLANT = "The BMW Group opened a new battery assembly plant in Debrecen, Hungary."
PAIRS = {
    "identical": ("BMW presents the new iX3 in Munich.", "BMW presents the new iX3 in Munich."),
    "paraphrase": (REF_PLANT, "BMW has inaugurated a new battery factory in Debrecen in Hungary."),
    "unrelated": (REF_PLANT, "The tennis player won the final in straight sets."),
    "empty": (REF_PLANT, ""),
    "blank": (REF_PLANT, "   \n"),
    "punctuation": (REF_PLANT, "!!!"),
    "long_garbage": (REF_PLANT, "asdf qwerty " * 167),  # ~2,000 characters
}


@pytest.fixture(autouse=True)
def _default_encoder(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


# --- encoder resolution -------------------------------------------------------------------

def test_default_encoder_is_offline_minilm():
    enc = resolve_encoder()
    assert "MiniLM" in enc.label and "layer 6" in enc.label
    assert enc.num_layers == 6
    assert (Path(enc.model_type) / "config.json").is_file()


def test_env_override_with_known_name(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "roberta-large")
    # bert_score's tuned layer for roberta-large (model2layers) is 17
    assert resolve_encoder() == Encoder("roberta-large", 17, "roberta-large (layer 17)")
    # an explicit argument beats the environment
    assert resolve_encoder("bert-base-uncased").model_type == "bert-base-uncased"


def test_empty_env_means_default(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "  ")
    assert resolve_encoder() == resolve_encoder(None)
    assert "MiniLM" in resolve_encoder().label


def test_local_path_reads_layer_count(tmp_path, monkeypatch):
    model_dir = tmp_path / "my-encoder"
    model_dir.mkdir()
    (model_dir / "config.json").write_text(json.dumps({"num_hidden_layers": 3}))
    monkeypatch.setenv(ENV_VAR, str(model_dir))
    enc = resolve_encoder()
    assert enc == Encoder(str(model_dir.resolve()), 3, "my-encoder (layer 3)")


def test_local_path_without_config_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="config.json"):
        resolve_encoder(str(tmp_path))


def test_default_path_given_explicitly_keeps_default_label():
    default = resolve_encoder()
    assert resolve_encoder(default.model_type) == default


# --- real run (offline MiniLM) ------------------------------------------------------------

@pytest.fixture(scope="module")
def real_scores() -> dict[str, dict[str, float]]:
    clear_cache()
    refs = [ref for ref, _ in PAIRS.values()]
    preds = [pred for _, pred in PAIRS.values()]
    out = bertscore(refs, preds)
    assert set(out) == {"precision", "recall", "f1", "encoder"}
    assert "MiniLM" in out["encoder"]
    return {
        name: {"precision": out["precision"][i], "recall": out["recall"][i], "f1": out["f1"][i]}
        for i, name in enumerate(PAIRS)
    }


def test_identical_strings_score_one(real_scores):
    assert real_scores["identical"]["f1"] > 0.99
    assert real_scores["identical"]["precision"] > 0.99
    assert real_scores["identical"]["recall"] > 0.99


def test_paraphrase_beats_unrelated(real_scores):
    assert real_scores["paraphrase"]["f1"] > real_scores["unrelated"]["f1"]
    assert real_scores["paraphrase"]["f1"] < real_scores["identical"]["f1"]


def test_empty_prediction_scores_zero(real_scores):
    for name in ("empty", "blank"):
        assert real_scores[name] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_garbage_predictions_are_finite(real_scores):
    for name in ("punctuation", "long_garbage"):
        for value in real_scores[name].values():
            assert math.isfinite(value) and -1.0 <= value <= 1.0
        assert real_scores[name]["f1"] < real_scores["paraphrase"]["f1"]


def test_loaded_scorer_matches_bert_score_score_and_loads_once(real_scores, monkeypatch):
    """The process-wide scorer gives bert_score.score's numbers; a second text set reuses it."""
    import bert_score

    refs = [ref for ref, _ in PAIRS.values() if ref.strip()]
    preds = [PAIRS[n][1] for n, (ref, _) in PAIRS.items() if ref.strip()]
    keep = [i for i in range(len(refs)) if preds[i].strip()]
    enc = resolve_encoder()
    p, r, f = bert_score.score([preds[i] for i in keep], [refs[i] for i in keep],
                               model_type=enc.model_type, num_layers=enc.num_layers,
                               use_fast_tokenizer=True, lang=None)
    names = [n for n, (ref, _) in PAIRS.items() if ref.strip()]
    for j, i in enumerate(keep):
        assert real_scores[names[i]]["f1"] == pytest.approx(float(f[j]), abs=1e-6)
        assert real_scores[names[i]]["precision"] == pytest.approx(float(p[j]), abs=1e-6)
        assert real_scores[names[i]]["recall"] == pytest.approx(float(r[j]), abs=1e-6)
    loads: list[str] = []
    real_init = bert_score.BERTScorer.__init__

    def counting_init(self, *args, **kwargs):
        loads.append(kwargs.get("model_type"))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(bert_score.BERTScorer, "__init__", counting_init)
    bertscore(["The plant opens in May."], ["The factory opens in May."])
    assert loads == []  # the encoder loaded by real_scores is reused, not read from disk again


# --- batching and memoisation (bert_score.BERTScorer replaced by a counting fake) ---------

class _Calls(list):
    """The fake scorer's score calls; `.loads` counts how often an encoder was loaded."""

    def __init__(self):
        super().__init__()
        self.loads: list[dict] = []


@pytest.fixture
def fake_score(monkeypatch):
    import bert_score

    calls = _Calls()

    class FakeScorer:
        def __init__(self, **kwargs):
            self.kwargs = kwargs
            calls.loads.append(kwargs)

        def score(self, cands, refs, **kwargs):
            calls.append({"cands": list(cands), "refs": list(refs), **self.kwargs, **kwargs})
            n = len(cands)
            return [0.5] * n, [0.25] * n, [1 / 3] * n

    monkeypatch.setattr(bert_score, "BERTScorer", FakeScorer)
    clear_cache()
    yield calls
    clear_cache()


def test_one_batched_call_and_cache(fake_score):
    refs, preds = ["r1", "r2", "r3"], ["p1", "", "p3"]
    first = bertscore(refs, preds)
    assert len(fake_score) == 1
    call = fake_score[0]
    # the empty prediction is not sent; the rest go in one call, MiniLM layer 6, no rescaling
    assert call["cands"] == ["p1", "p3"] and call["refs"] == ["r1", "r3"]
    assert call["num_layers"] == 6 and call["lang"] is None and call["use_fast_tokenizer"]
    assert "rescale_with_baseline" not in call
    assert first["precision"] == [0.5, 0.0, 0.5]
    assert first["recall"] == [0.25, 0.0, 0.25]
    assert first["f1"] == pytest.approx([1 / 3, 0.0, 1 / 3])

    # lm-eval aggregates P, R and F1 separately: the same items are scored only once
    again = bertscore(refs, preds)
    corpus = [bertscore_corpus(refs, preds)[k] for k in ("precision", "recall", "f1")]
    assert len(fake_score) == 1
    assert again == first
    # corpus means include the empty pair as 0: P = (0.5+0+0.5)/3 = 1/3, R = 0.5/3, F = (2/3)/3
    assert corpus == pytest.approx([1 / 3, 0.5 / 3, 2 / 9])
    assert bertscore_corpus(refs, preds)["n"] == 3

    # mutating a returned list does not corrupt the cache
    again["f1"][0] = 99.0
    assert bertscore(refs, preds)["f1"][0] == pytest.approx(1 / 3)

    # different texts -> a new call, but the encoder is loaded once per process
    bertscore(refs, ["p1", "p2", "p3"])
    assert len(fake_score) == 2
    assert len(fake_score.loads) == 1


def test_cache_is_keyed_by_encoder(fake_score, monkeypatch):
    bertscore(["r"], ["p"])
    monkeypatch.setenv(ENV_VAR, "roberta-large")
    out = bertscore(["r"], ["p"])
    assert len(fake_score) == 2
    assert fake_score[1]["model_type"] == "roberta-large" and fake_score[1]["num_layers"] == 17
    assert out["encoder"] == "roberta-large (layer 17)"


def test_empty_inputs(fake_score):
    assert bertscore([], []) == {
        "precision": [], "recall": [], "f1": [], "encoder": resolve_encoder().label
    }
    corpus = bertscore_corpus([], [])
    assert corpus["n"] == 0 and math.isnan(corpus["f1"])
    only_empty = bertscore(["r1", "r2"], ["", " "])
    assert only_empty["f1"] == [0.0, 0.0]
    assert fake_score == []  # nothing to encode -> bert_score never called


def test_length_mismatch(fake_score):
    with pytest.raises(ValueError):
        bertscore(["a", "b"], ["a"])


def test_package_attribute_is_the_function():
    # `ftbench.metrics.bertscore` (attribute) is the function; the module is reached via
    # `from ftbench.metrics.bertscore import ...` or sys.modules
    import ftbench.metrics

    module = sys.modules["ftbench.metrics.bertscore"]
    assert ftbench.metrics.bertscore is bertscore is module.bertscore
