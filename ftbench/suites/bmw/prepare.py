"""Raw articles → task rows: a held-out test split and nested, chat-format train splits.

The split is made per *article* (after de-duplication by URL and by content hash), so no text of a
test article reaches any train set; train sets are nested (train_500 ⊂ train_1000 ⊂ …) so that a
larger training size only adds data. Everything that shapes the output lands in `manifest.json`.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from ftbench.core.fingerprint import code_digest, digest
from ftbench.core.io import InputError, sha256_file, sha256_text
from ftbench.core.paths import SUITES_CODE_DIR
from ftbench.suites.bmw.prompts import task_prompts
from ftbench.suites.bmw.resources import BMW_CODE_DIR
from ftbench.suites.bmw.schema import ARTICLE_TYPES, Article, load_articles
from ftbench.suites.layout import (  # the shared prepared layout; re-exported for callers
    DEFAULT_SIZES,
    KIND,
    PrepareResult,
    PrepareSettings,
    chat_row,
    check_test_size,
    legacy_prepared,
    read_prepared_manifest,
    write_prepared,
)
from ftbench.suites.leakage import (
    contains_reference,
    leakage_audit,
    starts_with_reference,
    strip_leading_reference,
)

__all__ = ["DEFAULT_SIZES", "KIND", "PrepareResult", "PrepareSettings", "check_test_size",
           "legacy_prepared", "prepare_file", "read_prepared_manifest", "write_prepared"]

TASKS = ("summarization", "title", "tags", "type")
# tasks whose reference is free text that can be copied from the input (`suites.leakage`)
LEAKAGE_TASKS = ("summarization", "title")


def summary_in_content(articles) -> dict[str, int]:
    """Over all (kept) articles, before any split or truncation: how many repeat their summary
    verbatim in the content, and how many begin with it."""
    with_summary = [a for a in articles if a.summary]
    return {"articles": len(with_summary),
            "contains": sum(contains_reference(a.content, a.summary) for a in with_summary),
            "starts_with": sum(starts_with_reference(a.content, a.summary) for a in with_summary)}


def article_id(article: Article) -> str:
    return sha256_text(article.url or article.content)[:12]


def content_key(text: str) -> str:
    """Hash of the whitespace- and case-normalised text: catches re-published copies."""
    return sha256_text(re.sub(r"\s+", " ", text).strip().lower())


def truncate_words(text: str, max_words: int | None) -> str:
    if not max_words:
        return text
    words = text.split(" ")
    return text if len(words) <= max_words else " ".join(words[:max_words])


def dedupe(articles: list[Article]) -> tuple[list[Article], list[dict]]:
    """Keep the first of articles sharing a URL or normalised content; report the others."""
    seen_url: dict[str, int] = {}
    seen_content: dict[str, int] = {}
    kept, dropped = [], []
    for a in articles:
        ck = content_key(a.content)
        if a.url and a.url in seen_url:
            dropped.append({"line": a.source_line, "reason": "duplicate url", "first_line": seen_url[a.url]})
        elif ck in seen_content:
            dropped.append({"line": a.source_line, "reason": "duplicate content", "first_line": seen_content[ck]})
        else:
            seen_url[a.url] = a.source_line
            seen_content[ck] = a.source_line
            kept.append(a)
    return kept, dropped


def split_articles(
    articles: list[Article], test_size: float | int, seed: int
) -> tuple[list[Article], list[Article]]:
    """Stratified by article type: every type with ≥ 2 articles has at least one test article."""
    rng = random.Random(seed)
    n_test_total = test_size if isinstance(test_size, int) else round(len(articles) * test_size)
    if not 0 < n_test_total < len(articles):
        raise InputError(
            f"test size {test_size!r} gives {n_test_total} test articles out of {len(articles)}; "
            "it must leave at least one article on each side"
        )
    by_type: dict[str, list[Article]] = {}
    for a in articles:
        by_type.setdefault(a.type, []).append(a)
    frac = n_test_total / len(articles)
    test, train = [], []
    for t in sorted(by_type):
        group = by_type[t][:]
        rng.shuffle(group)
        k = round(len(group) * frac)
        if k == 0 and len(group) >= 2:
            k = 1
        test += group[:k]
        train += group[k:]
    rng.shuffle(train)  # the order defines the nested subsets
    test.sort(key=lambda a: a.source_line)
    return test, train


def task_inputs(a: Article, max_words: int | None, strip_reference: bool = False) -> dict[str, str]:
    """The published study's inputs (ChatBMW `article_to_chat_data`): the content for
    summarization; `summary + content`, concatenated with no separator, for title, tags and type.

    `strip_reference` (opt-in, off by default so the study's prompts stay byte-identical) drops
    a verbatim copy of the summary from the start of the content, where many press articles
    repeat it: summarization then cannot be solved by copying the lead.
    """
    content = strip_leading_reference(a.content, a.summary) if strip_reference else a.content
    content = truncate_words(content, max_words)
    with_summary = a.summary + content
    return {"summarization": content, "title": with_summary, "tags": with_summary,
            "type": with_summary}


def task_targets(a: Article) -> dict[str, str]:
    return {"summarization": a.summary, "title": a.title, "tags": ", ".join(a.tags), "type": a.type}


def article_rows(a: Article, max_words: int | None,
                 strip_reference: bool = False) -> tuple[list[dict], Counter]:
    """The eval rows of one article (one per task with a target) and the count of dropped rows."""
    aid = article_id(a)
    inputs, targets = task_inputs(a, max_words, strip_reference), task_targets(a)
    rows, dropped = [], Counter()
    for task in TASKS:
        if not targets[task]:
            dropped[task] += 1
            continue
        rows.append({
            "id": f"{aid}-{task}", "article_id": aid, "task": task, "input": inputs[task],
            "target": targets[task], "tags": list(a.tags), "type": a.type, "url": a.url,
        })
    return rows, dropped


def to_chat(row: dict) -> dict:
    """An eval row as a system/user/assistant conversation, with the task YAML's prompts."""
    return chat_row(row, task_prompts()[row["task"]])


def prepare_articles(
    articles: list[Article],
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    test_size: float | int = 0.1,
    seed: int = 42,
    max_input_words: int | None = None,
    strip_reference_from_input: bool = False,
) -> PrepareResult:
    """Split, build task rows and the manifest, all in memory."""
    test_size = check_test_size(test_size, "test_size")
    strip = strip_reference_from_input
    warnings: list[str] = []
    kept, duplicates = dedupe(articles)
    if duplicates:
        warnings.append(f"dropped {len(duplicates)} duplicate article(s) (by url or content)")
    test_articles, train_articles = split_articles(kept, test_size, seed)
    asked = test_size if isinstance(test_size, int) else round(len(kept) * test_size)
    if len(test_articles) != asked:
        warnings.append(f"test size {test_size!r} asks for {asked} test articles; "
                        f"{len(test_articles)} given: the split is stratified by article type "
                        "(each type's share rounded, at least one of each type with 2 or more "
                        "articles), as in the published study")

    dropped = Counter()
    test: list[dict] = []
    for a in test_articles:
        rows, d = article_rows(a, max_input_words, strip)
        test += rows
        dropped.update({f"test/{k}": v for k, v in d.items()})
        test.append({"id": f"{article_id(a)}-perplexity", "article_id": article_id(a),
                     "task": "perplexity", "text": truncate_words(a.content, max_input_words),
                     "type": a.type, "url": a.url})

    train: dict[int, list[dict]] = {}
    effective: dict[int, int] = {}
    for size in sorted(set(sizes)):
        n = min(size, len(train_articles))
        if n < size:
            warnings.append(f"train size {size} capped to {n}: only {n} train articles")
        effective[size] = n
        rows: list[dict] = []
        for a in train_articles[:n]:
            r, d = article_rows(a, max_input_words, strip)
            rows += [to_chat(x) for x in r]
            if size == max(sizes):
                dropped.update({f"train/{k}": v for k, v in d.items()})
        train[size] = rows

    leak = {a.url for a in test_articles} & {a.url for a in train_articles} or (
        {content_key(a.content) for a in test_articles} & {content_key(a.content) for a in train_articles}
    )
    if leak:  # cannot happen after dedupe; checked because a leak silently inflates every score
        raise RuntimeError(f"test/train leak on {len(leak)} article(s)")

    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seed": seed,
        "test_size": test_size,
        "max_input_words": max_input_words,
        "strip_reference_from_input": strip,
        "articles": {"read": len(articles), "kept": len(kept), "test": len(test_articles),
                     "train": len(train_articles)},
        "duplicates_dropped": duplicates,
        "sizes": {str(k): {"requested": k, "articles": v, "rows": len(train[k])} for k, v in effective.items()},
        "test_rows_per_task": dict(Counter(r["task"] for r in test)),
        "test_types": {t: sum(a.type == t for a in test_articles) for t in ARTICLE_TYPES},
        "train_types": {t: sum(a.type == t for a in train_articles) for t in ARTICLE_TYPES},
        "rows_dropped_empty_target": dict(dropped),
        "leak_check": {"shared_urls": 0, "shared_content_hashes": 0, "passed": True},
        "leakage": leakage_audit([r for r in test if r["task"] != "perplexity"], LEAKAGE_TASKS),
        "summary_in_content": summary_in_content(kept),
        "warnings": warnings,
    }
    return PrepareResult(test=test, train=train, manifest=manifest, warnings=warnings)


def prepare_fingerprint(source_sha256: str, settings: PrepareSettings) -> dict:
    """What prepared data is made of: the raw file, the settings, the prompts of the task YAML and
    the preparation code. Computable before preparing, so a stage can decide reuse cheaply."""
    prompts = {t: asdict(p) for t, p in sorted(task_prompts().items())}
    fp = {"source_sha256": source_sha256,
          "settings": {**asdict(settings), "sizes": sorted(set(settings.sizes))},
          "prompts": digest(prompts), "code": code_digest([SUITES_CODE_DIR, BMW_CODE_DIR])}
    return {**fp, "digest": digest(fp)}


def prepare_file(raw: Path | str, skip_invalid: bool = False, **kwargs) -> PrepareResult:
    articles, report = load_articles(raw, skip_invalid=skip_invalid)
    if not articles:
        raise InputError(f"{raw}: no valid articles")
    if "test_size" in kwargs:
        kwargs["test_size"] = check_test_size(kwargs["test_size"], "test_size")
    result = prepare_articles(articles, **kwargs)
    source_sha = sha256_file(raw)
    result.manifest["source"] = {"path": str(raw), "sha256": source_sha,
                                 "lines_read": report.lines_read,
                                 "invalid_skipped": {str(k): v for k, v in report.skipped.items()}}
    result.manifest["fingerprint"] = prepare_fingerprint(
        source_sha, PrepareSettings(skip_invalid=skip_invalid, **kwargs))
    if report.skipped:
        result.warnings.append(f"skipped {len(report.skipped)} invalid line(s)")
    return result
