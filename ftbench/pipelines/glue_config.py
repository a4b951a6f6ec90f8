"""The GLUE experiment matrix config: models × tasks × modes from one YAML file.

Keys map one-to-one to the dataclasses below and go through the same typed, never-executed path
as `ftbench train` configs (`ftbench.train.config.build`); `key=value` overrides on the command line
too. The `lora` group takes the keys of `ftbench train` except those the matrix fills in itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftbench.core.config import build, load_with_group
from ftbench.core.io import InputError
from ftbench.train.config import TrainConfig
from ftbench.train.encoder import EncoderSettings

MODES = ("zero_shot", "few_shot", "lora", "encoder")
DECODER_MODES = ("zero_shot", "few_shot", "lora")
SCORINGS = ("generative", "loglikelihood")
# matrix task key → (GLUE task, evaluation split, lm-eval task stem)
TASKS = {
    "sst2": ("sst2", "validation", "glue_small_sst2"),
    "rte": ("rte", "validation", "glue_small_rte"),
    "mnli": ("mnli", "validation_matched", "glue_small_mnli"),
    "mnli_mismatched": ("mnli", "validation_mismatched", "glue_small_mnli_mismatched"),
}
TINY = "tiny"
MATRIX_FILLED_LORA_KEYS = ("base_model", "model_name", "train_size", "grid", "data_dir",
                           "output_dir")


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise InputError(f"config key '{key}': {message}")


@dataclass
class MatrixModel:
    """A decoder (hub id, local directory, or `tiny`) or an encoder (hub id, path, or `minilm`)."""

    name: str
    path: str
    tiny_pretrain_steps: int = 300


@dataclass
class EvalOptions:
    """Settings of the decoder evaluations (as `ftbench eval`), identical for every model."""

    backend: str = "hf"
    limit: int | None = None
    batch_size: int | None = None
    apply_chat_template: bool = True
    scoring: str = "generative"  # zero/few-shot: generative (chat) or loglikelihood choice

    def __post_init__(self) -> None:
        _check(self.backend in ("auto", "hf", "vllm"), "eval.backend", "must be auto, hf or vllm")
        _check(self.scoring in SCORINGS, "eval.scoring", f"must be one of {', '.join(SCORINGS)}")
        _check(self.limit is None or self.limit > 0, "eval.limit", "must be positive or null")


@dataclass
class EncoderOptions:
    """Keys of the encoder baseline (ftbench.train.encoder.EncoderSettings) shared by every encoder."""

    train_n: int | None = 2000
    epochs: float = 1.0
    max_steps: int | None = None
    learning_rate: float = 5e-5
    batch_size: int = 16
    max_length: int = 128
    seed: int = 42


@dataclass
class GlueConfig:
    name: str
    tasks: list[str]
    modes: list[str]
    decoders: list[MatrixModel] = field(default_factory=list)
    encoders: list[MatrixModel] = field(default_factory=list)
    out_dir: str = ""
    glue_data: str | None = None  # null: $FTBENCH_GLUE_DATA, else the hub dataset nyu-mll/glue
    eval_n: int | None = 500  # stratified subsample of each evaluation split (null = all)
    glue_seed: int = 1234
    lora_train_n: int = 1000  # stratified train rows per task for LoRA
    eval: EvalOptions = field(default_factory=EvalOptions)
    encoder: EncoderOptions = field(default_factory=EncoderOptions)
    lora: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.out_dir = self.out_dir or f"work/{self.name}"
        _check(bool(self.tasks), "tasks", f"list at least one of {', '.join(TASKS)}")
        for t in self.tasks:
            _check(t in TASKS, "tasks", f"unknown task {t!r}; known: {', '.join(TASKS)}")
        _check(bool(self.modes), "modes", f"list at least one of {', '.join(MODES)}")
        for m in self.modes:
            _check(m in MODES, "modes", f"unknown mode {m!r}; known: {', '.join(MODES)}")
        if any(m in DECODER_MODES for m in self.modes):
            _check(bool(self.decoders), "decoders", "the decoder modes need at least one decoder")
        if "encoder" in self.modes:
            _check(bool(self.encoders), "encoders", "mode 'encoder' needs at least one encoder")
        names = [m.name for m in self.decoders + self.encoders]
        dupes = sorted({n for n in names if names.count(n) > 1})
        _check(not dupes, "decoders", f"duplicate model names {dupes}")
        _check(self.eval_n is None or self.eval_n > 0, "eval_n", "must be positive or null")
        _check(self.lora_train_n > 0, "lora_train_n", "must be positive")
        self.set_lora(self.lora)
        for task in self.tasks:  # validate the encoder settings per task now
            self.encoder_settings(task, "x")

    def set_lora(self, lora: dict[str, Any]) -> None:
        """Check the `lora` group by building its TrainConfig now, before any work starts."""
        if not isinstance(lora, dict):
            raise InputError(f"config key 'lora': expected a mapping, got {lora!r}")
        clash = [k for k in lora if k in MATRIX_FILLED_LORA_KEYS]
        _check(not clash, f"lora.{clash[0] if clash else ''}", "is set by the matrix itself")
        self.lora = lora
        if "lora" in self.modes:
            self.lora_config(self.tasks[0], Path("."))

    @property
    def out(self) -> Path:
        return Path(self.out_dir)

    def decoder_path(self, m: MatrixModel) -> str:
        return str(self.out / "models" / m.name) if m.path == TINY else m.path

    def metadata(self) -> dict:
        """lm-eval --metadata of every decoder evaluation (data, subsample size, seed)."""
        meta: dict[str, Any] = {"glue_n": self.eval_n or "all", "glue_seed": self.glue_seed}
        if self.glue_data:
            meta["glue_data"] = str(Path(self.glue_data).resolve())
        return meta

    def lora_config(self, task: str, data_dir: Path) -> TrainConfig:
        grid = {"models": [{"path": self.decoder_path(m), "name": m.name} for m in self.decoders],
                "sizes": [self.lora_train_n]}
        data = {**self.lora, "grid": grid, "data_dir": str(data_dir),
                "output_dir": str(self.out / "runs" / task)}
        return build(TrainConfig, data, prefix="lora.")

    def encoder_settings(self, task: str, model: str) -> EncoderSettings:
        glue, split, _ = TASKS[task]
        e = self.encoder
        return EncoderSettings(model=model, task=glue, eval_split=split, train_n=e.train_n,
                               eval_n=self.eval_n, glue_seed=self.glue_seed,
                               glue_data=self.glue_data, epochs=e.epochs, max_steps=e.max_steps,
                               learning_rate=e.learning_rate, batch_size=e.batch_size,
                               max_length=e.max_length, seed=e.seed)


def load_glue_config(path: Path | str, overrides: list[str] | None = None) -> GlueConfig:
    return load_with_group(GlueConfig, path, overrides, "lora", "set_lora")
