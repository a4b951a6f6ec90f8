"""A local model or adapter folder checked before any work: its files, not its numbers.

Why: a folder without `config.json`, an adapter folder given as a model, a truncated
`model.safetensors` or missing tokenizer files otherwise fail only at that model's turn, after
training and the other models' evaluations, in the library's words (`Unrecognized model`,
`incomplete metadata, file not fully covered`). Here each is one line naming the file, and an
adapter folder is pointed to `NAME=BASE::ADAPTER`. Only headers are read (a few KB per file).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from ftbench.core.io import InputError

ADAPTER_CONFIG = "adapter_config.json"
# one of these makes a tokenizer transformers can load (fast, sentencepiece, BPE, WordPiece)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "spiece.model", "vocab.json", "vocab.txt")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_MAX_HEADER = 100 << 20  # safetensors' own limit on the JSON header


def check_model_dir(path: Path, where: str) -> None:
    """A model folder: config.json with a model_type, readable weight headers, tokenizer files."""
    entries = sorted(p.name for p in path.iterdir() if not p.name.startswith("."))
    if not entries:
        raise InputError(f"{where}: {path} is an empty folder; a model folder holds config.json, "
                         "weights (*.safetensors) and tokenizer files")
    if "config.json" not in entries and ADAPTER_CONFIG in entries:
        base = _json(path / ADAPTER_CONFIG).get("base_model_name_or_path") or "BASE"
        raise InputError(f"{where}: {path} is a LoRA adapter folder ({ADAPTER_CONFIG}), not a "
                         f"model; evaluate it with its base: ftbench eval --models NAME={base}::{path}")
    if "config.json" not in entries:
        raise InputError(f"{where}: {path / 'config.json'} not found; a model folder holds "
                         f"config.json, weights and tokenizer files (it has {_few(entries)})")
    config = _json(path / "config.json")
    if not config.get("model_type"):
        raise InputError(f"{where}: {path / 'config.json'}: key 'model_type' is missing")
    _check_weights(path, entries, where, "model")
    if not any(name in entries for name in TOKENIZER_FILES):
        raise InputError(f"{where}: {path} has no tokenizer files (one of "
                         f"{', '.join(TOKENIZER_FILES)}); copy them from the model's source")


def check_adapter_dir(path: Path, where: str) -> None:
    """An adapter folder: adapter_config.json and readable adapter weights."""
    entries = sorted(p.name for p in path.iterdir() if not p.name.startswith("."))
    if ADAPTER_CONFIG not in entries:
        raise InputError(f"{where}: {path / ADAPTER_CONFIG} not found; ADAPTER in "
                         "NAME=BASE::ADAPTER is a LoRA adapter folder (peft's save_pretrained)")
    _json(path / ADAPTER_CONFIG)
    _check_weights(path, entries, where, "adapter")


def _check_weights(path: Path, entries: list[str], where: str, what: str) -> None:
    weights = [name for name in entries if name.endswith(WEIGHT_SUFFIXES)]
    if not weights:
        raise InputError(f"{where}: {path} has no {what} weights (*.safetensors)")
    index = path / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set((_json(index).get("weight_map") or {}).values()))
        missing = [s for s in shards if not (path / s).is_file()]
        if missing:
            raise InputError(f"{where}: {path / missing[0]} not found ({index.name} lists "
                             f"{len(shards)} shard(s), {len(missing)} missing)")
    for name in weights:
        if name.endswith(".safetensors"):
            check_safetensors(path / name, where)


def check_safetensors(file: Path, where: str) -> None:
    """The header parses and the file holds every byte its tensors' offsets name."""
    size = file.stat().st_size
    try:
        with file.open("rb") as fh:
            head = fh.read(8)
            (n,) = struct.unpack("<Q", head) if len(head) == 8 else (None,)
            if n is None or n > min(size - 8, _MAX_HEADER):
                raise ValueError("no complete header")
            header = json.loads(fh.read(n))
        end = max((int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"),
                  default=0)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, struct.error) as exc:
        raise InputError(f"{where}: {file}: not a readable safetensors file ({exc}); copy it "
                         "again") from None
    if size < 8 + n + end:
        raise InputError(f"{where}: {file}: truncated ({size:,} bytes, its header names "
                         f"{8 + n + end:,}); copy it again")


def _json(file: Path) -> dict:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{file}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{file}: expected a JSON object, got {type(data).__name__}")
    return data


def _few(names: list[str]) -> str:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
