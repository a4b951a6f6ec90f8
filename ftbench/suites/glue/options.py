"""The glue suite's study keys (`suite_options`): which GLUE tasks, how decoders are prompted,
the evaluation subsample, and the encoder baseline's fine-tune.

A study of the glue suite with `suite_options.tasks` is the GLUE-small experiment matrix: each
task key is a *part* of the data (one LoRA adapter per task and model, as a classifier is
trained per task), the decoder modes are the study's *variants* (zero-shot and few-shot: the
base models prompted; lora: each adapter on its own task's generative prompt), and encoders are
models of kind `encoder` (`ftbench.suites.glue.encoder`). Without `tasks` the suite keeps its
plain study: one joint training set over SST-2, RTE and MNLI, evaluated on the `glue_small` group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ftbench.core.io import InputError
from ftbench.suites.glue.data import DEFAULT_N, DEFAULT_SEED, glue_task

MINILM = "minilm"  # the offline default encoder

MODES = ("zero_shot", "few_shot", "lora")
SCORINGS = ("generative", "loglikelihood")
# task key (a part of the study's data) → (GLUE task, evaluation split, lm-eval task stem)
TASKS = {
    "sst2": ("sst2", "validation", "glue_small_sst2"),
    "rte": ("rte", "validation", "glue_small_rte"),
    "mnli": ("mnli", "validation_matched", "glue_small_mnli"),
    "mnli_mismatched": ("mnli", "validation_mismatched", "glue_small_mnli_mismatched"),
}
VARIANT_MODELS = {"zero_shot": "base", "few_shot": "base", "lora": "finetuned"}


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise InputError(f"config key 'suite_options.{key}': {message}")


@dataclass
class EncoderOptions:
    """The encoder baseline's fine-tune (`EncoderSettings` below), the same
    for every encoder and task."""

    train_n: int | None = 2000  # stratified train rows per task (null: all)
    epochs: float = 1.0
    max_steps: int | None = None
    learning_rate: float = 5e-5
    batch_size: int = 16
    max_length: int = 128
    seed: int = 42



@dataclass
class EncoderSettings:
    """One encoder run: model, GLUE task, data sizes and Trainer settings."""

    model: str = MINILM
    task: str = "sst2"
    eval_split: str | None = None  # default: the task's first evaluation split
    # the defaults a study's suite_options.encoder gives (one place: options.EncoderOptions)
    train_n: int | None = EncoderOptions.train_n  # stratified train rows; None = all
    eval_n: int | str | None = 500  # as glue_n of the tasks; None / "all" = the whole split
    glue_seed: int | None = None  # as glue_seed of the tasks (default 1234)
    glue_data: str | None = None
    epochs: float = EncoderOptions.epochs
    max_steps: int | None = EncoderOptions.max_steps
    learning_rate: float = EncoderOptions.learning_rate
    batch_size: int = EncoderOptions.batch_size
    max_length: int = EncoderOptions.max_length
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    seed: int = EncoderOptions.seed

    def __post_init__(self) -> None:
        task = glue_task(self.task)
        self.eval_split = self.eval_split or task.eval_splits[0]
        if self.eval_split not in task.eval_splits:
            raise InputError(f"config key 'eval_split': must be one of {', '.join(task.eval_splits)}")
        for key in ("batch_size", "max_length"):
            if getattr(self, key) <= 0:
                raise InputError(f"config key '{key}': must be a positive integer")
        if self.learning_rate <= 0 or self.epochs <= 0:
            raise InputError("config keys 'learning_rate' and 'epochs' must be positive")
        if self.train_n is not None and self.train_n <= 0:
            raise InputError("config key 'train_n': must be positive or null (all rows)")


@dataclass
class GlueOptions:
    tasks: list[str] | None = None  # task keys; null: the plain joint study (no matrix)
    modes: list[str] = field(default_factory=lambda: list(MODES))
    scoring: str = "generative"  # zero/few-shot: generative (chat) or loglikelihood choice
    eval_n: int | None = DEFAULT_N  # stratified subsample of each evaluation split (null: all)
    eval_seed: int = DEFAULT_SEED  # seed of that subsample
    encoder: EncoderOptions = field(default_factory=EncoderOptions)

    def __post_init__(self) -> None:
        if self.tasks is not None:
            _check(bool(self.tasks), "tasks", f"list at least one of {', '.join(TASKS)}")
            for t in self.tasks:
                _check(t in TASKS, "tasks", f"unknown task {t!r}; known: {', '.join(TASKS)}")
            _check(len(set(self.tasks)) == len(self.tasks), "tasks", "lists a task twice")
        for m in self.modes:
            _check(m in MODES, "modes", f"unknown mode {m!r}; known: {', '.join(MODES)}"
                   " (encoders are models of kind encoder)")
        _check(self.scoring in SCORINGS, "scoring", f"must be one of {', '.join(SCORINGS)}")
        _check(self.eval_n is None or self.eval_n > 0, "eval_n", "must be positive or null")
        e = self.encoder
        for task in self.tasks or ():  # the encoder settings fail now, not after training
            glue, split, _ = TASKS[task]
            try:
                EncoderSettings(task=glue, eval_split=split, train_n=e.train_n,
                                epochs=e.epochs, max_steps=e.max_steps,
                                learning_rate=e.learning_rate, batch_size=e.batch_size,
                                max_length=e.max_length, seed=e.seed)
            except InputError as exc:
                raise InputError(str(exc).replace("config key '", "config key "
                                                  "'suite_options.encoder.")) from None

    @property
    def matrix(self) -> bool:
        return self.tasks is not None


def lm_task(task: str, mode: str, scoring: str) -> str:
    """The glue_small task of a (task key, mode): LoRA is always scored generatively (the
    adapter learned to answer with the label word)."""
    gen = "_gen" if scoring == "generative" or mode == "lora" else ""
    return TASKS[task][2] + gen + ("_5shot" if mode == "few_shot" else "")


def task_part(task: str) -> str | None:
    """The task key an lm-eval task scores (`glue_small_mnli_mismatched_gen` → mnli_mismatched)."""
    stems = sorted(((stem, key) for key, (_, _, stem) in TASKS.items()),
                   key=lambda sk: -len(sk[0]))
    for stem, key in stems:
        rest = task.removeprefix(stem)
        if rest != task and rest in ("", "_gen", "_5shot", "_gen_5shot"):
            return key
    return None
