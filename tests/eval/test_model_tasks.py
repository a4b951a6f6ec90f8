"""A model evaluated on its own share of an invocation's tasks (a study's variants and parts),
and the peak memory recorded per task beside its time."""

from __future__ import annotations

import mmap
import time

import pytest

from ftbench.core.io import InputError
from ftbench.core.memory import RssSampler
from ftbench.eval.specs import ModelSpec

LEAF = ["glue_small_sst2_gen", "glue_small_rte_gen", "glue_small_sst2_gen_5shot"]


def test_a_spec_with_tasks_keeps_the_invocation_order_and_records_them():
    spec = ModelSpec("m-rte-32", "/x", tasks=["glue_small_sst2_gen_5shot", "glue_small_rte_gen"])
    assert spec.own_tasks(LEAF) == ["glue_small_rte_gen", "glue_small_sst2_gen_5shot"]
    assert spec.to_dict()["tasks"] == ["glue_small_sst2_gen_5shot", "glue_small_rte_gen"]
    plain = ModelSpec("m-base", "/x")
    assert plain.own_tasks(LEAF) == LEAF
    assert "tasks" not in plain.to_dict()  # records of models on every task read as before
    assert ModelSpec(**ModelSpec("w", "/x", tasks=("a",)).to_dict()).tasks == ("a",)  # worker


def test_a_spec_naming_a_task_outside_the_invocation_is_refused():
    from ftbench.eval.orchestrator import EvalSettings, eval_context

    settings = EvalSettings(tasks=["bmw_title"], backend="hf")  # bundled data: no hub check
    spec = ModelSpec("m", "/x", tasks=["bmw_type"])
    with pytest.raises(InputError, match="model m: its tasks bmw_type are not among"):
        eval_context(settings, [spec])


def test_the_sampler_gives_each_window_its_own_peak():
    # Fresh anonymous pages, touched one byte a page: they always add to RSS, whatever the
    # allocator of this (long-lived, xdist) process keeps resident from earlier tests — a
    # bytes object of the same size reused such pages once and left RSS flat (CI, stop 31).
    size = 64 * 2**20
    with RssSampler(interval=0.01) as rss:
        t0 = time.time()
        time.sleep(0.2)
        t1 = time.time()
        time.sleep(0.05)  # past the window's one-interval slack before the pages grow
        block = mmap.mmap(-1, size)
        for offset in range(0, size, mmap.PAGESIZE):
            block[offset] = 1
        time.sleep(0.2)
        t2 = time.time()
    assert rss.peak(t0, t1) is not None and rss.peak(t1 + 0.1, t2) > rss.peak(t0, t1) + 32
    assert rss.peak(t2 + 60, t2 + 61) is None  # no sample there
    block.close()
