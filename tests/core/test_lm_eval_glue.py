"""The lm-eval glue (ftbench/core/lm_eval_glue.py) without a model: its log filter."""

from __future__ import annotations

import logging


def test_lm_eval_custom_dataset_hint_is_dropped_and_real_warnings_kept(caplog):
    from ftbench.core.lm_eval_glue import quiet_custom_dataset_hint

    quiet_custom_dataset_hint()  # what every evaluation does first

    logger = logging.getLogger("lm_eval.api.task")
    with caplog.at_level(logging.WARNING, logger="lm_eval.api.task"):
        logger.warning("bmw_title: Custom kwargs can be passed to `--metadata` in console")
        logger.warning("bmw_title: a real problem")
    assert [r.getMessage() for r in caplog.records] == ["bmw_title: a real problem"]
