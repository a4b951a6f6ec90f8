"""lm-eval glue for the bmw_* tasks: dataset loading, per-sample results, corpus aggregations.

All metric arithmetic lives in `ftbench.metrics` (pure, unit-tested); this file only adapts
it to lm-eval's process_results / aggregation interface. Plain means use lm-eval's own
aggregations in the YAML (`mean`; `nanmean` for `length_ratio`, NaN for an empty reference,
which also gives a bootstrap stderr); macro-F1 and per-class accuracy are scikit-learn's (through
`ftbench.metrics`). Every generative task first runs the answer-extraction stage
(`extract_answer`: reasoning blocks and chat-template residue removed) on the raw response, then
its parser; an answer that yields nothing scorable is a format failure and counts in the task's
`unparseable` rate.
"""

from __future__ import annotations

import datasets

from ftbench.metrics import (
    bertscore_corpus,
    committed_label,
    extract_answer,
    length_ratio,
    macro_f1,
    parse_tags,
    per_class_accuracy,
    rouge_scores,
    tag_scores,
    word_count,
)
from ftbench.suites.bmw.schema import ARTICLE_TYPES
from ftbench.suites.bmw.task_rows import test_rows
from ftbench.suites.fit_context import fit_rows


def load_bmw_split(bmw_task: str, bmw_data: str | None = None, **metadata) -> datasets.DatasetDict:
    """custom_dataset hook: lm-eval passes metadata (--metadata, the model_args, the task YAML's
    path) and dataset_kwargs; prompts are fitted to the model's context inside the article text."""
    rows = fit_rows(test_rows(bmw_task, bmw_data), metadata)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def _answer(results) -> str:
    """The extracted answer of the (single) generation for a doc."""
    return extract_answer((results[0] if results else "") or "")


# --- summarization / title ---------------------------------------------------------------

def process_generation(doc: dict, results: list[str]) -> dict:
    """ROUGE, BERTScore pairs and length over the WHOLE extracted answer; empty = unparseable."""
    pred, ref = _answer(results), doc["target"]
    rouge = rouge_scores(ref, pred)
    pair = (ref, pred)
    return {
        **rouge,
        "bertscore_precision": pair,
        "bertscore_recall": pair,
        "bertscore_f1": pair,
        "pred_words": word_count(pred),
        "length_ratio": length_ratio(ref, pred),
        "unparseable": float(not pred),
        "score": (ref, pred, rouge["rougeL"]),
    }


def _bertscore(items) -> dict:
    refs, preds = [i[0] for i in items], [i[1] for i in items]
    return bertscore_corpus(refs, preds)


def agg_bertscore_precision(items) -> float:
    return _bertscore(items)["precision"]


def agg_bertscore_recall(items) -> float:
    return _bertscore(items)["recall"]


def agg_bertscore_f1(items) -> float:
    return _bertscore(items)["f1"]


def agg_generation_score(items) -> float:
    """Task score = mean of ROUGE-L F1 and BERTScore F1 (the published study's two headline metrics)."""
    rouge_l = sum(i[2] for i in items) / len(items)
    return (rouge_l + _bertscore([(i[0], i[1]) for i in items])["f1"]) / 2


# --- tags ---------------------------------------------------------------------------------

def process_tags(doc: dict, results: list[str]) -> dict:
    pred = parse_tags(_answer(results))
    scores = tag_scores(doc["tags"], pred)
    return {**scores, "pred_tags": len(pred), "unparseable": float(not pred),
            "score": (scores["jaccard"] + scores["f1"]) / 2}


# --- type ---------------------------------------------------------------------------------

def process_type(doc: dict, results: list[str]) -> dict:
    pred = committed_label(_answer(results), ARTICLE_TYPES)
    pair = (doc["type"], pred)
    out = {"acc": float(pred == doc["type"]), "unparseable": float(pred is None),
           "macro_f1": pair, "score": float(pred == doc["type"])}
    for label in ARTICLE_TYPES:
        out[f"acc_{_slug(label)}"] = pair
    return out


def _slug(label: str) -> str:
    return "_".join(w for w in label.lower().replace("&", " ").split())


def agg_macro_f1(items) -> float:
    return macro_f1([g for g, _ in items], [p for _, p in items], ARTICLE_TYPES)


def _class_acc(label: str):
    def agg(items) -> float:
        return per_class_accuracy([g for g, _ in items], [p for _, p in items], [label])[label]["accuracy"]
    return agg


agg_acc_press_release = _class_acc("Press Release")
agg_acc_press_kit = _class_acc("Press Kit")
agg_acc_fact_figures = _class_acc("Fact & Figures")
agg_acc_speech = _class_acc("Speech")
