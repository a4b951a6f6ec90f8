"""Answer-vs-reference overlap for free answers: keyword overlap and normalised exact match.

Keyword overlap is the measure a small Q&A study reports ("did the answer mention what the
expected answer says?"): the share of the reference's distinct content words that the answer
contains. Content words = lower-cased letter/digit runs that are not English stop words
(scikit-learn's list) and not a single character, compared after Porter stemming (the stemmer
ROUGE uses, so "models" meets "model"). It is recall-like on purpose: a long answer is not
penalised, which the length ratio reports instead.
"""

from __future__ import annotations

import re
import string
from functools import cache

from rouge_score.tokenizers import DefaultTokenizer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_WORD_RE = re.compile(r"[^\W_]+")
_ARTICLES_RE = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


@cache
def _stem(word: str) -> str:
    """Porter stem of one word, through rouge_score (the stemmer its ROUGE-with-stemming uses)."""
    tokens = _stemming_tokenizer().tokenize(word)
    return tokens[0] if tokens else word


@cache
def _stemming_tokenizer() -> DefaultTokenizer:
    return DefaultTokenizer(use_stemmer=True)


def content_words(text: str) -> set[str]:
    """The distinct stemmed content words of `text` (see the module docstring)."""
    words = _WORD_RE.findall((text or "").lower())
    return {_stem(w) for w in words if len(w) > 1 and w not in ENGLISH_STOP_WORDS}


def keyword_overlap(reference: str, answer: str) -> float:
    """Share of the reference's distinct content words found in the answer, in [0, 1];
    NaN when the reference has no content word (nothing to find: skipped by `nanmean`)."""
    wanted = content_words(reference)
    if not wanted:
        return float("nan")
    return len(wanted & content_words(answer)) / len(wanted)


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = (text or "").lower().translate(_PUNCT)
    return " ".join(_ARTICLES_RE.sub(" ", text).split())


def normalized_exact_match(reference: str, answer: str) -> float:
    """1.0 when both normalise to the same non-empty text, else 0.0."""
    ref = normalize_answer(reference)
    return float(bool(ref) and ref == normalize_answer(answer))
