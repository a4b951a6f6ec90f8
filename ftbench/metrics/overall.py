"""The published study's single overall score, so our runs rank on the same scale as its table.

The weights were recovered from the study's own results table
(`shared/data/bmw/peer_model_comparison.csv`) by least squares over its 24 rows; they reproduce
its `overall_score` column exactly (residual ~1e-32). Keys are that table's column names.
"""

from __future__ import annotations

from collections.abc import Mapping

OVERALL_WEIGHTS: dict[str, float] = {
    "summ_rougeL_f1": 0.15,
    "summ_bertscore_f1": 0.15,
    "title_rougeL_f1": 0.10,
    "title_bertscore_f1": 0.10,
    "tag_jaccard": 0.15,
    "tag_f1": 0.15,
    "type_accuracy": 0.20,
}


def overall_score(metrics: Mapping[str, float]) -> float:
    """Weighted sum of the seven component metrics (weights sum to 1, so the range is [0, 1]).

    Raises KeyError naming every missing component rather than scoring a partial run.
    """
    missing = [name for name in OVERALL_WEIGHTS if name not in metrics]
    if missing:
        raise KeyError(f"overall_score needs missing metric(s): {', '.join(missing)}")
    return sum(weight * float(metrics[name]) for name, weight in OVERALL_WEIGHTS.items())
