"""Lexical metrics for the generation tasks (summary, title): ROUGE F1 and length statistics.

ROUGE comes from Google's `rouge_score` package with Porter stemming, the setup the published
study used, so our numbers stay comparable with its table.
"""

from __future__ import annotations

from functools import cache

from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@cache
def _scorer() -> rouge_scorer.RougeScorer:
    """One scorer per process: building it (stemmer, tokenizer) per sample is wasted work."""
    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def rouge_scores(reference: str, prediction: str) -> dict[str, float]:
    """ROUGE-1/2/L F1 of `prediction` against `reference`.

    An empty (or whitespace-only) side scores 0.0 everywhere, so a model that answers nothing is
    simply wrong instead of tripping over edge cases in the scorer.
    """
    if not (reference or "").strip() or not (prediction or "").strip():
        return {name: 0.0 for name in ROUGE_TYPES}
    scores = _scorer().score(reference, prediction)
    return {name: float(scores[name].fmeasure) for name in ROUGE_TYPES}


def word_count(text: str) -> int:
    """Whitespace-delimited words: cheap, tokenizer-independent length used for length ratios."""
    return len((text or "").split())


def length_ratio(reference: str, prediction: str) -> float:
    """Words in the prediction per word in the reference (1.0 = same length).

    An empty reference has no meaningful ratio: NaN, so means can skip it (lm-eval's `nanmean` aggregation).
    """
    ref_words = word_count(reference)
    if ref_words == 0:
        return float("nan")
    return word_count(prediction) / ref_words
