"""A suite's single overall score: the weighted sum of its component metrics.

A suite declares the weights (`ReportVocab.composite`); the published study's are in its
suite. One function computes every composite, so the report, its checks and its per-item
scores can never disagree on the arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping


def weighted_score(weights: Mapping[str, float], metrics: Mapping[str, float]) -> float:
    """Weighted sum of the component metrics; weights summing to 1 keep a [0, 1] range.

    Raises KeyError naming every missing component rather than scoring a partial run.
    """
    missing = [name for name in weights if name not in metrics]
    if missing:
        raise KeyError(f"overall score needs missing metric(s): {', '.join(missing)}")
    return sum(weight * float(metrics[name]) for name, weight in weights.items())
