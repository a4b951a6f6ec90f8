"""Model family, parameter count and train size: from columns, a mapping, manifests, configs, names.

The analysis groups by these three facts. A study states them in each model's run manifest
(`ftbench.core.run_manifest`); explicit facts (table columns, the user's mapping file) still win
over it. Without a manifest (a flat table from elsewhere, an older study) they are inferred:
training-run directories, the model's own config / safetensors header, and last the name
pattern, e.g. `qwen3-0.6b-2000` — and the report notes every fact guessed from a name. Each
model records where each fact came from, so a surprising grouping can be traced.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from ftbench.core.io import InputError
from ftbench.core.run_manifest import RunManifest, safetensors_params

FIELDS = ("family", "params_b", "train_size")
_PARAMS_RE = re.compile(r"^(\d+(?:\.\d+)?)([bm])$", re.IGNORECASE)
_METHODS = ("qlora", "lora", "full", "base", "sft", "dora")


def parse_name(name: str) -> dict:
    """Facts a name like `qwen3-0.6b-2000`, `llama-3.2-1b-500` or `tiny-lora-16` implies.

    Returns keys family, params_b, train_size, base_model, method (only those found). The
    family is the text before the size token (`llama-3.2` -> `Llama 3.2`); the train size is a
    trailing integer; `base_model` is the name without that integer (the scaling series key).
    """
    tokens = [t for t in re.split(r"[-_/\s]+", name) if t]
    out: dict = {}
    if len(tokens) > 1 and tokens[-1].isdigit():
        out["train_size"] = int(tokens[-1])
        tokens = tokens[:-1]
    out["base_model"] = "-".join(tokens) if tokens else name
    size_at = next((i for i, t in enumerate(tokens) if _PARAMS_RE.match(t)), None)
    if size_at is not None:
        value, unit = _PARAMS_RE.match(tokens[size_at]).groups()
        out["params_b"] = float(value) / (1000.0 if unit.lower() == "m" else 1.0)
    head = tokens[:1] if size_at is None else tokens[:size_at]
    head = [t for t in head if t.lower() not in _METHODS]
    if head:
        out["family"] = " ".join(t[:1].upper() + t[1:] for t in head)
    method = next((t.lower() for t in tokens if t.lower() in _METHODS), None)
    if method:
        out["method"] = method
    return out


def manifest_facts(typed: RunManifest) -> dict:
    """The meta facts a run manifest states (a base has no train size and method "base")."""
    return {"family": typed.family, "params_b": typed.params_b, "train_size": typed.train_size,
            "base_model": typed.base_model,
            "method": typed.method or ("base" if typed.role == "base" else None)}


def load_mapping(path: Path | None) -> dict[str, dict]:
    """The user's YAML/JSON mapping `model -> {family, params_b, train_size}`; InputError if bad."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: mapping file not found")
    text = path.read_text(encoding="utf-8")
    import yaml

    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: not valid YAML/JSON ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InputError(f"{path}: expected a mapping model -> {{family, params_b, train_size}}")
    out: dict[str, dict] = {}
    for model, facts in data.items():
        unknown = set(facts) - set(FIELDS)
        if unknown:
            raise InputError(f"{path}: model {model!r} has unknown key(s) {', '.join(unknown)}; "
                             f"allowed: {', '.join(FIELDS)}")
        out[str(model)] = dict(facts)
    return out


def config_params(config: dict) -> int | None:
    """Estimated parameters of a Llama/Qwen-style decoder from config.json (attention, MLP,
    norms, embeddings; tied embeddings counted once). None when the keys are not there."""
    try:
        h, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
        inter = config["intermediate_size"]
    except KeyError:
        return None
    heads = config.get("num_attention_heads", 1)
    kv = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or h // heads
    attn = h * heads * head_dim * 2 + h * kv * head_dim * 2
    per_layer = attn + 3 * h * inter + 2 * h
    embed = vocab * h * (1 if config.get("tie_word_embeddings", False) else 2)
    return embed + layers * per_layer + h


def local_model_params(path: str | None) -> tuple[int | None, str]:
    """(parameters, source) for a local model directory; (None, '') when it is not local."""
    if not path or not Path(path).is_dir():
        return None, ""
    exact = safetensors_params(Path(path))
    if exact:
        return exact, "safetensors header"
    cfg = Path(path) / "config.json"
    if cfg.is_file():
        estimate = config_params(json.loads(cfg.read_text(encoding="utf-8")))
        if estimate:
            return estimate, "config.json estimate"
    return None, ""


def resolve(name: str, layers: list[tuple[str, dict]]) -> dict:
    """Merge facts for one model: `layers` is [(source, facts)] in priority order.

    Returns the fields plus `meta_source` ("family=column; params_b=name; ...").
    """
    out: dict = {}
    sources = []
    for field in (*FIELDS, "base_model", "method"):
        for source, facts in layers:
            value = facts.get(field)
            if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
                continue
            out[field] = value
            if field in (*FIELDS, "base_model"):
                sources.append(f"{field}={source}")
            break
    out.setdefault("base_model", name)
    if "train_size" in out:
        out["train_size"] = int(float(out["train_size"]))
    if "params_b" in out:
        out["params_b"] = float(out["params_b"])
    out["meta_source"] = "; ".join(sources)
    return out
