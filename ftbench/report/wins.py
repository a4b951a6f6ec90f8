"""Win / tie / loss of a fine-tuned model against its base, item by item, and its sign test.

The shape small fine-tuning studies publish ("fine-tuned better 3/10, base better 5/10, similar
2/10"): each item's verdict from the two scores and a stated tie margin. One rule for every
table that counts better / worse / similar items (the per-example comparison, the paired
section), so a margin means the same everywhere: |difference| <= margin is similar.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binomtest

BETTER, WORSE, SIMILAR = "fine-tuned better", "base better", "similar"
# float slack so a difference of exactly the margin (0.31 - 0.30 vs 0.01) counts as similar
_SLACK = 1e-9


def verdict_codes(deltas, margin: float) -> np.ndarray:
    """+1 / -1 / 0 per difference (fine-tuned - base, higher is better; NaN gives 0)."""
    d = np.asarray(deltas, dtype=float)
    codes = np.where(d > margin + _SLACK, 1, np.where(d < -margin - _SLACK, -1, 0))
    return np.where(np.isnan(d), 0, codes)


def verdicts(base, finetuned, margin: float, *, higher_is_better: bool = True) -> list[str]:
    """Each item's verdict from its base and fine-tuned scores (lower-is-better flips them)."""
    delta = np.asarray(finetuned, dtype=float) - np.asarray(base, dtype=float)
    codes = verdict_codes(delta if higher_is_better else -delta, margin)
    return [BETTER if c > 0 else WORSE if c < 0 else SIMILAR for c in codes]


def count(items: list[str]) -> dict:
    """Counts of the verdicts, the two-sided sign test on wins vs losses (ties dropped), and
    the published sentence."""
    wins, losses, ties = items.count(BETTER), items.count(WORSE), items.count(SIMILAR)
    n = len(items)
    decided = wins + losses
    p = binomtest(wins, decided, 0.5).pvalue if decided else math.nan
    return {"n": n, "finetuned_better": wins, "base_better": losses, "similar": ties,
            "sign_test_p": float(p),
            "summary": f"{BETTER} {wins}/{n}, {WORSE} {losses}/{n}, {SIMILAR} {ties}/{n}"}
