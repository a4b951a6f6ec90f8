"""Model specifications (`NAME=PATH` or `NAME=BASE::ADAPTER`) and their lm-eval model_args.

Generation settings are not here on purpose: they come from the task YAML, so every model and
every backend gets the same greedy decoding, max tokens and stop sequences. What differs between
models is how a prompt reaches them: `chat_template` (`auto`: the tokenizer's template when it has
one; `none`: plain text, as for a base model) and `add_bos_token` (None: the tokenizer's default),
given per model as `NAME=PATH[chat_template=none,add_bos_token=true]` or as study config keys.
A model alias (`smollm2`) or a `.gguf` path is converted once to a cached HF directory
(ftbench.core.model_sources) and the spec names that directory.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ftbench.core.io import InputError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CHAT_TEMPLATES = ("auto", "none")
_BOOLS = {"true": True, "false": False}
RESERVED_NAMES = frozenset({"index.json"})  # files of the results directory itself


@dataclass(frozen=True)
class ModelSpec:
    """One model of a study: a merged checkpoint / hub id, or a base plus a LoRA adapter."""

    name: str
    pretrained: str
    adapter: str | None = None
    dtype: str = "auto"
    chat_template: str = "auto"        # "auto" | "none"
    add_bos_token: bool | None = None  # None: the tokenizer's own default
    # what the model is (ftbench.core.run_manifest.RunManifest as a dict), when a study knows it;
    # recorded with the results for the report, no effect on how the model is evaluated
    run: dict | None = None
    # engine knobs passed through to lm-eval's model_args (study `models[].model_args`; checked
    # against ftbench.eval.backends.MODEL_ARGS); part of the model's run fingerprint
    extra_args: dict | None = None
    # a hub base's revision to pin (branch, tag or commit; None: main); the commit it names is
    # part of the model's fingerprint and is what the engine loads (ftbench.core.hub)
    revision: str | None = None
    # the tasks of the invocation this model is evaluated on (None: all): a study's variants
    # evaluate a model fine-tuned on one part of a suite's data on that part's tasks only
    tasks: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.tasks is not None:
            object.__setattr__(self, "tasks", tuple(self.tasks))
        if not _NAME_RE.match(self.name):
            raise InputError(f"model name {self.name!r}: use letters, digits, '.', '_' or '-'")
        if self.chat_template not in CHAT_TEMPLATES:
            raise InputError(f"model {self.name!r}: chat_template must be auto or none, "
                             f"got {self.chat_template!r}")
        if self.add_bos_token is not None and not isinstance(self.add_bos_token, bool):
            raise InputError(f"model {self.name!r}: add_bos_token must be true, false or null, "
                             f"got {self.add_bos_token!r}")
        if self.name in RESERVED_NAMES:
            raise InputError(f"model name {self.name!r} is reserved (a file of the results "
                             "directory); choose another name")

    def to_dict(self) -> dict:
        """The spec as recorded with its results (`tasks` only when set, so records of models
        evaluated on every task read as before)."""
        d = asdict(self)
        if d["tasks"] is None:
            del d["tasks"]
        else:
            d["tasks"] = list(d["tasks"])
        return d

    def own_tasks(self, leaf: list[str]) -> list[str]:
        """The invocation's leaf tasks this model is evaluated on, in their order."""
        return list(leaf) if self.tasks is None else [t for t in leaf if t in self.tasks]

    def hub_revision(self) -> str | None:
        """The revision asked for: the spec's own, else a passthrough `revision` model arg."""
        return self.revision or (self.extra_args or {}).get("revision")

    def model_args(self, backend: str, on_cpu: bool, context_length: int | None = None,
                   extra: dict | None = None) -> dict:
        """lm-eval model_args; `context_length` (from the model, `ftbench.core.context`) is
        passed to both engines (hf `max_length`, vLLM `max_model_len`) so they see the same.
        `extra`: the passthrough args (study-wide merged with this model's own); a context key
        among them has already become `context_length`."""
        args = self._own_model_args(backend, on_cpu, context_length)
        from ftbench.eval.backends import CONTEXT_ARGS

        args.update({k: v for k, v in (extra or {}).items() if k not in CONTEXT_ARGS.values()})
        return args

    def _own_model_args(self, backend: str, on_cpu: bool, context_length: int | None) -> dict:
        dtype = "float32" if on_cpu and self.dtype == "auto" else self.dtype
        args: dict = {"pretrained": self.pretrained, "dtype": dtype}
        if self.add_bos_token is not None:  # hf and vllm pass it to the tokenizer
            args["add_bos_token"] = self.add_bos_token
        if context_length is not None:
            args["max_length" if backend == "hf" else "max_model_len"] = context_length
        if backend == "hf":
            if self.adapter:
                args["peft"] = self.adapter
            return args
        if backend == "vllm":
            args["seed"] = 1234
            if on_cpu:
                args["enforce_eager"] = True
            else:
                args["gpu_memory_utilization"] = 0.8
            if self.adapter:
                args.update({"lora_local_path": self.adapter,
                             "max_lora_rank": _adapter_rank(self.adapter)})
            return args
        raise ValueError(f"unknown backend {backend!r}")


# the `max_lora_rank` values vLLM accepts (vllm.config.lora.MaxLoRARanks)
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def adapter_rank(adapter: str) -> int | None:
    """The LoRA rank `r` of an adapter folder (None: no readable adapter_config.json)."""
    cfg = Path(adapter) / "adapter_config.json"
    try:
        return int(json.loads(cfg.read_text())["r"])
    except (OSError, KeyError, ValueError, TypeError):
        return None


def vllm_lora_rank(rank: int) -> int | None:
    """The smallest `max_lora_rank` vLLM accepts that holds `rank` (None: above vLLM's largest)."""
    return next((r for r in VLLM_LORA_RANKS if r >= rank), None)


def _adapter_rank(adapter: str) -> int:
    rank = adapter_rank(adapter)
    if rank is None:
        return 64
    return max(8, 1 << (rank - 1).bit_length())  # vLLM accepts powers of two


def parse_model_spec(text: str) -> ModelSpec:
    """`NAME=PATH`, `NAME=BASE::ADAPTER`, or a bare PATH (name = last path part), each optionally
    followed by `[chat_template=none,add_bos_token=true]`."""
    text, options = _split_options(text)
    name, sep, rest = text.partition("=")
    if not sep:
        name, rest = Path(text.rstrip("/")).name or text, text
    base, _, adapter = rest.partition("::")
    if not base:
        raise InputError(f"model spec {text!r}: expected NAME=PATH or NAME=BASE::ADAPTER")
    from ftbench.core.model_sources import check_model_source, is_model_source, resolve_model_path

    base = base.strip()
    if is_model_source(base):
        check_model_source(base)
        base = resolve_model_path(base)
    return ModelSpec(name=name.strip(), pretrained=_local_or_id(base), adapter=_local_or_id(adapter),
                     **options)


def _split_options(text: str) -> tuple[str, dict]:
    """`SPEC[key=value,...]` → (SPEC, {key: value}); keys: chat_template, add_bos_token,
    revision (of a hub model)."""
    text = text.strip()
    if not text.endswith("]") or "[" not in text:
        return text, {}
    head, _, body = text[:-1].partition("[")
    options: dict = {}
    for item in filter(None, (p.strip() for p in body.split(","))):
        key, sep, value = (s.strip() for s in item.partition("="))
        if key in ("chat_template", "revision") and sep and value:
            options[key] = value
        elif key == "add_bos_token" and value.lower() in (*_BOOLS, "null", "none"):
            options[key] = _BOOLS.get(value.lower())
        else:
            raise InputError(f"model spec {text!r}: option {item!r} is not chat_template=auto|none, "
                             "add_bos_token=true|false|null or revision=BRANCH|TAG|COMMIT")
    return head, options


def _local_or_id(text: str) -> str | None:
    """Existing local paths become absolute (the index must not depend on the cwd)."""
    text = text.strip()
    if not text:
        return None
    return str(Path(text).resolve()) if Path(text).exists() else text


def _split_list(text: str) -> list[str]:
    """Split on commas outside `[...]` (options hold commas too)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p for p in (*parts, cur) if p.strip()]


def parse_model_list(text: str) -> list[ModelSpec]:
    specs = [parse_model_spec(part) for part in _split_list(text)]
    names = [s.name for s in specs]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise InputError(f"--models: duplicate model name(s) {', '.join(sorted(dupes))}")
    return specs


def prompt_settings(spec_dict: dict) -> dict:
    """The per-model prompt settings of a recorded spec (absent in older records = defaults)."""
    return {"chat_template": spec_dict.get("chat_template", "auto"),
            "add_bos_token": spec_dict.get("add_bos_token")}
