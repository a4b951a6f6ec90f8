"""The report's numeric settings, one rule wherever they are read.

Why here and without pandas: a study checks its `report` keys when its config is loaded (before
data, training and evaluation, which take hours) and `ftbench report` checks its flags before it
reads a file; both use this rule, so a NaN threshold never reaches a comparison (every `d > nan`
is False, and all items would silently count as neither better nor worse).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ftbench.core.io import InputError


def check_report_settings(top_n: int, tie_threshold: float, n_samples: int,
                          name: Callable[[str], str] = str) -> None:
    """InputError naming the first bad setting (`name` maps a key to how the user wrote it)."""
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise InputError(f"{name('top_n')}: must be an integer >= 1, got {top_n!r}")
    if isinstance(tie_threshold, bool) or not isinstance(tie_threshold, (int, float)) \
            or not math.isfinite(tie_threshold) or tie_threshold < 0:
        raise InputError(f"{name('tie_threshold')}: must be a finite number >= 0, "
                         f"got {tie_threshold!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 0:
        raise InputError(f"{name('n_samples')}: must be an integer >= 0, got {n_samples!r}")
