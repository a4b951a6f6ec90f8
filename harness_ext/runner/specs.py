"""Model specifications (`NAME=PATH` or `NAME=BASE::ADAPTER`) and their lm-eval model_args.

Generation settings are not here on purpose: they come from the task YAML, so every model and
every backend gets the same greedy decoding, max tokens and stop sequences.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from harness_ext.io import InputError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
RESERVED_NAMES = frozenset({"index.json"})  # files of the results directory itself


@dataclass(frozen=True)
class ModelSpec:
    """One model of a study: a merged checkpoint / hub id, or a base plus a LoRA adapter."""

    name: str
    pretrained: str
    adapter: str | None = None
    dtype: str = "auto"

    def __post_init__(self):
        if not _NAME_RE.match(self.name):
            raise InputError(f"model name {self.name!r}: use letters, digits, '.', '_' or '-'")
        if self.name in RESERVED_NAMES:
            raise InputError(f"model name {self.name!r} is reserved (a file of the results "
                             "directory); choose another name")

    def to_dict(self) -> dict:
        return asdict(self)

    def model_args(self, backend: str, on_cpu: bool) -> dict:
        dtype = "float32" if on_cpu and self.dtype == "auto" else self.dtype
        args: dict = {"pretrained": self.pretrained, "dtype": dtype}
        if backend == "hf":
            if self.adapter:
                args["peft"] = self.adapter
            return args
        if backend == "vllm":
            args.update({"max_model_len": 2048, "seed": 1234})
            if on_cpu:
                args["enforce_eager"] = True
            else:
                args["gpu_memory_utilization"] = 0.8
            if self.adapter:
                args.update({"lora_local_path": self.adapter,
                             "max_lora_rank": _adapter_rank(self.adapter)})
            return args
        raise ValueError(f"unknown backend {backend!r}")


def _adapter_rank(adapter: str) -> int:
    cfg = Path(adapter) / "adapter_config.json"
    try:
        rank = int(json.loads(cfg.read_text())["r"])
    except (OSError, KeyError, ValueError):
        return 64
    return max(8, 1 << (rank - 1).bit_length())  # vLLM accepts powers of two


def parse_model_spec(text: str) -> ModelSpec:
    """`NAME=PATH`, `NAME=BASE::ADAPTER`, or a bare PATH (name = last path part)."""
    name, sep, rest = text.partition("=")
    if not sep:
        name, rest = Path(text.rstrip("/")).name or text, text
    base, _, adapter = rest.partition("::")
    if not base:
        raise InputError(f"model spec {text!r}: expected NAME=PATH or NAME=BASE::ADAPTER")
    return ModelSpec(name=name.strip(), pretrained=_local_or_id(base), adapter=_local_or_id(adapter))


def _local_or_id(text: str) -> str | None:
    """Existing local paths become absolute (the index must not depend on the cwd)."""
    text = text.strip()
    if not text:
        return None
    return str(Path(text).resolve()) if Path(text).exists() else text


def parse_model_list(text: str) -> list[ModelSpec]:
    specs = [parse_model_spec(part) for part in text.split(",") if part.strip()]
    names = [s.name for s in specs]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise InputError(f"--models: duplicate model name(s) {', '.join(sorted(dupes))}")
    return specs
