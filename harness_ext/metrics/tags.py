"""Tag prediction: parse a model's free-text tag answer and score it against the gold tags.

Models answer in many shapes (comma lists, bullets, numbered lists, JSON, a "Tags:" prefix), so
parsing is deliberately forgiving; scoring is on normalised sets, so case, spacing and quoting
never count as errors. Real BMW tags contain `&`, hyphens, digits, spaces and capitals
("Fact & Figures", "Rolls-Royce Motor Cars", "24h Races"); none of those ever split a tag.
"""

from __future__ import annotations

import ast
import json
import re
import unicodedata

# "Tags:", "Topics:", "Here are the tags:" ... at the start of the answer or of a line.
_LABEL_RE = re.compile(
    r"^[^:\n]{0,40}?\b(?:tags?|topics?|keywords?|labels?|categories|answer|output)\s*[:：]\s*",
    re.IGNORECASE,
)
# A bullet ("- ", "* ", "•") or a list number ("1. ", "2) ", "(3) ") opening a line.
_BULLET_RE = re.compile(r"^\s*(?:[-–—+]\s+|[*•·‣▪●]\s*|\(?\d{1,3}[.)]\s+|#+\s+)")
# Separators between tags inside a line (never `&`, `-`, `/` or spaces: they occur in tags).
_SPLIT_RE = re.compile(r"[,;|，；]")
_FENCE_RE = re.compile(r"```[A-Za-z]*")
_EDGE_CHARS = " \t\r\n\"'`“”‘’„‚«»*_#.,;:!?"
_BRACKETS = ("[]", "()", "{}", "<>")


def normalize_tag(tag: str) -> str:
    """Comparison key of a tag: NFKC, casefolded, whitespace collapsed, edge punctuation removed."""
    text = " ".join(unicodedata.normalize("NFKC", tag or "").casefold().split())
    start, end = 0, len(text)
    while start < end and _is_edge(text[start]):
        start += 1
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_edge(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")


def _clean(item: str) -> str:
    """Strip quotes, markdown emphasis, trailing punctuation and unbalanced/enclosing brackets."""
    previous = None
    while item != previous:
        previous = item
        item = item.strip(_EDGE_CHARS)
        for opening, closing in _BRACKETS:
            if item.startswith(opening) and item.endswith(closing):
                item = item[1:-1]
            elif item.startswith(opening) and item.count(opening) > item.count(closing):
                item = item[1:]
            elif item.endswith(closing) and item.count(closing) > item.count(opening):
                item = item[:-1]
    return " ".join(item.split())


def _structured(text: str) -> list[str] | None:
    """The items of a JSON / Python list literal in the text (also inside {"tags": [...]})."""
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end <= start:
        return None
    literal = text[start : end + 1]
    for loads in (json.loads, ast.literal_eval):
        try:
            value = loads(literal)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, (list, tuple)) and all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
        ):
            return [str(v) for v in value]
    return None


def _free_text(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    # A preamble line such as "Here are the relevant tags:" carries no tag.
    if len(lines) > 1 and lines[0].rstrip().endswith((":", "：")):
        lines = lines[1:]
    items: list[str] = []
    for line in lines:
        line = _LABEL_RE.sub("", _BULLET_RE.sub("", line, count=1), count=1)
        line = _BULLET_RE.sub("", line, count=1)
        items.extend(_SPLIT_RE.split(line))
    return items


def parse_tags(text: str) -> list[str]:
    """Tags in a model answer, in order of appearance, de-duplicated by `normalize_tag`.

    Accepts comma / semicolon / newline separated tags, bullet and numbered lists, a JSON or
    Python list, an optional leading label ("Tags:", "Topics:", "Here are the tags:") and code
    fences. Items are returned cleaned (quotes, brackets and trailing punctuation removed) but in
    their original case; items that are empty after normalisation are dropped.
    """
    text = _FENCE_RE.sub("", text or "").strip()
    if not text:
        return []
    items = _structured(text)
    if items is None:
        items = _free_text(_LABEL_RE.sub("", text, count=1))
    tags: list[str] = []
    seen: set[str] = set()
    for item in items:
        tag = _clean(item)
        key = normalize_tag(tag)
        if key and key not in seen:
            seen.add(key)
            tags.append(tag)
    return tags


def _tag_set(tags: list[str] | tuple[str, ...]) -> set[str]:
    """Normalised set; a tag containing a comma/semicolon counts as its parts (see tag_scores)."""
    return {key for tag in tags for part in _SPLIT_RE.split(tag) if (key := normalize_tag(part))}


def tag_scores(gold: list[str], pred: list[str]) -> dict[str, float]:
    """Set overlap of gold and predicted tags: exact_match, jaccard, precision, recall, f1.

    Both sides are compared as sets of `normalize_tag` keys. Some real BMW tags contain a comma
    ("Chassis, Suspension", "Finance, Facts, Figures"); the training target joins tags with ", ",
    so a parsed answer cannot tell such a tag from two tags. Both sides are therefore split on
    commas/semicolons before comparison: reproducing the target exactly always scores 1.0.

    Conventions for empty sets:
      * gold and pred both empty -> every score 1.0 (correctly predicting "no tags");
      * pred empty, gold not     -> every score 0.0;
      * gold empty, pred not     -> every score 0.0 (recall is taken as 0.0, not the vacuous 1.0,
        so that f1 is 0.0 and an answer that invents tags is never rewarded).
    """
    gold_set, pred_set = _tag_set(gold), _tag_set(pred)
    if not gold_set and not pred_set:
        return {"exact_match": 1.0, "jaccard": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    if not gold_set or not pred_set:
        return {"exact_match": 0.0, "jaccard": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    hits = len(gold_set & pred_set)
    precision = hits / len(pred_set)
    recall = hits / len(gold_set)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {
        "exact_match": float(gold_set == pred_set),
        "jaccard": hits / len(gold_set | pred_set),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }
