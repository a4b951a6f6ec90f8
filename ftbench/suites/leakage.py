"""Reference leakage: how often a task's answer is already written in its prompt.

Many press articles *begin* with their own summary, and a title often sits verbatim in a prompt
that holds the summary. A model that copies the lead of the input then scores high ROUGE without
summarising anything. A suite's `prepare` measures this per free-text task on the rows it writes
(the exact text a model will see) and records a copy baseline — ROUGE of the input's first words
against the reference — so a report can put each task's scores beside what copying would have
scored.

"Verbatim" means the reference's words in the same order with any whitespace between them
(line breaks in the article do not hide a copy); case and punctuation must match.
"""

from __future__ import annotations

import re
from statistics import mean

from ftbench.metrics.text import rouge_scores


def _pattern(reference: str) -> re.Pattern[str] | None:
    words = reference.split()
    if not words:
        return None
    return re.compile(r"\s+".join(re.escape(w) for w in words))


def contains_reference(text: str, reference: str) -> bool:
    pattern = _pattern(reference)
    return bool(pattern and pattern.search(text))


def starts_with_reference(text: str, reference: str) -> bool:
    pattern = _pattern(reference)
    return bool(pattern and pattern.match(text.lstrip()))


def strip_leading_reference(text: str, reference: str) -> str:
    """`text` without a verbatim leading copy of `reference` (and the whitespace after it)."""
    pattern = _pattern(reference)
    stripped = text.lstrip()
    match = pattern.match(stripped) if pattern else None
    if match is None:
        return text
    rest = stripped[match.end():].lstrip()
    return rest or text  # never leave an empty input: an article that IS its summary stays


def lead(text: str, n_words: int) -> str:
    """The first `n_words` words of `text` (the copy a lazy model would give)."""
    return " ".join(text.split()[:n_words])


def copy_baseline(pairs: list[tuple[str, str]]) -> dict:
    """Mean ROUGE F1 of the input's lead (as many words as the reference) vs the reference."""
    scores = [rouge_scores(ref, lead(inp, len(ref.split()))) for inp, ref in pairs]
    if not scores:
        return {"n": 0}
    out = {name: round(mean(s[name] for s in scores), 4) for name in ("rouge1", "rouge2", "rougeL")}
    out["rougeL_max"] = round(max(s["rougeL"] for s in scores), 4)
    out.update(n=len(scores), lead_words="reference length")
    return out


def leakage_audit(rows: list[dict], tasks) -> dict[str, dict]:
    """Per task of `tasks` (those whose reference is free text that can be copied from the
    input) over eval rows {task, input, target}: counts and the copy baseline."""
    out: dict[str, dict] = {}
    for task in tasks:
        pairs = [(r["input"], r["target"]) for r in rows if r.get("task") == task]
        out[task] = {
            "n": len(pairs),
            "reference_in_input": sum(contains_reference(i, t) for i, t in pairs),
            "input_starts_with_reference": sum(starts_with_reference(i, t) for i, t in pairs),
            "copy_baseline": copy_baseline(pairs),
        }
    return out
