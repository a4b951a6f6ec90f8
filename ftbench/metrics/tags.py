"""Tag prediction: parse a model's free-text tag answer and score it against the gold tags.

Models answer in many shapes (comma lists, bullets, numbered lists, JSON, a "Tags:" prefix), so
parsing is forgiving about the shape of a list — but prose is not a list: a paragraph gives no
tags, which the task counts as a format failure. Scoring is on normalised sets, so case, spacing
and quoting never count as errors. Real press-corpus tags contain `&`, hyphens, digits, spaces and capitals
("Fact & Figures", "Rolls-Royce Motor Cars", "24h Races"); none of those ever split a tag.
"""

from __future__ import annotations

import ast
import json
import re
import unicodedata

# A preamble that names what follows: "Tags:", "Key topics:", "Here are the categories:" …
_KEYWORDS = r"(?:tags?|topics?|keywords?|labels?|categories|category|themes?|answer|output)"
_LABEL_RE = re.compile(rf"^[^:\n]{{0,60}}?\b{_KEYWORDS}\b[^:\n]{{0,40}}[:：]\s*", re.IGNORECASE)
# A bullet ("- ", "* ", "•") or a list number ("1. ", "2) ", "(3) ") opening a line.
_BULLET_RE = re.compile(r"^\s*(?:[-–—+]\s+|[*•·‣▪●]\s*|\(?\d{1,3}[.)]\s+|#+\s+)")
# Separators between tags inside a line (never `&`, `-`, `/` or spaces: they occur in tags).
_SPLIT_RE = re.compile(r"[,;|，；]")
# ... and, in an answer, a sentence end ("Brand, Model. These tags reflect ...").
_ITEM_SPLIT_RE = re.compile(r"[,;|，；]|(?<=[^\W\d_)\]])\.\s+(?=\S)")
_FENCE_RE = re.compile(r"```[A-Za-z]*")
# Footnote and citation markers: "Events [1]", "Le Mans [2024]", "Brand[^3]", "Brand M (2026)".
_FOOTNOTE_RE = re.compile(r"\s*\[\^?\d{1,4}\]|(?<=\S)\s*\(\d{1,4}\)")
# "**Head**: description" / "Head - description" inside a list item: the head is the tag.
_HEAD_RE = re.compile(r"^\s*(?:\*\*(?P<bold>[^*]+)\*\*|(?P<plain>[^:–—]{1,60}?))\s*(?:[:：]|\s[-–—]\s)\s*\S")
_SENTENCE_END_RE = re.compile(r"[^\W\d_][.!?](?:\s|$)")
_EDGE_CHARS = " \t\r\n\"'`“”‘’„‚«»*_#.,;:!?"
_BRACKETS = ("[]", "()", "{}", "<>")
# Real press-corpus tags have at most 4 words ("Battery Cell Competence Centre"); an item longer than
# this, or shaped like a sentence, is prose, not a tag.
MAX_TAG_WORDS = 6
_PROSE_LINE_WORDS = 15
_SENTENCE_STARTS = {"the", "this", "these", "those", "it", "its", "they", "there", "here", "in",
                    "a", "an", "we", "i", "our", "overall", "which", "that"}
_VERBS = {"is", "are", "was", "were", "be", "been", "has", "have", "had", "will", "can",
          "discusses", "highlights", "focuses", "describes", "covers", "includes", "announces",
          "mentions", "reflects", "provides", "presents", "shows", "relates", "refers"}


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
    """Strip quotes, markdown emphasis, footnotes, trailing punctuation and unbalanced/enclosing
    brackets."""
    item = _FOOTNOTE_RE.sub("", item)
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
    item = re.sub(r"^(?:and|or)\s+", "", " ".join(item.split()), flags=re.IGNORECASE)
    return item


def _literal(text: str) -> list[str] | None:
    """Items of a JSON / Python list literal (or {"tags": [...]}) that IS the whole answer."""
    text = text.strip().rstrip(".").strip()
    if not (text[:1] in "[{" and text[-1:] in "]}"):
        return None
    for loads in (json.loads, ast.literal_eval):
        try:
            value = loads(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict):
            value = next((v for v in value.values() if isinstance(v, (list, tuple))), None)
        if isinstance(value, (list, tuple)) and all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
        ):
            return [str(v) for v in value]
    return None


def _structured(text: str) -> list[str] | None:
    """A list literal, alone or after a preamble ("Tags: [...]", "Here are the tags:\n[...]");
    bracketed text inside a free-text answer (a footnote "[1]", a year "[2024]") is not one."""
    candidates = [text, _LABEL_RE.sub("", text, count=1)]
    first, _, rest = text.partition("\n")
    if rest.strip() and first.rstrip().endswith((":", "：")):
        candidates.append(rest)
    for candidate in candidates:
        items = _literal(candidate)
        if items is not None:
            return items
    return None


def _is_prose_line(line: str) -> bool:
    """A sentence-shaped line (a paragraph), not a list: long and with a sentence end."""
    words = line.split()
    return len(words) > _PROSE_LINE_WORDS and bool(_SENTENCE_END_RE.search(line))


def _is_tag_like(item: str) -> bool:
    words = item.split()
    if not words or len(words) > MAX_TAG_WORDS:
        return False
    lowered = [w.casefold().strip(_EDGE_CHARS) for w in words]
    return len(words) < 3 or (lowered[0] not in _SENTENCE_STARTS and not set(lowered) & _VERBS)


def _line_items(line: str) -> list[str]:
    bulleted = bool(_BULLET_RE.match(line))
    line = _BULLET_RE.sub("", line, count=1)
    line = _LABEL_RE.sub("", line, count=1)
    line = _BULLET_RE.sub("", line, count=1)
    if bulleted:
        head = _HEAD_RE.match(line)
        if head and len((head["bold"] or head["plain"]).split()) <= MAX_TAG_WORDS:
            return [head["bold"] or head["plain"]]
    elif _is_prose_line(line):
        return []
    return _ITEM_SPLIT_RE.split(line)


def _free_text(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    # A preamble line such as "Here are the relevant tags:" carries no tag.
    if len(lines) > 1 and lines[0].rstrip().endswith((":", "：")):
        lines = lines[1:]
    items: list[str] = []
    for line in lines:
        if re.match(r"^\s*\[\^?\d{1,4}\]", line):  # a footnote's own line
            continue
        items.extend(_line_items(line))
    return items


def parse_tags(text: str) -> list[str]:
    """Tags in a model answer, in order of appearance, de-duplicated by `normalize_tag`.

    Accepts comma / semicolon / newline separated tags, bullet and numbered lists (a list item
    "**Head**: description" gives its head), a JSON or Python list that is the whole answer,
    a preamble ("Tags:", "Here are the key topics:") and code fences. Footnote markers ("[1]",
    "[2024]") are removed from the item they follow and never replace the rest. Prose is not a
    list: a paragraph, and items longer than MAX_TAG_WORDS words or shaped like a sentence,
    give no tags — so a verbose non-list answer parses to [] (a format failure). Items are
    returned cleaned (quotes, brackets, trailing punctuation removed) in their original case.
    """
    text = _FENCE_RE.sub("", text or "").strip()
    if not text:
        return []
    items = _structured(text)
    if items is None:
        items = _free_text(text)
    tags: list[str] = []
    seen: set[str] = set()
    for item in items:
        tag = _clean(item)
        key = normalize_tag(tag)
        if key and key not in seen and _is_tag_like(tag):
            seen.add(key)
            tags.append(tag)
    return tags


def _tag_set(tags: list[str] | tuple[str, ...]) -> set[str]:
    """Normalised set; a tag containing a comma/semicolon counts as its parts (see tag_scores)."""
    return {key for tag in tags for part in _SPLIT_RE.split(tag) if (key := normalize_tag(part))}


def tag_scores(gold: list[str], pred: list[str]) -> dict[str, float]:
    """Set overlap of gold and predicted tags: exact_match, jaccard, precision, recall, f1.

    Both sides are compared as sets of `normalize_tag` keys. Some real press-corpus tags contain a comma
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
