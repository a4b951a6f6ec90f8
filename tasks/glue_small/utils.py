"""lm-eval glue for the glue_small_* tasks: dataset loading, per-sample results, aggregations.

Rows come from `ftbench.suites.glue.data` (local JSONL in the HF glue schema or the hub, seeded
stratified subsample); every doc carries `glue_task` and `label_name`, so one scoring function
serves all tasks. The per-sample value of `macro_f1` and `mcc` is the {gold, pred} pair of the
doc: the per-sample log (`--log_samples`) thereby holds what the confusion matrix is counted
from, and the corpus-level aggregations compute the metrics from the whole list of pairs.
"""

from __future__ import annotations

import datasets

from ftbench.metrics import macro_f1, matthews_corrcoef, parse_label
from ftbench.metrics.label_scores import choice_prediction
from ftbench.suites.glue.data import GLUE_TASKS, eval_rows, train_rows


def load_glue_split(glue_task: str, glue_split: str, glue_data: str | None = None,
                    glue_n: int | str | None = None, glue_seed: int | str | None = None,
                    **_metadata) -> datasets.DatasetDict:
    """custom_dataset hook: lm-eval passes --metadata (glue_data, glue_n, glue_seed) and dataset_kwargs.

    `validation` = the (sub)sampled evaluation split; `train` = the few-shot pool (MNLI without
    a local train file: the other validation split).
    """
    return datasets.DatasetDict({
        "validation": datasets.Dataset.from_list(
            eval_rows(glue_task, glue_split, glue_data, glue_n, glue_seed)),
        "train": datasets.Dataset.from_list(train_rows(glue_task, glue_split, glue_data)),
    })


def _scored(doc: dict, pred: str | None) -> dict:
    gold = doc["label_name"]
    pair = {"gold": gold, "pred": pred}
    return {"acc": float(pred == gold), "macro_f1": pair, "mcc": pair,
            "unparseable": float(pred is None)}


def process_choice(doc: dict, results: list) -> dict:
    """Loglikelihood multiple choice: the label whose answer word scores highest."""
    labels = GLUE_TASKS[doc["glue_task"]].labels
    scores = _scored(doc, choice_prediction([r[0] for r in results], labels))
    del scores["unparseable"]  # a choice is always one of the labels
    return scores


def process_generation(doc: dict, results: list[str]) -> dict:
    """Generative: the answer word named earliest in the output; none named = unparseable (wrong)."""
    task = GLUE_TASKS[doc["glue_task"]]
    word = parse_label((results[0] if results else "") or "", task.answers)
    pred = None if word is None else task.labels[task.answers.index(word)]
    return _scored(doc, pred)


def _pairs(items) -> tuple[list[str], list[str | None], list[str]]:
    golds = [i["gold"] for i in items]
    preds = [i["pred"] for i in items]
    labels = sorted({*golds, *(p for p in preds if p is not None)})
    return golds, preds, labels


# Macro-F1 and MCC are scikit-learn's (`ftbench.metrics`), over the labels that occur, with an
# unparseable answer as a class of its own. Not lm-eval's `f1` aggregation (binary F1 only) nor
# its `matthews_corrcoef`: that one takes (gold, pred) tuples without None, and lm-eval bootstraps
# its stderr by calling it `bootstrap_iters` times (100,000 by default in `lm_eval`), ~20-50 ms
# per call on 500 items: minutes per task on a CPU.
def agg_macro_f1(items) -> float:
    return macro_f1(*_pairs(items))


def agg_mcc(items) -> float:
    return matthews_corrcoef(*_pairs(items))
