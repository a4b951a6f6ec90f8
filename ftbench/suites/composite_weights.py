"""A study's own composite weights (`report.composite`), checked against its suite at load.

A suite declares default weights for its overall score (`ReportVocab.composite`); a study may
weigh the same columns differently. The check runs when the config loads — the report comes
hours later — and the weights used are recorded with the results (the suite record in the
results index), so `ftbench report DIR` ranks as the study did. Weights are scaled to sum to 1
(the overall score keeps its [0, 1] range); a weight of 0 leaves that column out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ftbench.core.io import InputError
from ftbench.suites.base import Suite

KEY = "report.composite"


def composite_weights(suite: Suite, given: Mapping[str, float] | None) -> dict[str, float] | None:
    """The study's weights, scaled to sum to 1, or None (the suite's defaults); InputError
    naming the key for an unknown column, a negative or non-finite weight, or a zero sum."""
    if given is None:
        return None
    known = suite.vocab.columns
    for column, weight in given.items():
        if column not in known:
            raise InputError(f"config key '{KEY}.{column}': suite {suite.name!r} reports no such "
                             f"column; known: {', '.join(sorted(known))}")
        if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
            raise InputError(f"config key '{KEY}.{column}': a weight must be a finite number "
                             f">= 0, got {weight!r}")
    total = sum(given.values())
    if total <= 0:
        raise InputError(f"config key '{KEY}': the weights must sum to more than 0; got "
                         f"{dict(given)!r}")
    return {column: weight / total for column, weight in given.items() if weight > 0}
