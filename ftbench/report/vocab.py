"""One metric vocabulary for both sources, gathered from the suites (`Suite.vocab`).

The flat CSV (`peer_model_comparison.csv`) and lm-eval results name the same quantities
differently (`summ_rougeL_f1` vs `<suite>_summarization` / `rougeL`). Each suite maps its
lm-eval names onto report columns once (`Suite.vocab`: e.g. the published CSV's names);
merging them here lets every table, statistic and plot run on either source and any suite.
"""

from __future__ import annotations

from ftbench.core.io import InputError
from ftbench.core.lm_eval_glue import task_metric_directions
from ftbench.suites.base import TaskKind

OVERALL = "overall_score"

# Filled from the suites' vocabularies (`ReportVocab`) by `use_registered_suites`, in place, so
# every module that imported these names sees a suite loaded later (a study's `suite:` module).
# lm-eval task -> {lm-eval metric -> column}
TASK_COLUMNS: dict[str, dict[str, str]] = {}
COLUMN_TASK: dict[str, str] = {}
# Headline metrics per task (ranking, per-task plots); the first present is the task's headline.
# Merged by key, first suite first; `headlines(suite)` puts a report's own suite first, so two
# suites' `perplexity` keys each resolve to their own columns in their own reports.
HEADLINES: dict[str, tuple[str, ...]] = {}
SUITE_HEADLINES: dict[str, dict[str, tuple[str, ...]]] = {}  # suite name -> its own headlines
LOWER_IS_BETTER: set[str] = set()
# Descriptive columns, not scores: never "best"/"worst".
DESCRIPTIVE: set[str] = {"rank", "train_size", "params_b"}
# Per-sample metrics that are 0/1 (McNemar rather than bootstrap/permutation).
BINARY: set[str] = set()
PERPLEXITY_COLUMNS = ("perplexity", "word_perplexity")
GROUPS: set[str] = set()  # the suites' lm-eval group names (their results carry no columns)
# lm-eval task -> what its answers are (per-sample parsing, class baselines, leakage)
TASK_KINDS: dict[str, TaskKind] = {}
KEY_METRICS: list[str] = []  # the columns compact views show, in the suites' order
PLOT_GROUPS: dict[str, tuple[str, ...]] = {}  # plot name -> columns drawn together
_USED: set[str] = set()
_UNREAD: list = []  # suites whose task YAML directions are not in LOWER_IS_BETTER yet


def use_registered_suites() -> None:
    """Merge the vocabulary of every registered suite not merged yet (idempotent)."""
    from ftbench.suites.registry import all_suites

    for suite in all_suites():
        key = f"{suite.name}@{suite.origin}"
        if key in _USED:
            continue
        _USED.add(key)
        v = suite.vocab
        GROUPS.add(suite.task_group)
        for task, cols in v.task_columns.items():
            TASK_COLUMNS.setdefault(task, dict(cols))
            for col in cols.values():
                COLUMN_TASK.setdefault(col, task)
        for col, task in v.extra_columns.items():
            COLUMN_TASK.setdefault(col, task)
        for key_, options in v.headlines.items():
            HEADLINES.setdefault(key_, tuple(options))
        SUITE_HEADLINES.setdefault(suite.name, {k: tuple(o) for k, o in v.headlines.items()})
        LOWER_IS_BETTER.update(v.lower_is_better)
        _UNREAD.append(suite)  # its task YAML's directions: read on first use (lower_is_better)
        DESCRIPTIVE.update(v.descriptive)
        BINARY.update(v.binary)
        for task, kind in v.task_kinds.items():
            TASK_KINDS.setdefault(task, kind)
        keys = v.key_metrics or tuple(o[0] for o in v.headlines.values() if o)
        KEY_METRICS.extend(c for c in keys if c not in KEY_METRICS)
        groups = v.plot_groups or ({suite.name: keys} if keys else {})
        for name, cols in groups.items():
            PLOT_GROUPS.setdefault(name, tuple(cols))


use_registered_suites()


def metric_columns(columns) -> list[str]:
    """The metric columns (known vocabulary) among `columns`, in vocabulary order."""
    known = [c for cols in TASK_COLUMNS.values() for c in cols.values()]
    known += ["perplexity", "avg_loss", OVERALL]
    present = set(columns)
    return [c for c in dict.fromkeys(known) if c in present]


def tasks_of_kind(*kinds: str) -> list[str]:
    """The lm-eval tasks whose answers are of one of `kinds` (`TaskKind.kind`), in suite order."""
    return [t for t, k in TASK_KINDS.items() if k.kind in kinds]


def headlines(suite: str | None = None) -> dict[str, tuple[str, ...]]:
    """Task key -> headline candidates: the report's suite's own keys first, then the other
    suites' keys it does not have (None: every suite's, merged first suite first)."""
    own = SUITE_HEADLINES.get(suite or "", {})
    return {**own, **{k: v for k, v in HEADLINES.items() if k not in own}}


def task_headline(task: str) -> str | None:
    """A task's headline column: the first headline candidate (of any suite) that belongs to it."""
    return next((c for suite in SUITE_HEADLINES.values() for options in suite.values()
                 for c in options if COLUMN_TASK.get(c) == task), None)


def answer_headlines(*kinds: str) -> dict[str, str]:
    """lm-eval task -> headline column, for the tasks whose answers are of one of `kinds`."""
    return {t: h for t in tasks_of_kind(*kinds) if (h := task_headline(t)) is not None}


def task_name(task: str) -> str:
    """A task's short name in tables (`TaskKind.name`), else the lm-eval name."""
    kind = TASK_KINDS.get(task)
    return kind.name if kind is not None and kind.name else task


def ordered_descriptive() -> list[str]:
    """The descriptive columns (lengths, counts) in vocabulary order."""
    return [c for cols in TASK_COLUMNS.values() for c in cols.values() if c in DESCRIPTIVE]


def lower_is_better() -> set[str]:
    """The columns where lower is better: a task column's direction is its task YAML's
    `higher_is_better` (descriptive columns have none in the report, whatever lm-eval needs the
    YAML to say), a flat table's own columns the suite's word. The YAML is read on first use,
    so a command that never ranks pays nothing for it."""
    while _UNREAD:
        suite = _UNREAD.pop(0)
        v = suite.vocab
        directions = task_metric_directions(suite.tasks_dir.resolve())
        for task, cols in v.task_columns.items():
            for metric, col in cols.items():
                if directions.get(task, {}).get(metric) is False and col not in v.descriptive:
                    LOWER_IS_BETTER.add(col)
    return LOWER_IS_BETTER


def higher_is_better(column: str) -> bool:
    return column not in lower_is_better()


def perplexity_column(columns) -> str | None:
    """The corpus perplexity column: a flat table's `perplexity`, else the column a suite maps
    its perplexity task's `word_perplexity` onto (the first suite's first)."""
    tasks = [cols["word_perplexity"] for cols in TASK_COLUMNS.values() if "word_perplexity" in cols]
    return next((c for c in dict.fromkeys([*PERPLEXITY_COLUMNS, *tasks]) if c in set(columns)),
                None)


def resolve_metric(name: str, available) -> str:
    """A user's metric name -> column: `summ_rougeL_f1`, `<task>:rougeL`, or a bare
    lm-eval name (`rougeL`) when it names exactly one available column."""
    available = list(available)
    if name in available:
        return name
    task, sep, metric = name.replace("/", ":").partition(":")
    if sep:
        col = TASK_COLUMNS.get(task, {}).get(metric)
        if col in available:
            return col
    else:
        hits = [cols[name] for cols in TASK_COLUMNS.values()
                if name in cols and cols[name] in available]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise InputError(f"metric {name!r} is ambiguous; use one of {', '.join(hits)}")
    raise InputError(f"metric {name!r} is not available; choose from {', '.join(available)}")
