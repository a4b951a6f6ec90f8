"""What a study's stages are called with, in one place for every executor (local, Ray)."""

from __future__ import annotations

from ftbench.eval.orchestrator import EvalSettings
from ftbench.pipelines.study_config import StudyConfig
from ftbench.suites.registry import suite_record


def eval_settings(cfg: StudyConfig | None = None, **given) -> EvalSettings:
    """The one place evaluation settings are made, for `ftbench study` and `ftbench eval`
    alike: a study's every `eval.*` key (its data, suite and include path too), then each
    command-line value that was given (`given`: EvalSettings fields, None = not given;
    `metadata` and `model_args` are merged key by key over the study's)."""
    base: dict = {}
    if cfg is not None:
        stage = cfg.eval
        base = dict(
            tasks=stage.tasks, backend=stage.backend, limit=stage.limit,
            batch_size=stage.batch_size, apply_chat_template=stage.apply_chat_template,
            metadata=cfg.eval_metadata(), include_path=cfg.include_path(),
            context_length=stage.context_length, threads=stage.threads,
            enable_thinking=stage.thinking, max_gen_toks=stage.max_gen_toks,
            model_args=stage.model_args, system_instruction=stage.system_instruction,
            fewshot_as_multiturn=stage.fewshot_as_multiturn, suite=suite_record(cfg.suite_def(), cfg.report.composite),
            study=cfg.study_record())
    given = {k: v for k, v in given.items() if v is not None}
    for key in ("metadata", "model_args"):
        if key in given:
            given[key] = {**(base.get(key) or {}), **given[key]} or None
    settings = {**base, **given}
    if not settings.get("tasks"):  # the default suite's task group
        from ftbench.suites.registry import DEFAULT, get_suite

        settings["tasks"] = [get_suite(DEFAULT).task_group]
    return EvalSettings(**settings)
