"""Which domain suite a report's results belong to, and so which composite score ranks them.

A study records its suite in the results index (`settings.suite`, `registry.suite_record`):
the report reloads that suite, a module file included, so `ftbench report DIR` in a new process
gives the report the study gave. Results without the record (a plain `ftbench eval`, older
indexes) take the suite that owns their tasks and declares a composite; a flat table takes the
suite whose report columns it has most of.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ftbench.report.vocab import use_registered_suites
from ftbench.suites.base import Suite
from ftbench.suites.registry import all_suites, suite_from_record, suite_of_task


@dataclass(frozen=True)
class Domain:
    """The suite a report reads its results in (None: none known) and what it contributes."""

    suite: str | None = None
    composite: dict[str, float] = field(default_factory=dict)
    item_noun: str = "item"
    data_key: str | None = None  # the lm-eval metadata key naming its prepared data
    comparison: tuple[str, ...] = ()  # per-item columns of the fine-tuned vs base comparison


def _domain(suite: Suite | None, composite: dict | None = None) -> Domain:
    """`composite`: the study's own weights (recorded with its suite), else the suite's."""
    if suite is None:
        return Domain()
    return Domain(suite.name, dict(composite or suite.vocab.composite), suite.vocab.item_noun,
                  suite.data.metadata_key if suite.data is not None else None,
                  tuple(suite.vocab.comparison))


def study_domain(settings: dict, tasks, where: str, notes: list[str]) -> Domain:
    """The domain of a study's results: the suite its index records (with the study's own
    composite weights when it recorded them), else the one suite with a composite among the
    owners of its tasks."""
    record = settings.get("suite")
    if isinstance(record, dict):
        suite, note = suite_from_record(record, where)
        if note:
            notes.append(note)
        if suite is not None:
            use_registered_suites()  # a module suite loaded just now brings its columns
            return _domain(suite, record.get("composite"))
    owners = {s.name: s for t in tasks if (s := suite_of_task(t)) is not None}
    scored = [s for s in owners.values() if s.vocab.composite]
    return _domain(scored[0] if len(scored) == 1 else None)


def table_domain(columns) -> Domain:
    """The domain of a flat table: the suite with most of its report columns among `columns`."""
    present = set(columns)

    def overlap(suite: Suite) -> int:
        return len(suite.vocab.columns & present)

    best = max(all_suites(), key=overlap, default=None)
    return _domain(best if best is not None and overlap(best) else None)
