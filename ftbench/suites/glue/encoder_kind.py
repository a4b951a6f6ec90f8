"""The glue suite's model kind `encoder`: one encoder fine-tune per task (part) of a study.

Its predictions and manifest go where the study says (`KindJob.out_dir`, beside the decoders'
results), on the same seeded evaluation subsample the glue_small tasks score
(`suite_options.eval_n`, `eval_seed`); a run is reused while its settings are unchanged.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ftbench.core.io import InputError, read_json
from ftbench.suites.glue.encoder import EncoderSettings, resolve_model, train_encoder
from ftbench.suites.glue.options import TASKS


def encoder_settings(options, part: str, model: str, glue_data: str | None) -> EncoderSettings:
    """The fine-tune of `model` on task key `part` under the study's suite options."""
    glue, split, _ = TASKS[part]
    e = options.encoder
    return EncoderSettings(model=model, task=glue, eval_split=split, train_n=e.train_n,
                           eval_n=options.eval_n, glue_seed=options.eval_seed,
                           glue_data=glue_data, epochs=e.epochs, max_steps=e.max_steps,
                           learning_rate=e.learning_rate, batch_size=e.batch_size,
                           max_length=e.max_length, seed=e.seed)


def run_encoder(job) -> dict:
    """The model kind `encoder` (`ftbench.suites.study_hooks.ModelKind`): fine-tune and predict
    unless `job.out_dir` holds a complete run with the same settings; returns its manifest."""
    if job.part is None:
        raise InputError(f"config key 'models.kind' ({job.name}): an encoder is fine-tuned per "
                         "task: list the tasks in suite_options.tasks")
    settings = encoder_settings(job.options, job.part, job.path, str(Path(job.source).resolve()))
    manifest_path = job.out_dir / "manifest.json"
    try:
        manifest = read_json(manifest_path) if manifest_path.is_file() else {}
    except InputError:
        manifest = {}
    if manifest.get("status") == "complete" and manifest.get("settings") == dataclasses.asdict(settings):
        return manifest
    job.log(f"fine-tuning encoder {job.name} ({resolve_model(job.path)}) on {job.part}")
    return train_encoder(settings, job.out_dir)
