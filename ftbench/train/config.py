"""Training config: YAML keys map one-to-one to typed dataclasses, validated on construction.

Why dataclasses and not a dict: a typo or a wrong type must fail *before* a model is loaded, with a
message naming the key (litgpt style). Nothing in a config is ever executed; `key=value` overrides
from the command line go through the same typed path as the file.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ftbench.core.io import InputError, read_text

METHODS = ("lora", "qlora", "full")
BACKENDS = ("auto", "peft", "unsloth")
LOSS_MASKS = ("auto", "assistant", "completion")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
CHAT_TEMPLATES = ("auto", "none")
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup")
DEFAULT_SIZES = [500, 1000, 1500, 2000]
DEFAULT_LORA_DROPOUT = 0.05


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise InputError(f"config key '{key}': {message}")


def slugify(model: str) -> str:
    """Short run-name part from a hub id or a path: 'unsloth/Llama-3.2-1B-Instruct' → 'llama-3.2-1b-instruct'."""
    last = model.rstrip("/\\").replace("\\", "/").split("/")[-1]
    return re.sub(r"[^a-z0-9.]+", "-", last.lower()).strip("-.") or "model"


@dataclass
class LoraSettings:
    """LoRA adapter shape; used by `lora` and `qlora` (ignored by `full`)."""

    r: int = 16
    alpha: int = 32
    dropout: float | None = None  # null: 0.05 with peft, 0 with unsloth (its fast kernels need 0)
    target_modules: list[str] | str = "all-linear"

    def __post_init__(self) -> None:
        _check(self.r > 0, "lora.r", f"must be a positive integer, got {self.r}")
        _check(self.alpha > 0, "lora.alpha", f"must be positive, got {self.alpha}")
        _check(self.dropout is None or 0.0 <= self.dropout < 1.0, "lora.dropout",
               f"must be in [0, 1) or null, got {self.dropout}")
        _check(bool(self.target_modules), "lora.target_modules",
               "must be 'all-linear' or a non-empty list of module names")

    def effective_dropout(self, backend: str) -> float:
        if self.dropout is not None:
            return self.dropout
        return 0.0 if backend == "unsloth" else DEFAULT_LORA_DROPOUT


@dataclass
class ModelEntry:
    """One model of the grid: a hub id, a local directory, a model alias (`smollm2`) or a `.gguf`
    file, the short name used in run names, and (optionally) its own prompt settings."""

    path: str
    name: str | None = None
    chat_template: str | None = None   # None: the config's `chat_template`
    add_bos_token: bool | None = None  # None: the config's `add_bos_token`
    revision: str | None = None        # a hub model's branch, tag or commit (None: main)

    def __post_init__(self) -> None:
        from ftbench.core.model_sources import check_model_source

        _check(bool(self.path.strip()), "grid.models.path", "must not be empty")
        _check(self.chat_template in (None, *CHAT_TEMPLATES), "grid.models.chat_template",
               f"must be auto or none, got {self.chat_template!r}")
        try:
            check_model_source(self.path)
        except InputError as exc:
            raise InputError(f"config key 'grid.models.path': {exc}") from None
        self.name = self.name or slugify(self.path)
        _check(re.fullmatch(r"[A-Za-z0-9._-]+", self.name) is not None, "grid.models.name",
               f"{self.name!r} may only hold letters, digits, '.', '_' and '-' (it names a directory)")


@dataclass
class GridSettings:
    """Models × train sizes; each pair is one run named `<model-name>-<size>`."""

    models: list[ModelEntry]
    sizes: list[int] = field(default_factory=lambda: list(DEFAULT_SIZES))

    def __post_init__(self) -> None:
        _check(bool(self.models), "grid.models", "must list at least one model")
        _check(bool(self.sizes) and all(s > 0 for s in self.sizes), "grid.sizes",
               f"must be a non-empty list of positive integers, got {self.sizes}")


@dataclass(frozen=True)
class RunSpec:
    """One training run of a config (the grid expanded)."""

    name: str
    model_path: str
    model_name: str
    train_size: int
    chat_template: str = "auto"        # "none": train and evaluate with plain prompts
    add_bos_token: bool | None = None  # None: the tokenizer's default
    revision: str | None = None        # a hub base's branch, tag or commit (None: main)


@dataclass
class TrainConfig:
    """Every setting of `ftbench train`; see docs/training.md for each key."""

    output_dir: str = "runs"
    data_dir: str = "data/prepared"
    base_model: str | None = None
    model_name: str | None = None
    train_size: int | None = None
    grid: GridSettings | None = None
    method: str = "lora"
    backend: str = "auto"
    lora: LoraSettings = field(default_factory=LoraSettings)
    learning_rate: float = 2e-4
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 4
    grad_accum: int = 1
    max_seq_length: int = 1024
    warmup_ratio: float = 0.03
    lr_scheduler: str = "cosine"
    weight_decay: float = 0.0
    logging_steps: int = 10
    eval_fraction: float = 0.1
    eval_steps: int | None = None
    seed: int = 42
    precision: str = "auto"
    gradient_checkpointing: bool | None = None  # null: on with CUDA (memory), off on CPU (time)
    loss_mask: str = "auto"
    chat_template: str = "auto"
    add_bos_token: bool | None = None
    threads: int | None = None  # torch intra-op threads; null: OMP_NUM_THREADS, else allowed CPUs

    def __post_init__(self) -> None:
        for key, choices in (("method", METHODS), ("backend", BACKENDS), ("loss_mask", LOSS_MASKS),
                             ("precision", PRECISIONS), ("lr_scheduler", SCHEDULERS),
                             ("chat_template", CHAT_TEMPLATES)):
            value = getattr(self, key)
            _check(value in choices, key, f"must be one of {', '.join(choices)}; got {value!r}")
        _check(self.learning_rate > 0, "learning_rate", "must be positive")
        _check(self.epochs > 0, "epochs", "must be positive")
        _check(self.max_steps is None or self.max_steps > 0, "max_steps", "must be positive or null")
        for key in ("batch_size", "grad_accum", "max_seq_length", "logging_steps"):
            _check(getattr(self, key) > 0, key, "must be a positive integer")
        _check(self.eval_steps is None or self.eval_steps > 0, "eval_steps", "must be positive or null")
        _check(self.threads is None or self.threads > 0, "threads", "must be positive or null")
        _check(0.0 <= self.eval_fraction < 0.5, "eval_fraction", "must be in [0, 0.5)")
        _check(0.0 <= self.warmup_ratio < 1.0, "warmup_ratio", "must be in [0, 1)")
        _check(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        if self.grid is not None:
            for key in ("base_model", "model_name", "train_size"):
                _check(getattr(self, key) is None, key,
                       "give either base_model/model_name/train_size (one run) or grid (many), not both")
        else:
            _check(bool(self.base_model), "base_model", "is required when there is no grid")
            _check(self.train_size is None or self.train_size > 0, "train_size", "must be positive")
        self.runs()  # validates model names and duplicate run names

    def runs(self) -> list[RunSpec]:
        """The grid expanded in order (model-major), or the single run."""
        if self.grid is None:
            entry = ModelEntry(path=self.base_model or "", name=self.model_name)
            pairs = [(entry, self.train_size or DEFAULT_SIZES[0])]
        else:
            pairs = [(m, s) for m in self.grid.models for s in self.grid.sizes]
        specs = [RunSpec(f"{m.name}-{s}", m.path, m.name or "", s,
                         chat_template=m.chat_template or self.chat_template,
                         add_bos_token=(self.add_bos_token if m.add_bos_token is None
                                        else m.add_bos_token), revision=m.revision)
                 for m, s in pairs]
        names = [s.name for s in specs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        _check(not dupes, "grid.models", f"duplicate run names {dupes}: give the models distinct `name`s")
        return specs

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def effective_gradient_checkpointing(self, device: str) -> bool:
        """On a GPU activations are what runs out (an 8 B model at batch 8 × 2,048 tokens needs
        100+ GB without it); on a CPU it only recomputes, so it is off there."""
        if self.gradient_checkpointing is not None:
            return self.gradient_checkpointing
        return device == "cuda"

    def effective(self, backend: str, device: str) -> dict[str, Any]:
        """`to_dict` with every null "pick for me" setting replaced by what it picks on this
        backend and device: what a run is really trained with (its fingerprint records this)."""
        d = self.to_dict()
        d["gradient_checkpointing"] = self.effective_gradient_checkpointing(device)
        d["lora"]["dropout"] = self.lora.effective_dropout(backend)
        return d


# --- typed construction from plain data ---------------------------------------------------------

class NotFinite(InputError):
    """A number that is inf or nan: no setting means that, so no option of a union may take it."""


def finite(value: float, key: str) -> float:
    """`value` when it is a finite number; `.inf` / `.nan` (YAML) or `inf` / `nan` are refused."""
    if not math.isfinite(value):
        raise NotFinite(f"config key '{key}': must be a finite number, got {value}")
    return value


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check (and where unambiguous, convert) `value` against the annotation `tp`."""
    if tp is typing.Any:  # a group its owner checks itself (a study's `suite_options`)
        return value
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None:
            if type(None) in options:
                return None
            raise InputError(f"config key '{key}': must not be null")
        real = [o for o in options if o is not type(None)]
        if len(real) == 1:  # `X | None`: report X's own error (e.g. an unknown key inside `grid`)
            return _coerce(value, real[0], key)
        for option in real:
            try:
                return _coerce(value, option, key)
            except NotFinite:
                raise
            except InputError:
                continue
        raise InputError(f"config key '{key}': expected {_type_name(tp)}, got {value!r}")
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise InputError(f"config key '{key}': expected a list, got {value!r}")
        return [_coerce(v, item_tp, key) for v in value]
    if origin is dict:
        key_tp, value_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise InputError(f"config key '{key}': expected a mapping, got {value!r}")
        return {_coerce(k, key_tp, key): _coerce(v, value_tp, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if isinstance(value, str) and tp is ModelEntry:
            value = {"path": value}
        if not isinstance(value, dict):
            raise InputError(f"config key '{key}': expected a mapping, got {value!r}")
        return build(tp, value, prefix=f"{key}.")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return finite(float(value), key)
        if isinstance(value, str):  # YAML 1.1 reads `2e-4` (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                pass
            else:  # as text, a union may still take it as a string
                if math.isfinite(number):
                    return number
                raise InputError(f"config key '{key}': must be a finite number, got {value!r}")
    elif tp is str and isinstance(value, str):
        return value
    raise InputError(f"config key '{key}': expected {_type_name(tp)}, got {value!r}")


def build(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Instantiate dataclass `cls` from `data`; unknown keys are errors that list the valid keys."""
    hints = typing.get_type_hints(cls)
    valid = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise InputError(f"unknown config key '{prefix}{key}'{hint}; valid keys: "
                             + ", ".join(prefix + v for v in valid))
    kwargs = {k: _coerce(v, hints[k], prefix + k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in data
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        raise InputError(f"config key '{prefix}{missing[0] if missing else '?'}' is required "
                         f"({exc})") from None


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """`key=value` (dotted keys for groups: `lora.r=8`); values are parsed as YAML scalars/lists."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"override {item!r} must look like key=value (e.g. learning_rate=1e-4)")
        parts = key.strip().split(".")
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise InputError(f"override {item!r}: config key '{part}' is not a group")
            node = child
        try:
            node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise InputError(f"override {item!r}: value is not valid YAML ({exc})") from None
    return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (YAML keeps the last one
    silently, so `name: a` … `name: b` would run a study nobody asked for)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}' (first given on line {seen[key] + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_config(path: Path | str, overrides: list[str] | None = None) -> dict:
    """A config YAML as a mapping, command-line overrides applied (every config file of the
    project: training, study, GLUE matrix); errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    text = read_text(path)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise InputError(f"{where}: {exc.problem or 'not valid YAML'}"
                         + (f" ({exc.context})" if exc.context else "")) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: must be a mapping of config keys")
    return apply_overrides(data, list(overrides or []))


def load_with_train_group(cls: type, path: Path | str, overrides: list[str] | None, group: str,
                          attach: str):
    """A config whose `group` holds `ftbench train` keys (a study's `train`, a GLUE matrix's
    `lora`): the rest is built as `cls`, then `cfg.<attach>(group)` validates the group against
    it; any error names the file."""
    data = read_config(path, overrides)
    nested = data.pop(group, None) or {}
    try:
        cfg = build(cls, data)
        getattr(cfg, attach)(nested)
        return cfg
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def load_config(path: Path | str, overrides: list[str] | None = None) -> TrainConfig:
    """Read a training YAML, apply command-line overrides, return the validated config."""
    data = read_config(path, overrides)
    try:
        return build(TrainConfig, data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
