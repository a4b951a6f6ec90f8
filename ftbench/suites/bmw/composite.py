"""The published study's single overall score, so our runs rank on the same scale as its table.

The weights were recovered from the study's own results table
(`shared/data/bmw/peer_model_comparison.csv`) by least squares over its 24 rows; they reproduce
its `overall_score` column exactly (residual ~1e-32). Keys are that table's column names.
"""

from __future__ import annotations

from collections.abc import Mapping

from ftbench.metrics.overall import weighted_score

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
    """The study's overall score of one row (KeyError naming missing components)."""
    return weighted_score(OVERALL_WEIGHTS, metrics)
