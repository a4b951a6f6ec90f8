"""Perplexity in bounded memory: same numbers as upstream lm-eval, no full-vocabulary batch tensor."""

from __future__ import annotations

import pytest

from ftbench.eval.bounded_hf import BoundedHFLM, token_batches
from ftbench.suites.bmw.schema import load_articles

CONTEXT = 512


@pytest.fixture(scope="module")
def long_texts(bmw_raw) -> list[str]:
    arts, _ = load_articles(bmw_raw)
    return [a.content for a in sorted(arts, key=lambda a: -len(a.content))[:2]]


def _requests(texts):
    from lm_eval.api.instance import Instance

    return [Instance(request_type="loglikelihood_rolling", doc={}, arguments=(t,), idx=i)
            for i, t in enumerate(texts)]


def _lm(cls, tiny_model, max_length: int, **kwargs):
    return cls(pretrained=str(tiny_model), max_length=max_length, batch_size=8, device="cpu",
               dtype="float32", **kwargs)


def test_token_batches_bound_tokens_not_rows():
    windows = [(i, [0], list(range(n))) for i, n in enumerate([510, 100, 300, 510, 20, 20, 20])]
    batches = token_batches(windows, 600)
    assert sorted(w for b in batches for w in b) == sorted(windows)
    for b in batches:
        width = max(len(c) + len(t) - 1 for _, c, t in b)
        assert len(b) == 1 or len(b) * width <= 600
    assert [len(b) for b in batches] == [1, 1, 2, 3]  # 510 | 510 | 300+100 | 20+20+20


def test_bounded_rolling_equals_upstream_and_never_builds_a_full_batch_of_logits(
        tiny_model, long_texts):
    from lm_eval.models.huggingface import HFLM

    # upstream windows are max_length tokens; ours are context - 2 (vLLM's): compare like with like
    upstream = _lm(HFLM, tiny_model, CONTEXT - 2).loglikelihood_rolling(_requests(long_texts))
    lm = _lm(BoundedHFLM, tiny_model, CONTEXT, logit_chunk_tokens=100, rolling_batch_tokens=1024)
    head_rows, decoder_shapes = [], []
    lm._head().register_forward_hook(lambda m, i, o: head_rows.append(o.shape[-2]))
    lm._decoder().register_forward_hook(lambda m, i, kw, o: decoder_shapes.append(
        tuple(kw["input_ids"].shape)), with_kwargs=True)
    ours = lm.loglikelihood_rolling(_requests(long_texts))

    assert lm._chunked_ok is True
    for a, b in zip(upstream, ours, strict=True):
        assert b == pytest.approx(a, rel=1e-6)
    assert len(decoder_shapes) > 2  # thousands of tokens per article: many windows
    assert all(rows * width <= 1024 or rows == 1 for rows, width in decoder_shapes)
    assert max(w for _, w in decoder_shapes) == CONTEXT - 2
    # the LM head only ever sees 100 positions at a time (the first is the 48-token self-check)
    assert head_rows and max(head_rows) <= 100


def test_a_head_the_chunks_cannot_reproduce_falls_back_to_full_logits(
        tiny_model, long_texts, monkeypatch, caplog):
    from lm_eval.models.huggingface import HFLM

    texts = [long_texts[1][:3000]]
    upstream = _lm(HFLM, tiny_model, CONTEXT - 2).loglikelihood_rolling(_requests(texts))
    monkeypatch.setattr(BoundedHFLM, "_finish_logits", lambda self, logits: logits * 2.0)
    lm = _lm(BoundedHFLM, tiny_model, CONTEXT)
    ours = lm.loglikelihood_rolling(_requests(texts))
    assert lm._chunked_ok is False
    assert "using full logits per window" in caplog.text
    assert ours[0] == pytest.approx(upstream[0], rel=1e-6)


def test_the_token_budget_does_not_grow_with_the_context(tiny_model, long_texts):
    """A long-context model must not batch its whole context's worth of articles into one
    forward pass: the budget is fixed; only a single window longer than it runs alone."""
    budget = 200
    lm = _lm(BoundedHFLM, tiny_model, CONTEXT, rolling_batch_tokens=budget)
    shapes = []
    lm._decoder().register_forward_hook(lambda m, i, kw, o: shapes.append(
        tuple(kw["input_ids"].shape)), with_kwargs=True)
    texts = [t[: 300 + 40 * i] for i, t in enumerate(long_texts)] * 3  # short, batchable
    lm.loglikelihood_rolling(_requests(texts))
    assert shapes and any(rows > 1 for rows, _ in shapes)
    assert all(rows * width <= budget or rows == 1 for rows, width in shapes), shapes
