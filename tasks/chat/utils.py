"""lm-eval glue for the chat_* tasks: the held-out rows, per-answer scores, corpus BERTScore.

The metric arithmetic is `ftbench.metrics` (pure, unit-tested); every answer first goes through
`extract_answer` (reasoning blocks and template residue removed), and an empty answer counts as
`unparseable`. Prompts are fitted to the model's context by cutting the end of the user turn.
A multi-turn row's earlier turns reach lm-eval as that row's own few-shot turns (`EarlierTurns`,
here so that the tasks' code digest covers it).
"""

from __future__ import annotations

import datasets

from ftbench.core.lm_eval_glue import ContextSampler
from ftbench.metrics import (
    bertscore_corpus,
    extract_answer,
    keyword_overlap,
    length_ratio,
    normalized_exact_match,
    rouge_scores,
    word_count,
)
from ftbench.suites.chat.budget import answer_budget
from ftbench.suites.chat.rows import test_rows
from ftbench.suites.fit_context import fit_rows


class EarlierTurns(ContextSampler):
    """`fewshot_config.sampler`: the shots of a row are its own earlier turns (`history`, user /
    assistant dicts), as `input` (user turn) / `target` (the assistant's) docs. lm-eval renders
    them as separate chat turns under the chat template (with `fewshot_as_multiturn`, its
    default there) — the turns training renders — and as question / answer paragraphs without
    it. The YAML sets `num_fewshot: 1` (any n > 0 gives every earlier turn) and the fewshot
    split to the test split, so that lm-eval hands the sampler the row being evaluated."""

    def sample(self, n: int, eval_doc: dict | None = None, df=None, **kwargs) -> list[dict]:
        turns = list((eval_doc or {}).get("history") or [])
        return [{"input": u["content"], "target": a["content"]}
                for u, a in zip(turns[::2], turns[1::2], strict=True)]


def load_chat_split(chat_task: str, chat_data: str | None = None,
                    **metadata) -> datasets.DatasetDict:
    """custom_dataset hook: lm-eval passes metadata (--metadata, model_args, the YAML's path)."""
    def budget(tokenizer) -> int:  # the answer budget ftbench derives from these references
        return answer_budget("chat_answer", {"chat_data": chat_data}, tokenizer)["max_gen_toks"]

    rows = fit_rows(test_rows(chat_task, chat_data), metadata, budget)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def process_answer(doc: dict, results: list[str]) -> dict:
    pred, ref = extract_answer((results[0] if results else "") or ""), doc["target"]
    pair = (ref, pred)
    return {**rouge_scores(ref, pred), "bertscore_precision": pair, "bertscore_recall": pair,
            "bertscore_f1": pair, "keyword_overlap": keyword_overlap(ref, pred),
            "exact_match": normalized_exact_match(ref, pred),
            "length_ratio": length_ratio(ref, pred), "pred_words": word_count(pred),
            "unparseable": float(not pred)}


def agg_bertscore_precision(items) -> float:
    return bertscore_corpus(*map(list, zip(*items)))["precision"]


def agg_bertscore_recall(items) -> float:
    return bertscore_corpus(*map(list, zip(*items)))["recall"]


def agg_bertscore_f1(items) -> float:
    return bertscore_corpus(*map(list, zip(*items)))["f1"]


def process_perplexity(doc: dict, results) -> dict:
    """(loglikelihood, words / bytes of the reference) pairs for lm-eval's weighted aggregations."""
    ll = float(results[0][0])
    n_bytes = len(doc["target"].encode("utf-8"))
    return {"word_perplexity": (ll, word_count(doc["target"])),
            "byte_perplexity": (ll, n_bytes), "bits_per_byte": (ll, n_bytes),
            "loglikelihood": ll}
