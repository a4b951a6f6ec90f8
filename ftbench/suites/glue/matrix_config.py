"""The GLUE matrix's own YAML format (before it became a study) as a study config mapping.

`ftbench glue CONFIG` kept its config format for the users who wrote one: `name, out_dir,
glue_data, eval_n, glue_seed, tasks, modes, decoders, encoders, eval, lora_train_n, lora,
encoder`. Each key has one place in a study of the glue suite:

| matrix key | study key |
|---|---|
| `glue_data` | `data.source` (else `$FTBENCH_GLUE_DATA`; the hub is not read by a study) |
| `lora_train_n`, `glue_seed` | `data.sizes: [N]`, `data.seed` (the LoRA train sample) |
| `tasks`, `modes` (less `encoder`), `eval.scoring`, `eval_n`, `glue_seed`, `encoder` | `suite_options` |
| `decoders` | `models` (kind `lm`) |
| `encoders` (with mode `encoder`) | `models` with `kind: encoder` |
| `eval` (less `scoring`) | `eval` |
| `lora` | `train` |

The study then checks every key as its own (errors name the study key).
"""

from __future__ import annotations

from ftbench.core.io import InputError
from ftbench.suites.glue.data import DEFAULT_SEED, ENV_DATA

KEYS = ("name", "out_dir", "glue_data", "eval_n", "glue_seed", "tasks", "modes", "decoders",
        "encoders", "eval", "lora_train_n", "lora", "encoder")
ENCODER = "encoder"


def is_matrix_config(mapping: dict) -> bool:
    """A matrix config names decoders / encoders; a study config names models."""
    return "models" not in mapping and ("decoders" in mapping or "encoders" in mapping)


def _group(mapping: dict, key: str) -> dict:
    value = mapping.get(key) or {}
    if not isinstance(value, dict):
        raise InputError(f"config key '{key}': expected a mapping, got {value!r}")
    return dict(value)


def _models(mapping: dict, key: str) -> list:
    value = mapping.get(key) or []
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise InputError(f"config key '{key}': expected a list of {{name, path}}, got {value!r}")
    return value


def study_mapping(mapping: dict) -> dict:
    """The study config of a matrix config (`StudyHooks.read_config`)."""
    unknown = [k for k in mapping if k not in KEYS]
    if unknown:
        raise InputError(f"unknown config key '{unknown[0]}'; valid keys: {', '.join(KEYS)}")
    modes = mapping.get("modes") or []
    if not isinstance(modes, list):
        raise InputError(f"config key 'modes': expected a list, got {modes!r}")
    # a study reads a local copy of GLUE: glue_data, else $FTBENCH_GLUE_DATA (named by the data
    # stage when it is not set)
    source = mapping.get("glue_data") or f"${ENV_DATA}"
    seed = mapping.get("glue_seed", DEFAULT_SEED)
    ev = {"backend": "hf", **_group(mapping, "eval")}  # the matrix's default engine
    options = {"tasks": mapping.get("tasks"), "modes": [m for m in modes if m != ENCODER],
               "eval_seed": seed, "encoder": _group(mapping, "encoder")}
    if "scoring" in ev:
        options["scoring"] = ev.pop("scoring")
    if "eval_n" in mapping:
        options["eval_n"] = mapping["eval_n"]
    decoders = _models(mapping, "decoders") if options["modes"] else []
    encoders = _models(mapping, "encoders") if ENCODER in modes else []
    if ENCODER in modes and not encoders:
        raise InputError("config key 'encoders': mode 'encoder' needs at least one encoder")
    if options["modes"] and not decoders:
        raise InputError("config key 'decoders': the decoder modes need at least one decoder")
    study = {"name": mapping.get("name"), "suite": "glue",
             "data": {"source": str(source), "sizes": [mapping.get("lora_train_n", 1000)],
                      "seed": seed},
             "suite_options": options,
             "models": [*decoders, *({**e, "kind": ENCODER} for e in encoders)],
             "eval": ev, "train": _group(mapping, "lora")}
    if mapping.get("out_dir"):
        study["out_dir"] = mapping["out_dir"]
    return study
