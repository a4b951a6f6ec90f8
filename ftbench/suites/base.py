"""A suite: one domain's lm-eval tasks, the data they read, its preparation and its report words.

Adding a domain = a task folder (lm-eval YAML, a small utils.py) + one module that defines
`SUITE = Suite(...)`. Everything else — the study's data, train, eval and report stages, the
evaluation fingerprint — asks the suite instead of knowing the domain:

- `task_group`, `tasks_dir`, `task_prefix`: which lm-eval tasks are its own (and where they live);
- `data`: where those tasks read their data (lm-eval metadata key, environment variable, bundled
  sample), hashed into every result's fingerprint;
- `prepare`: raw source → the shared prepared layout (`ftbench.suites.layout`); None for an
  evaluation-only suite (a general-skills suite);
- `prompt_files`: its prompts, read from the task YAML (`prompts()`), for training rows;
- `vocab`: its report vocabulary (task → metric → column, headline metrics, composite weights,
  what each task's answers are);
- `pretraining`: the texts the embedded tiny model pre-trains on (optional);
- `study`: what it adds to a study beyond that (variants, parts trained apart, model kinds,
  report sections; `ftbench.suites.study_hooks`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ftbench.core.fingerprint import code_digest, digest, tree_files
from ftbench.core.io import InputError, sha256_file
from ftbench.core.paths import SUITES_CODE_DIR, TASKS_DIR
from ftbench.suites.layout import PrepareResult, PrepareSettings, write_prepared
from ftbench.suites.prompts import TaskPrompt, read_prompts
from ftbench.suites.study_hooks import NO_HOOKS, StudyHooks

READS = ("prepared", "dir")
SOURCE_KINDS = ("file", "dir")
ROLES = ("domain", "general")


@dataclass(frozen=True)
class DataSource:
    """Where a suite's tasks find their data, in this order: the lm-eval metadata key
    (`--metadata '{"<key>": DIR}'`, which a study sets to its prepared directory), the
    environment variable, else the bundled sample (or, for `reads="dir"` without a sample, the
    hub dataset the task names).

    `reads`: "prepared" — a directory written by the suite's `prepare` (its `test.jsonl` is hashed
    and checked against the manifest); "dir" — a data directory of the suite's own schema, hashed
    as a whole (GLUE-style and general-skills suites). `sample`: the bundled data's identity when
    no directory is
    named ("prepared"); `sample_dir`: the directory the value `sample` names ("dir").
    `raw_file`: for a "prepared" suite whose tasks also read a raw data *file* whole as the test
    set — checks every row (InputError `FILE:LINE`, before any model loads) and returns the
    file's identity (its content hash under "sha256"); None: only prepared directories.
    """

    metadata_key: str
    env_var: str
    reads: str = "prepared"
    sample: Callable[[], dict] | None = None
    sample_dir: Path | None = None
    raw_file: Callable[[Path], dict] | None = None
    # a leaf task -> the hub datasets (path, config name) it reads when no directory is named,
    # checked in the cache before an offline evaluation (`sources.check_eval_data`)
    hub_datasets: Callable[[str], list[tuple[str, str | None]]] | None = None

    def __post_init__(self) -> None:
        if self.reads not in READS:
            raise ValueError(f"DataSource.reads must be one of {READS}, got {self.reads!r}")


KINDS = ("text", "set", "label", "choice", "perplexity")


@dataclass(frozen=True)
class TaskKind:
    """What a task's answers are, so the report reads its per-sample logs without knowing the
    domain: "text" (generated text scored by ROUGE / BERTScore), "set" (a list answer, e.g.
    tags), "label" (one generated label of `labels`), "choice" (a loglikelihood choice among
    `labels`), "perplexity" (rolling loglikelihood). `gold`: the doc field with the gold
    answer (set, label, choice); `name`: the task's short name in tables ("summarization")."""

    kind: str
    name: str = ""
    gold: str = ""
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"TaskKind.kind must be one of {KINDS}, got {self.kind!r}")
        object.__setattr__(self, "labels", tuple(self.labels))


@dataclass(frozen=True)
class ReportVocab:
    """How the report names and reads a suite's metrics.

    `task_columns`: lm-eval task → {lm-eval metric → report column}; `headlines`: a short task
    key → candidate columns, the first present being the task's headline (ranking, plots);
    `composite`: column → weight of the suite's overall score, `overall_score` (empty: none; a
    study of a suite without one is ranked by its first headline metric);
    `extra_columns`: flat-table columns with no lm-eval counterpart → their task;
    `lower_is_better`: such columns where lower is better (a task column's direction is its task
    YAML's `higher_is_better`); `descriptive`: columns that are no score (never best/worst);
    `task_kinds`: lm-eval task → `TaskKind` (per-sample parsing, class baselines, leakage);
    `key_metrics`: the columns compact views show (default: each task's first headline);
    `plot_groups`: plot name → columns drawn together (default: one plot of the key metrics);
    `item_noun`: what one test item is ("article": "articles scored in all four tasks");
    `comparison`: the per-item columns each fine-tuned model is compared with its base on,
    example by example (win / tie / loss), the first present being that comparison's headline
    (default: each text or set task's headline).
    """

    task_columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    headlines: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    lower_is_better: frozenset[str] = frozenset()
    descriptive: frozenset[str] = frozenset()
    binary: frozenset[str] = frozenset()
    extra_columns: Mapping[str, str] = field(default_factory=dict)
    composite: Mapping[str, float] = field(default_factory=dict)
    task_kinds: Mapping[str, TaskKind] = field(default_factory=dict)
    key_metrics: tuple[str, ...] = ()
    plot_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    item_noun: str = "item"
    comparison: tuple[str, ...] = ()

    @property
    def columns(self) -> set[str]:
        """Every report column the suite declares (its tasks' and a flat table's own)."""
        return {c for cols in self.task_columns.values() for c in cols.values()} | set(
            self.extra_columns)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.composite) - self.columns)
        if unknown:
            raise ValueError(f"ReportVocab.composite names column(s) no task reports: "
                             f"{', '.join(unknown)}")
        unknown = sorted(set(self.comparison) - self.columns)
        if unknown:
            raise ValueError(f"ReportVocab.comparison names column(s) no task reports: "
                             f"{', '.join(unknown)}")
        if self.composite and not all(w > 0 for w in self.composite.values()):
            raise ValueError("ReportVocab.composite: every weight must be positive")


@dataclass(frozen=True)
class PretrainingData:
    """The texts the embedded tiny model pre-trains on, and where they came from (its manifest
    records `record`; `record["texts_sha256"]` is part of the model's identity)."""

    texts: list[str]
    record: dict


Preparer = Callable[[Path, PrepareSettings], PrepareResult]
Fingerprinter = Callable[[str, PrepareSettings], dict]
# (prepared directory or None, raw corpus or None) -> the train-split texts
Pretrainer = Callable[[Path | None, Path | None], PretrainingData]


@dataclass(frozen=True)
class Suite:
    """One domain (see the module docstring). `prepare_rows(source, settings)` builds the prepared
    data in memory; `fingerprint_fn(source_sha256, settings)` says what it is made of (default:
    source hash, settings, prompts and the suite's code)."""

    name: str
    task_group: str
    tasks_dir: Path
    data: DataSource | None = None
    prompt_files: Mapping[str, str] = field(default_factory=dict)
    prepare_rows: Preparer | None = None
    fingerprint_fn: Fingerprinter | None = None
    source_kind: str = "file"  # what `data.source` names: a JSONL "file" or a "dir"
    raw_sample: Path | None = None  # what `data.source: sample` names (a bundled raw file)
    vocab: ReportVocab = field(default_factory=ReportVocab)
    task_prefix: str = ""  # default: "<task_group>_"
    origin: str = "built-in"  # or the module file the suite was loaded from
    # "domain": what fine-tuning should teach; "general": general-skill benchmarks, read by the
    # report's forgetting section (base vs fine-tuned on each of its tasks)
    role: str = "domain"
    # the texts the embedded tiny model (`path: tiny`) pre-trains on; None: no tiny model
    pretraining: Pretrainer | None = None
    # chat JSONL (a file or a folder; split "test"/"train" or None) -> its prepared layout
    # (`ftbench data import-chat`); None: the suite imports no chat files
    import_chat: Callable[[Path, str | None], PrepareResult] | None = None
    # study variants, parts trained apart, model kinds, report sections (study_hooks.py)
    study: StudyHooks = NO_HOOKS
    # (task, lm-eval metadata, the model's tokenizer) -> {"max_gen_toks": N, how it was made} or
    # None: an answer budget read from the data the task evaluates, used unless the study's
    # `eval.max_gen_toks` names the task (ftbench.eval.generation.task_budget); None: the YAML's
    answer_budget: Callable[[str, dict, object], dict | None] | None = None
    # (raw source, whether the study trains) -> None, or InputError: a cheap check of the
    # source's splits before any work (a study that trains on a test-only file); None: none
    check_raw: Callable[[Path, bool], None] | None = None

    def __post_init__(self) -> None:
        if not self.task_prefix:
            object.__setattr__(self, "task_prefix", f"{self.task_group}_")
        object.__setattr__(self, "tasks_dir", Path(self.tasks_dir))
        if self.source_kind not in SOURCE_KINDS:
            raise ValueError(f"Suite.source_kind must be one of {SOURCE_KINDS}")
        if self.role not in ROLES:
            raise ValueError(f"Suite.role must be one of {ROLES}")

    @property
    def evaluation_only(self) -> bool:
        return self.prepare_rows is None

    def owns(self, task: str) -> bool:
        """Whether an lm-eval task (or group) name belongs to this suite."""
        return task == self.task_group or task.startswith(self.task_prefix)

    def include_path(self) -> str:
        """lm-eval's include path for its tasks: the project's tasks, plus the suite's own
        folder when it lives elsewhere (os.pathsep-separated)."""
        own = self.tasks_dir.resolve()
        inside = own == TASKS_DIR.resolve() or TASKS_DIR.resolve() in own.parents
        return str(TASKS_DIR) if inside else os.pathsep.join([str(TASKS_DIR), str(own)])

    def prompts(self) -> dict[str, TaskPrompt]:
        """{task key: system + user prompt}, read from the suite's task YAML."""
        return read_prompts(self.tasks_dir, self.prompt_files)

    def code_dirs(self) -> list[Path]:
        """The code that shapes its prepared data: the shared suite code and its own module."""
        own = [Path(self.origin).parent] if self.origin != "built-in" else []
        return [SUITES_CODE_DIR, *own]

    def source_digest(self, source: Path) -> str:
        source = Path(source)
        return sha256_file(source) if source.is_file() else digest(tree_files(source))

    def fingerprint(self, source_sha256: str, settings: PrepareSettings) -> dict:
        """What its prepared data is made of; computable before preparing (cheap reuse checks)."""
        if self.fingerprint_fn is not None:
            return self.fingerprint_fn(source_sha256, settings)
        prompts = {t: asdict(p) for t, p in sorted(self.prompts().items())}
        fp = {"suite": self.name, "source_sha256": source_sha256,
              "settings": {**asdict(settings), "sizes": sorted(set(settings.sizes))},
              "prompts": digest(prompts), "code": code_digest(self.code_dirs())}
        return {**fp, "digest": digest(fp)}

    def prepare(self, source: Path | str, settings: PrepareSettings,
                out: Path | str) -> PrepareResult:
        """Prepare `source` into the shared layout in `out` (test.jsonl, nested train_N.jsonl,
        manifest.json); returns what was written (counts, warnings, manifest)."""
        if self.prepare_rows is None:
            raise InputError(f"suite {self.name!r} is evaluation-only: it has no data to prepare")
        source = Path(source)
        result = self.prepare_rows(source, settings)
        result.manifest.setdefault("fingerprint",
                                   self.fingerprint(self.source_digest(source), settings))
        result.manifest.setdefault("source", {"path": str(source)})
        result.manifest["suite"] = self.name
        write_prepared(result, out)
        return result
