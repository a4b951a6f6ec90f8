"""A study's variants, parts and model kinds: what its suite's hooks add (`Suite.study`).

Without them a study evaluates every model (base and fine-tuned) on `eval.tasks` and trains one
adapter per (base, size) on the suite's whole prepared data. With them:

- variants (`variants:` in the config, else the suite's defaults from `suite_options`) say which
  tasks the base models and which the fine-tuned runs are evaluated on (still one evaluation
  invocation: each model carries its own task list, `ModelSpec.tasks`);
- parts (the suite's `parts(options)`) are trained apart: one prepared folder, one grid and one
  adapter per part and base model (`<model>-<part>-<size>`), each run evaluated on its variants'
  tasks of its part (and on those that belong to no part);
- models of another kind than `lm` are trained and scored by the suite (`ModelKind`) in the
  eval stage, one run per part, written under the results directory.

`study_record` is what the results index keeps of all this (`settings.study`), so a report of
the results alone knows which study model, part and variant each evaluated name is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftbench.core.io import InputError
from ftbench.suites.base import Suite
from ftbench.suites.study_hooks import LM, Variant


@dataclass
class VariantConfig:
    """A variant as the config gives it (`ftbench.suites.study_hooks.Variant`)."""

    name: str
    tasks: list[str]
    models: str = "base"


def suite_options(suite: Suite, given: dict[str, Any] | None) -> Any:
    """The suite's typed options from the config's `suite_options` (None: it declares none)."""
    from ftbench.core.config import build

    given = given or {}
    if not isinstance(given, dict):
        raise InputError(f"config key 'suite_options': expected a mapping, got {given!r}")
    if suite.study.options is None:
        if given:
            raise InputError(f"config key 'suite_options': suite {suite.name!r} takes none")
        return None
    return build(suite.study.options, given, prefix="suite_options.")


def variants(suite: Suite, options: Any, configured: list[VariantConfig] | None) -> list[Variant]:
    """The configured variants, else the suite's defaults; names unique."""
    if configured is not None:
        found = [Variant(v.name, tuple(v.tasks), v.models) for v in configured]
    elif suite.study.variants is not None:
        found = list(suite.study.variants(options))
    else:
        found = []
    names = [v.name for v in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"config key 'variants': duplicate variant names {dupes}")
    return found


def parts(suite: Suite, options: Any) -> tuple[str, ...]:
    return tuple(suite.study.parts(options)) if suite.study.parts is not None else ()


def check_kinds(suite: Suite, kinds: list[tuple[str, str]]) -> None:
    """Every model's kind is `lm` or one the suite provides ((name, kind) pairs)."""
    for name, kind in kinds:
        if kind != LM and kind not in suite.study.model_kinds:
            known = ", ".join([LM, *suite.study.model_kinds])
            raise InputError(f"config key 'models.kind' ({name}): suite {suite.name!r} knows "
                             f"the kinds {known}; got {kind!r}")


def union_tasks(found: list[Variant]) -> list[str]:
    """Every task some variant names, in order: the evaluation's task list."""
    return list(dict.fromkeys(t for v in found for t in v.tasks))


def tasks_for(found: list[Variant], model_set: str, part: str | None, leaf, task_part) -> tuple[str, ...] | None:
    """The leaf tasks a model of `model_set` ("base" / "finetuned") trained on `part` is
    evaluated on; None when the study has no variants (every task)."""
    if not found:
        return None
    tasks = leaf([t for v in found if v.models == model_set for t in v.tasks])
    if part is not None:
        tasks = [t for t in tasks if task_part(t) in (part, None)]
    return tuple(tasks)


def study_record(found: list[Variant], models: dict[str, dict]) -> dict | None:
    """What the results index keeps (`settings.study`); None for a study without variants,
    parts or other kinds (its index stays as before)."""
    plain = all(m["kind"] == LM and m.get("part") is None for m in models.values())
    if not found and plain:
        return None
    return {"variants": [v.to_dict() for v in found], "models": models}
