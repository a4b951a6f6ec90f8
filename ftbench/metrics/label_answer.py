"""Which label a free-text classification answer commits to — or that it commits to none.

`classification.parse_label` takes the earliest label anywhere in the text, which credits
non-answers: listing every label scores the majority rate, "not a Press Kit; it is a Press
Release" scores Press Kit, "Press Release or Speech" counts as an answer. Here an answer counts
only when it commits to exactly ONE label:

1. a first line that is just a label ("**Press Kit**", "Type: press-release.") commits to it,
   whatever the explanation below says;
2. otherwise every mention of a label is collected; a negated mention ("not a Press Kit",
   "neither a Speech nor a Press Kit", "rather than a Speech") is not an answer; exactly one
   distinct remaining label is the answer (mentioning it twice is fine); two or more are
   ambiguous; none is no answer.

Matching is case, punctuation, hyphen and '&'/'and' tolerant, with optional plurals and
run-together words ("PressRelease"), as in `parse_label`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

OK, EMPTY, NO_LABEL, NEGATED, AMBIGUOUS = "ok", "empty", "no_label", "negated", "ambiguous"

_NEGATION_CUES = {"not", "no", "never", "neither", "nor", "non", "unlike", "except", "without"}
_CUE_PAIRS = {("rather", "than"), ("instead", "of"), ("other", "than")}
_CONTRAST = {"but", "however", "rather", "instead", "although", "though", "whereas", "yet",
             "while", "actually"}
_COORDINATION = {",", "or", "nor", "and", "a", "an", "the", "either", "/"}
_NEGATION_WINDOW = 4  # words between a cue and the label it negates ("not really considered a")
_CLAUSE_END = {".", "!", "?", ";", ":", "\n", "(", ")", "—", "–", "-"}
# words and the punctuation that bounds a clause; a dash only when spaced (press-release is a word)
_TOKEN_RE = re.compile(r"[^\W_]+|[.!?;:,()/\n]|(?<=\s)[-–—](?=\s)")
_PREFIX_RE = re.compile(r"^[^:\n]{0,40}:\s*")
_MARKUP = " \t*_#`'\"“”‘’«»[]{}<>.!?:,;"


@dataclass(frozen=True)
class LabelAnswer:
    """The committed label (None when there is none) and why: ok / empty / no_label / negated /
    ambiguous (the last four are format failures, counted as `unparseable`)."""

    label: str | None
    status: str
    mentioned: tuple[str, ...] = ()


def _tokens(text: str) -> list[str]:
    text = text.casefold().replace("&", " and ")
    text = re.sub(r"n['’]t\b", " not", text)
    return _TOKEN_RE.findall(text)


def _label_words(label: str) -> list[str]:
    return [t for t in _tokens(label) if t not in _CLAUSE_END and t not in {",", "/"}]


def _word_matches(token: str, word: str) -> bool:
    return token in (word, word + "s", word + "es")


def _match_at(tokens: list[str], i: int, words: list[str]) -> int:
    """Number of tokens the label occupies at position i (0: no match)."""
    if i >= len(tokens):
        return 0
    if i + len(words) <= len(tokens) and all(
            _word_matches(tokens[i + j], w) for j, w in enumerate(words)):
        return len(words)
    return 1 if len(words) > 1 and _word_matches(tokens[i], "".join(words)) else 0


def _mentions(tokens: list[str], labels: Sequence[str]) -> list[tuple[int, int, str]]:
    """(start, end, label) of each mention, longest label first at a position, no overlaps."""
    words = sorted(((label, _label_words(label)) for label in labels),
                   key=lambda lw: -len(lw[1]))
    found, i = [], 0
    while i < len(tokens):
        for label, lw in words:
            n = _match_at(tokens, i, lw) if lw else 0
            if n:
                found.append((i, i + n, label))
                i += n
                break
        else:
            i += 1
    return found


def _negated_by_cue(tokens: list[str], start: int) -> bool:
    words_seen, j = 0, start - 1
    while j >= 0 and words_seen <= _NEGATION_WINDOW:
        token = tokens[j]
        if token in _CLAUSE_END or token == ",":
            return False
        if j > 0 and (tokens[j - 1], token) in _CUE_PAIRS:
            return True
        if token in _NEGATION_CUES:
            return True
        if token in _CONTRAST:
            return False
        words_seen += 1
        j -= 1
    return False


def _first_line_label(text: str, labels: Sequence[str]) -> str | None:
    """The label when the first non-empty line is nothing but that label (plus markup/prefix)."""
    line = next((ln for ln in text.splitlines() if ln.strip(_MARKUP)), "")
    line = _PREFIX_RE.sub("", line.strip(_MARKUP), count=1).strip(_MARKUP)
    tokens = [t for t in _tokens(line) if t not in _CLAUSE_END]
    if not tokens:
        return None
    for label in labels:
        words = _label_words(label)
        if words and _match_at(tokens, 0, words) == len(tokens):
            return label
    return None


def label_answer(text: str | None, labels: Sequence[str]) -> LabelAnswer:
    """The one label `text` commits to, with the reason when there is none (see module doc)."""
    text = (text or "").strip()
    if not text:
        return LabelAnswer(None, EMPTY)
    first = _first_line_label(text, labels)
    tokens = _tokens(text)
    mentions = _mentions(tokens, labels)
    mentioned = tuple(dict.fromkeys(label for _, _, label in mentions))
    if first is not None:
        return LabelAnswer(first, OK, mentioned)
    committed: list[str] = []
    previous: tuple[int, bool] | None = None  # (end, negated) of the previous mention
    for start, end, label in mentions:
        negated = _negated_by_cue(tokens, start)
        if not negated and previous is not None and previous[1]:
            between = tokens[previous[0]:start]
            negated = all(t in _COORDINATION for t in between)
        previous = (end, negated)
        if not negated and label not in committed:
            committed.append(label)
    if len(committed) == 1:
        return LabelAnswer(committed[0], OK, mentioned)
    if committed:
        return LabelAnswer(None, AMBIGUOUS, mentioned)
    return LabelAnswer(None, NEGATED if mentions else NO_LABEL, mentioned)


def committed_label(text: str | None, labels: Sequence[str]) -> str | None:
    """The label `text` commits to, or None (no label, only negated ones, or several)."""
    return label_answer(text, labels).label
