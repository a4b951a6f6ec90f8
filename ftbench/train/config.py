"""Training config: the keys of `ftbench train`, as typed dataclasses validated on construction.

The typed construction itself (`build`, overrides, YAML reading) is the project's config engine,
`ftbench.core.config`; this module says what a training run's settings are.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ftbench.core.config import build, read_config
from ftbench.core.io import InputError
from ftbench.core.tracking import DEFAULT_PROJECT, TrackingConfig

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

    CONFIG_SCALAR_KEY: ClassVar[str] = "path"  # `- org/model` in a config = {path: org/model}

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
    tracking: TrackingConfig | None = None  # curves to TensorBoard / Trackio (docs/tracking.md)
    # checkpoints to resume from after a kill or an interruption (docs/training.md): every N
    # optimizer steps, and/or whenever this many minutes passed since the last one (null: off)
    checkpoint_steps: int | None = None
    checkpoint_minutes: float | None = 5.0
    # the adapter is always kept; `merged/` (base + adapter, any tool loads it) only when true.
    # false saves the disk and time of a full checkpoint per run: evaluate with eval.models:
    # adapters (docs/training.md). A full fine-tune always writes `merged/` (its weights).
    merge: bool = True

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
        _check(self.checkpoint_steps is None or self.checkpoint_steps > 0, "checkpoint_steps",
               "must be a positive integer or null")
        _check(self.checkpoint_minutes is None or self.checkpoint_minutes > 0,
               "checkpoint_minutes", "must be positive or null (off)")
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
        if self.tracking is not None:  # where the trackers write: beside output_dir
            self.tracking = self.tracking.resolved(DEFAULT_PROJECT, self.output_dir)

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


def load_config(path: Path | str, overrides: list[str] | None = None) -> TrainConfig:
    """Read a training YAML, apply command-line overrides, return the validated config."""
    data = read_config(path, overrides, TrainConfig)
    try:
        return build(TrainConfig, data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
