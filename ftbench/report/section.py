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
class Context:
    """Loaded data, the user's options, and results shared between sections."""

    data: ReportData
    options: Options
    score: str = OVERALL
    shared: dict = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        return self.data.table

    def scored(self) -> pd.DataFrame:
        """Models that have the ranking score, best first."""
        t = self.table.dropna(subset=[self.score])
        return t.sort_values(self.score, ascending=False, kind="stable").reset_index(drop=True)
