"""The typed run manifest: what a model *is*, stated by whoever made it, read by the report.

Training writes one into each run's `manifest.json` (key `run_manifest`, beside the older keys,
which stay); the study copies it into the spec of every model it evaluates (`spec.run` in
`index.json`, `status.json` and each results file's `ftbench.model`), and writes one for each
base model it evaluates. The report pairs fine-tuned models with their base and reads train
size, family and parameter count from here, so a model name never decides them (name patterns
are only a fallback for flat tables from elsewhere, and the report says when it used them).

This module imports nothing heavy: the report reads it without training's dependencies.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ftbench.core.io import InputError

MANIFEST_KEY = "run_manifest"  # in a training run's manifest.json
VERSION = 1
ROLES = ("base", "fine-tuned")


@dataclass(frozen=True)
class RunManifest:
    """Facts of one evaluated model (version 1)."""

    role: str                    # "base" (evaluated as it came) | "fine-tuned"
    base_model: str              # the base's name in the study / training grid (series key)
    base_model_path: str         # the base's weights as loaded (resolved local dir, or hub id)
    family: str | None           # architecture family of the base: config.json `model_type`
    params: int | None           # parameters of the evaluated checkpoint (safetensors headers)
    method: str | None = None    # lora | qlora | full; None for a base
    train_size: int | None = None  # training articles; None for a base
    run: str | None = None       # training run name (= evaluated model name in a study)
    trainable_params: int | None = None
    final_train_loss: float | None = None
    eval_loss_before: float | None = None
    eval_loss_after: float | None = None
    base_evaluated_as: str | None = None  # the study's evaluated base this run is compared with
    version: int = VERSION

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")
        if self.role == "fine-tuned" and (self.method is None or self.train_size is None):
            raise ValueError("a fine-tuned model's manifest needs method and train_size")

    @property
    def params_b(self) -> float | None:
        return self.params / 1e9 if self.params else None

    def to_dict(self) -> dict:
        return asdict(self)

    def with_base(self, evaluated_as: str | None) -> RunManifest:
        return replace(self, base_evaluated_as=evaluated_as)

    @classmethod
    def from_dict(cls, data: object, where: str) -> RunManifest:
        """Checked reading: InputError naming `where` and the key for anything unexpected."""
        if not isinstance(data, dict):
            raise InputError(f"{where}: run manifest must be a mapping, got {type(data).__name__}")
        if data.get("version") != VERSION:
            raise InputError(f"{where}: run manifest version {data.get('version')!r} is not "
                             f"{VERSION} (written by another ftbench); re-run training or the "
                             "study with this version")
        types = {"role": str, "base_model": str, "base_model_path": str, "family": str,
                 "params": int, "method": str, "train_size": int, "run": str,
                 "trainable_params": int, "final_train_loss": float, "eval_loss_before": float,
                 "eval_loss_after": float, "base_evaluated_as": str, "version": int}
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InputError(f"{where}: run manifest key '{unknown[0]}' is unknown")
        for key in ("role", "base_model", "base_model_path"):
            if data.get(key) in (None, ""):
                raise InputError(f"{where}: run manifest key '{key}' is required")
        for key, value in data.items():
            want = types[key]
            ok = value is None or (isinstance(value, want) and not isinstance(value, bool)) or (
                want is float and isinstance(value, int) and not isinstance(value, bool))
            if not ok:
                raise InputError(f"{where}: run manifest key '{key}' must be "
                                 f"{want.__name__}, got {value!r}")
        try:
            return cls(**data)
        except ValueError as exc:
            raise InputError(f"{where}: run manifest {exc}") from None


def read_run_manifest(run_dir: Path) -> RunManifest | None:
    """The typed block of a training run directory; None when the run predates it."""
    path = Path(run_dir) / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    block = data.get(MANIFEST_KEY) if isinstance(data, dict) else None
    return None if block is None else RunManifest.from_dict(block, f"{path}: {MANIFEST_KEY}")


def safetensors_params(model_dir: Path) -> int | None:
    """Exact parameter count from the safetensors headers (no tensor is loaded)."""
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for f in files:
        with f.open("rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(size))
        for name, info in header.items():
            if name != "__metadata__":
                total += math.prod(info.get("shape", []))
    return total


def model_family(model_dir: Path | str) -> str | None:
    """config.json `model_type` of a local model (a text config's, for multimodal wrappers)."""
    path = Path(model_dir) / "config.json"
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    text = cfg.get("text_config") if isinstance(cfg.get("text_config"), dict) else {}
    family = text.get("model_type") or cfg.get("model_type")
    return str(family) if family else None


def base_manifest(name: str, path: str) -> RunManifest:
    """The manifest of a base model evaluated as it came (`path`: its resolved weights; a hub
    id is read from its cached snapshot, when one is there)."""
    files = model_files_dir(path)
    return RunManifest(role="base", base_model=name, base_model_path=path,
                       family=model_family(files) if files else None,
                       params=safetensors_params(files) if files else None)


def model_files_dir(path: str) -> Path | None:
    """A model's local folder: the path itself, or a hub id's cached snapshot (None: neither)."""
    return Path(path) if Path(path).is_dir() else _cached_snapshot(path)


def _cached_snapshot(repo_id: str) -> Path | None:
    from ftbench.core.hub import cached_commit, is_hub_id, snapshot_dir

    if not is_hub_id(repo_id):
        return None
    commit = cached_commit(repo_id)
    return snapshot_dir(repo_id, commit) if commit else None
