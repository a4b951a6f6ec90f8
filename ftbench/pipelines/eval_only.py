"""Evaluation-only studies (`evaluate_only: true`): the listed models, nothing trained.

A study whose data has no train split (a published test set of ten questions) or whose
fine-tunes exist already still wants the study's data fingerprints, resume and report. Such a
study runs the same stages: the data stage holds every row out (no train files), the train
stage has no grid, and the eval stage evaluates each listed model under its own name — a
model with an `adapter` (`path: BASE::ADAPTER`) as a fine-tune of the listed model with the
same base path, every other model as it came (a base), unless its path is the `merged/` folder
of an ftbench training run, whose manifest says what it is.
"""

from __future__ import annotations

from pathlib import Path

from ftbench.core.io import InputError
from ftbench.core.run_manifest import RunManifest, base_manifest, read_run_manifest
from ftbench.eval.specs import ModelSpec

KEY = "evaluate_only"
# `cfg` below is a StudyConfig and `m` one of its StudyModels (study_config.py calls in; this
# module does not import it back)


def check(cfg, tiny: str) -> None:
    """At load: an evaluate-only study lists models that exist already, and asks for nothing
    only training makes (the embedded tiny model pre-trains on the study's train split)."""
    if not cfg.models:
        raise InputError(f"config key 'models': an {KEY} study evaluates the models it lists; "
                         "list at least one (a base, a fine-tune's folder, or BASE::ADAPTER)")
    for m in cfg.models:
        if m.path == tiny:
            raise InputError(f"config key 'models.path' ({m.name}): `{tiny}` is built from the "
                             f"study's train split, which an {KEY} study has not; give the "
                             "folder of a built model")
    if cfg.variants or cfg.parts or cfg.other_models():
        raise InputError(f"config key '{KEY}': variants, parts and other model kinds are for "
                         "studies that train; list the models to evaluate instead")


def check_no_adapters(cfg) -> None:
    """A study that trains evaluates its own runs: given adapters belong to `evaluate_only`."""
    given = [m.name for m in cfg.models if getattr(m, "adapter", None)]
    if given:
        raise InputError(f"config key 'models.adapter' ({given[0]}): a study that trains "
                         f"evaluates its own runs; set {KEY}: true to evaluate given adapters")


def base_names(cfg) -> dict[str, str]:
    """base path -> the name it is evaluated under: the first listed model of that path that is
    evaluated as it came."""
    out: dict[str, str] = {}
    for m in cfg.lm_models():
        if _as_base(m):
            out.setdefault(m.path, m.name)
    return out


def model_specs(cfg) -> list[ModelSpec]:
    """Every listed model, under its own name (the study's `model_specs`)."""
    from ftbench.core.model_sources import resolve_model_path

    bases = base_names(cfg)
    specs = []
    for m in cfg.lm_models():
        weights = _resolved(resolve_model_path(m.path))
        adapter = _resolved(m.adapter) if m.adapter else None
        specs.append(ModelSpec(m.name, weights, adapter=adapter, chat_template=m.chat_template,
                               add_bos_token=m.add_bos_token, extra_args=m.model_args,
                               revision=m.revision,
                               run=_manifest(m, weights, bases.get(m.path))))
    return specs


def _as_base(m) -> bool:
    return not m.adapter and _run_manifest(m.path) is None


def _manifest(m, weights: str, base: str | None) -> dict | None:
    """A base's manifest; a training run's own (with the base it is compared with); None for a
    fine-tune from elsewhere (the report pairs it by its base path)."""
    if _as_base(m):
        return base_manifest(m.name, weights).to_dict()
    typed = _run_manifest(m.adapter or m.path)
    return typed.with_base(base).to_dict() if typed is not None else None


def _run_manifest(path: str) -> RunManifest | None:
    """The manifest of the ftbench training run whose `adapter/` or `merged/` `path` is."""
    folder = Path(path)
    if folder.name not in ("adapter", "merged") or not (folder.parent / "manifest.json").is_file():
        return None
    return read_run_manifest(folder.parent)


def _resolved(path: str) -> str:
    """A local path made absolute (the results index must not depend on the cwd); a hub id as is."""
    return str(Path(path).resolve()) if Path(path).exists() else path
