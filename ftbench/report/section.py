"""The unit every report part produces: titled tables + findings, or the reason it was skipped.

Sections know nothing of files or terminals; `build` writes their tables as CSV, `markdown`
and `terminal` render them. That keeps each computation testable as a plain function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ftbench.report.loading import ReportData
from ftbench.report.vocab import OVERALL


@dataclass
class Options:
    top_n: int = 5
    compare: tuple[str, str] | None = None
    baseline: str | None = None
    metric: str | None = None
    tie_threshold: float = 0.01
    n_samples: int = 5
    n_boot: int = 1000
    seed: int = 0


@dataclass
class Section:
    key: str
    title: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)
    plots: dict[str, str] = field(default_factory=dict)  # name -> relative path
    skipped: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.tables and not self.text and not self.plots

    def skip(self, reason: str) -> Section:
        self.skipped.append(reason)
        return self


@dataclass
class Shared:
    """What the report's parts hand each other, each field with one writer.

    Set by `build` before any section runs: `base` (or `base_missing`, why there is none),
    `focus` (the pair compared in detail) and `vs_leader` (every model vs the leader).
    Filled on first use by whoever needs them first (so section order does not matter):
    `families` (`families.families`), `item_counts` (`resolution.item_counts`),
    `class_baselines` (`baselines.baseline_table`), `item_overall` (`items.item_scores`),
    `per_example` (`per_example.item_table`: every fine-tuned model vs its base, per item).
    Results a later section or the plots read: `pair` (section 8 → 9 and the markdown),
    `resolution` and `adjacent_ranks` (resolution section → plots), `scaling_fit`,
    `confusion`, `forgetting_tradeoff`, `forgetting_by_train_size` (→ plots). `suite`: what
    the results' suite's own sections hand the files behind them (`Suite.study.report_sections`
    → `report_files`), keyed by the suite's own names.
    """

    base: str | None = None
    base_missing: str | None = None
    focus: tuple[str, str] | None = None
    vs_leader: pd.DataFrame | None = None
    families: dict | None = None
    item_counts: dict[str, tuple[int, str]] | None = None
    class_baselines: pd.DataFrame | None = None
    item_overall: dict[str, pd.Series | None] = field(default_factory=dict)
    per_example: pd.DataFrame | None = None
    pair: tuple[str, str] | None = None
    resolution: pd.DataFrame | None = None
    adjacent_ranks: pd.DataFrame | None = None
    scaling_fit: pd.DataFrame | None = None
    confusion: dict | None = None
    forgetting_tradeoff: pd.DataFrame | None = None
    forgetting_by_train_size: pd.DataFrame | None = None
    suite: dict = field(default_factory=dict)


@dataclass
class Context:
    """Loaded data, the user's options, and what the report's parts hand each other."""

    data: ReportData
    options: Options
    score: str = OVERALL
    shared: Shared = field(default_factory=Shared)

    @property
    def table(self) -> pd.DataFrame:
        return self.data.table

    def scored(self) -> pd.DataFrame:
        """Models that have the ranking score, best first."""
        t = self.table.dropna(subset=[self.score])
        return t.sort_values(self.score, ascending=False, kind="stable").reset_index(drop=True)
