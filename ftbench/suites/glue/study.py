"""What the glue suite adds to a study (`Suite.study`): the GLUE-small experiment matrix.

With `suite_options.tasks`, a study of the glue suite is the matrix that `ftbench glue` ran
beside the study pipeline before: each task key is a part of the data (its own prepared folder,
one LoRA adapter per model), the decoder modes are variants (`zero_shot`, `few_shot`: the base
models on the `_gen` / `_gen_5shot` tasks, or the loglikelihood ones with
`scoring: loglikelihood`; `lora`: each adapter on its own task's generative prompt, the prompt
it was trained on), the encoder baseline is the model kind `encoder`, and the report gains the
matrix's comparison (`ftbench.suites.glue.report`). The evaluation subsample (`eval_n`,
`eval_seed`) reaches the tasks as lm-eval metadata (`glue_n`, `glue_seed`).
"""

from __future__ import annotations

from pathlib import Path

from ftbench.suites.glue.options import TASKS, VARIANT_MODELS, GlueOptions, lm_task, task_part
from ftbench.suites.layout import PrepareResult, PrepareSettings
from ftbench.suites.study_hooks import ModelKind, StudyHooks, Variant


def variants(options: GlueOptions | None) -> list[Variant]:
    """One variant per decoder mode over the matrix's tasks (none without `tasks`)."""
    if options is None or not options.matrix:
        return []
    return [Variant(mode, tuple(lm_task(t, mode, options.scoring) for t in options.tasks),
                    VARIANT_MODELS[mode]) for mode in options.modes]


def parts(options: GlueOptions | None) -> tuple[str, ...]:
    """The matrix trains per task; the plain study jointly."""
    return tuple(options.tasks) if options is not None and options.matrix else ()


def prepare_part(source: Path, settings: PrepareSettings, part: str,
                 options: GlueOptions) -> PrepareResult:
    """One task's train rows (and the evaluation rows its tasks score, for the record)."""
    from ftbench.suites.glue.prepare import prepare_cells

    glue, split, _ = TASKS[part]
    return prepare_cells(str(source), settings, cells=((glue, split),), eval_n=options.eval_n,
                         eval_seed=options.eval_seed)


def part_fingerprint(source_sha256: str, settings: PrepareSettings, part: str,
                     options: GlueOptions) -> dict:
    from ftbench.suites.glue.prepare import cells_fingerprint

    glue, split, _ = TASKS[part]
    return cells_fingerprint(source_sha256, settings, ((glue, split),), options.eval_n,
                             options.eval_seed)


def eval_metadata(options: GlueOptions | None) -> dict:
    """The subsample every glue_small task scores (the same items for decoders and encoders)."""
    if options is None or not options.matrix:
        return {}
    return {"glue_n": options.eval_n or "all", "glue_seed": options.eval_seed}


def _run_encoder(job):
    from ftbench.suites.glue.encoder_kind import run_encoder

    return run_encoder(job)


def _sections(ctx):
    from ftbench.suites.glue.report import report_sections

    return report_sections(ctx)


def _files(ctx, sections, out):
    from ftbench.suites.glue.report import report_files

    return report_files(ctx, sections, out)


def _read_config(mapping: dict) -> dict:
    from ftbench.suites.glue.matrix_config import study_mapping

    return study_mapping(mapping)


HOOKS = StudyHooks(
    options=GlueOptions, variants=variants, parts=parts, prepare_part=prepare_part,
    part_fingerprint=part_fingerprint, task_part=task_part, eval_metadata=eval_metadata,
    model_kinds={"encoder": ModelKind(_run_encoder, "an encoder classifier fine-tuned per task "
                                                    "(minilm, bert-base-uncased, ...)")},
    report_sections=_sections, report_files=_files, read_config=_read_config)
