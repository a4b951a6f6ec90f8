"""What a study's stages are called with, in one place for every executor (local, Ray)."""

from __future__ import annotations

from ftbench.eval.orchestrator import EvalSettings
from ftbench.pipelines.study_config import StudyConfig
from ftbench.suites.registry import suite_record


def eval_settings(cfg: StudyConfig) -> EvalSettings:
    """The evaluation settings of a study (shared by every model it evaluates)."""
    return EvalSettings(
        tasks=cfg.eval.tasks, backend=cfg.eval.backend, limit=cfg.eval.limit,
        batch_size=cfg.eval.batch_size, apply_chat_template=cfg.eval.apply_chat_template,
        metadata=cfg.eval_metadata(), include_path=cfg.include_path(),
        context_length=cfg.eval.context_length,
        threads=cfg.eval.threads, enable_thinking=cfg.eval.thinking,
        max_gen_toks=cfg.eval.max_gen_toks, model_args=cfg.eval.model_args,
        system_instruction=cfg.eval.system_instruction,
        fewshot_as_multiturn=cfg.eval.fewshot_as_multiturn, suite=suite_record(cfg.suite_def()),
        study=cfg.study_record())
