"""What a suite may add to a study beyond its tasks and its prepared data.

A study is data → models → train → eval → report over one suite. Some domains compare more than
"base vs fine-tuned on the suite's tasks": the same model prompted several ways, one adapter per
part of the data, a classifier that is not a language model, tables only that domain knows how
to read. A suite says so through `Suite.study` (a `StudyHooks`), and the study pipeline asks it
instead of knowing the domain:

- `options`: the dataclass of the study config's `suite_options` group (the suite's own keys,
  checked on load like every other key);
- `variants(options)`: the study's default variants (`Variant`), when its config lists none;
- `parts(options)`: the parts of the suite's data trained apart (one adapter per part and model;
  empty: one joint training set, as without hooks), prepared by `prepare_part` and scored by the
  tasks `task_part` assigns to each part;
- `eval_metadata(options)`: lm-eval metadata the suite's tasks read beside the data location
  (a subsample size and seed, say);
- `model_kinds`: kinds of model other than a causal LM (`ModelKind`), trained and scored by the
  suite itself, their predictions written beside the study's results;
- `report_sections(ctx)` / `report_files(ctx, sections, out)`: sections the suite adds to the
  study's report (`ftbench.report.section.Section`), and the files (plots, per-experiment
  folders) behind them;
- `read_config(mapping)`: the suite's own older config format as a study config mapping, so a
  command kept for users of that format runs the study.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftbench.core.io import InputError
from ftbench.suites.layout import PrepareResult, PrepareSettings

MODEL_SETS = ("base", "finetuned")
LM = "lm"  # the model kind every study knows: a causal LM, fine-tuned and evaluated with lm-eval


@dataclass(frozen=True)
class Variant:
    """One way a study evaluates its models: the base models as they are (`models: base`) or
    the runs fine-tuned from them (`finetuned`), on `tasks` (lm-eval task names). A run trained
    on one part of the data is evaluated on the variant's tasks of that part only."""

    name: str
    tasks: tuple[str, ...]
    models: str = "base"

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise InputError(f"config key 'variants.name': expected a name, got {self.name!r}")
        if self.models not in MODEL_SETS:
            raise InputError(f"config key 'variants.models' ({self.name}): must be one of "
                             f"{', '.join(MODEL_SETS)}, got {self.models!r}")
        if not self.tasks or not all(isinstance(t, str) and t.strip() for t in self.tasks):
            raise InputError(f"config key 'variants.tasks' ({self.name}): list lm-eval task "
                             f"names, got {self.tasks!r}")
        object.__setattr__(self, "tasks", tuple(self.tasks))

    def to_dict(self) -> dict:
        return {"name": self.name, "tasks": list(self.tasks), "models": self.models}


@dataclass(frozen=True)
class KindJob:
    """One model of a suite-provided kind on one part: what its `ModelKind.run` gets."""

    name: str               # the model's name in the study
    path: str               # its `path` as the config gives it (the kind resolves it)
    part: str | None        # the part of the data (None: the suite's data as a whole)
    options: Any            # the study's suite options
    source: Path            # the suite's data source (the study's `data.source`)
    out_dir: Path           # where it writes its predictions and manifest (reused when current)
    log: Callable[[str], None] = print


@dataclass(frozen=True)
class ModelKind:
    """A kind of model the suite trains and scores itself (a classifier baseline, say):
    `run(job)` trains it unless `job.out_dir` already holds a current run, writes its
    predictions there and returns its manifest (status "complete" or "failed" with an error)."""

    run: Callable[[KindJob], dict]
    description: str = ""


@dataclass(frozen=True)
class StudyHooks:
    """See the module docstring; every hook is optional."""

    options: type | None = None
    variants: Callable[[Any], list[Variant]] | None = None
    parts: Callable[[Any], tuple[str, ...]] | None = None
    prepare_part: Callable[[Path, PrepareSettings, str, Any], PrepareResult] | None = None
    part_fingerprint: Callable[[str, PrepareSettings, str, Any], dict] | None = None
    task_part: Callable[[str], str | None] | None = None
    eval_metadata: Callable[[Any], dict] | None = None
    model_kinds: Mapping[str, ModelKind] = field(default_factory=dict)
    report_sections: Callable[[Any], list] | None = None
    report_files: Callable[[Any, list, Path], dict[str, Path]] | None = None
    read_config: Callable[[dict], dict] | None = None

    def __post_init__(self) -> None:
        if self.parts is not None and (self.prepare_part is None or self.task_part is None):
            raise ValueError("StudyHooks.parts needs prepare_part and task_part")
        if LM in self.model_kinds:
            raise ValueError(f"StudyHooks.model_kinds: {LM!r} is the study's own kind")


NO_HOOKS = StudyHooks()
