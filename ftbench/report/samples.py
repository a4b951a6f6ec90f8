"""lm-eval per-sample logs -> one tidy frame per (model, task), in the report's column names.

Confidence intervals and paired tests need one number per test item. lm-eval already stores
the per-sample ROUGE / tag / accuracy values; corpus-level metrics arrive as pass-through pairs,
so BERTScore is recomputed here from the (reference, prediction) pairs with ONE batched call per
model x task, and labels are re-parsed with the same extraction + parser the task uses. What
each task's answers are comes from its suite (`TaskKind`: text, set, label, choice, perplexity).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ftbench.core.io import InputError, read_jsonl
from ftbench.eval.results_files import samples_file
from ftbench.metrics import (
    bertscore,
    committed_label,
    extract_answer,
    parse_tags,
    rouge_scores,
    weighted_score,
)
from ftbench.report.stats import as_float
from ftbench.report.vocab import COLUMN_TASK, OVERALL, TASK_COLUMNS, TASK_KINDS

_BERT_KEYS = ("bertscore_precision", "bertscore_recall", "bertscore_f1")


def _kind(task: str) -> str | None:
    kind = TASK_KINDS.get(task)
    return kind.kind if kind is not None else None


def _pred(line: dict) -> str:
    resp = line.get("filtered_resps")
    while isinstance(resp, list) and resp:
        resp = resp[0]
    return resp if isinstance(resp, str) else ""


def _row(task: str, line: dict) -> dict:
    doc = line.get("doc") if isinstance(line.get("doc"), dict) else {}
    row = {"doc_id": line.get("doc_id"), "article_id": doc.get("article_id", line.get("doc_id")),
           "prompt": doc.get("input", doc.get("text", "")), "target": str(line.get("target", "")),
           "pred": _pred(line)}
    if "category" in doc:  # a suite's grouping of its rows (the chat suite's `category`)
        row["category"] = "" if doc["category"] is None else str(doc["category"])
    for key, col in TASK_COLUMNS.get(task, {}).items():
        if key in _BERT_KEYS or key == "score":
            continue
        value = line.get(key)
        if not isinstance(value, list):
            row[col] = as_float(value)
    kind, cols = TASK_KINDS.get(task), TASK_COLUMNS.get(task, {})
    answers = kind.kind if kind is not None else None
    if answers == "text":
        if any(math.isnan(row.get(cols[r], math.nan)) for r in ("rouge1", "rougeL") if r in cols):
            for name, value in rouge_scores(row["target"], extract_answer(row["pred"])).items():
                if name in cols:
                    row[cols[name]] = value
        pair = line.get("bertscore_f1")
        row["_ref"], row["_hyp"] = (pair[0], pair[1]) if isinstance(pair, list) and len(pair) >= 2 \
            else (row["target"], extract_answer(row["pred"]))
    elif answers == "set":
        row["gold_tags"] = "; ".join(doc.get(kind.gold) or [])
        row["pred_tags"] = "; ".join(parse_tags(extract_answer(row["pred"])))
    elif answers == "label":
        row["gold_label"] = doc.get(kind.gold)
        row["pred_label"] = committed_label(extract_answer(row["pred"]), kind.labels)
    elif answers == "choice":
        row["gold_label"] = doc.get(kind.gold)
        lls = [as_float(r[0] if isinstance(r, list) else r) for r in line.get("filtered_resps") or []]
        if len(lls) == len(kind.labels):
            row["pred_label"] = kind.labels[int(np.nanargmax(lls))]
    elif answers == "perplexity":
        ll_words = line.get("word_perplexity")
        ll_bytes = line.get("byte_perplexity")
        if isinstance(ll_words, list) and len(ll_words) == 2:
            row["loglik"], row["words"] = as_float(ll_words[0]), as_float(ll_words[1])
            row[cols.get("word_perplexity", "word_perplexity")] = (
                math.exp(-row["loglik"] / row["words"]) if row["words"] else math.nan)
        if isinstance(ll_bytes, list) and len(ll_bytes) == 2:
            row["bytes"] = as_float(ll_bytes[1])
        row["prompt"] = ""
    return row


@contextmanager
def _no_progress_bars():
    """bert_score loads its encoder through transformers, whose progress bars would clutter
    the terminal summary; restore the previous setting afterwards."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers is a dependency
        yield
        return
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def read_task_samples(path: Path, task: str, notes: list[str]) -> pd.DataFrame:
    """One row per test item; BERTScore columns filled by one batched call (if it can run)."""
    try:
        lines = read_jsonl(path)
    except InputError as exc:
        notes.append(f"{exc}; samples of {task} skipped")
        return pd.DataFrame()
    frame = pd.DataFrame([_row(task, line) for line in lines if isinstance(line, dict)])
    if frame.empty:
        return frame
    if _kind(task) == "text":
        cols = TASK_COLUMNS.get(task, {})
        try:
            with _no_progress_bars():
                scores = bertscore(frame["_ref"].tolist(), frame["_hyp"].tolist())
            for key, out in zip(("precision", "recall", "f1"), _BERT_KEYS):
                if out in cols:
                    frame[cols[out]] = scores[key]
            frame.attrs["encoder"] = scores["encoder"]
        except (ImportError, OSError, RuntimeError, ValueError) as exc:  # e.g. no encoder offline
            notes.append(f"{path.name}: per-sample BERTScore not recomputed ({exc.__class__.__name__}"
                         f": {str(exc)[:120]})")
        frame = frame.drop(columns=["_ref", "_hyp"])
    frame = frame.sort_values("doc_id", kind="stable").reset_index(drop=True)
    return frame


def read_model_samples(model_dir: Path, tasks, notes: list[str]) -> dict[str, pd.DataFrame]:
    out = {}
    for task in tasks:
        path = samples_file(model_dir, task)
        if path is None:
            continue
        frame = read_task_samples(path, task, notes)
        if not frame.empty:
            out[task] = frame
    return out


def item_composite(samples: dict[str, pd.DataFrame],
                   composite: dict[str, float]) -> pd.Series | None:
    """The suite's overall score per test item (items scored in every composite task).

    Its mean over items equals the corpus overall score because every component is a mean
    over the same items, which makes CIs and paired tests on the overall score possible.
    """
    if not composite:
        return None
    parts = []
    for col in composite:
        frame = samples.get(COLUMN_TASK.get(col, ""))
        if frame is None or col not in frame:
            return None
        parts.append(frame.groupby("article_id")[col].mean())
    joined = pd.concat(parts, axis=1, join="inner").dropna()
    if joined.empty:
        return None
    scores = [weighted_score(composite, row) for row in joined.to_dict("records")]
    return pd.Series(scores, index=joined.index, name=OVERALL)


def perplexity_of(frame: pd.DataFrame) -> float:
    """Corpus word perplexity exp(-sum loglik / sum words), lm-eval's weighted_perplexity."""
    return float(math.exp(-frame["loglik"].sum() / frame["words"].sum()))
