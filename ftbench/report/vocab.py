"""One metric vocabulary for both sources: the published table's column names.

The flat CSV (`peer_model_comparison.csv`) and lm-eval results name the same quantities
differently (`summ_rougeL_f1` vs `bmw_summarization` / `rougeL`). Mapping lm-eval names onto the
CSV's names once, here, lets every table, statistic and plot run on either source.
"""

from __future__ import annotations

from ftbench.core.io import InputError
from ftbench.metrics import OVERALL_WEIGHTS

OVERALL = "overall_score"

_GENERATION = {
    "rouge1": "rouge1_f1", "rouge2": "rouge2_f1", "rougeL": "rougeL_f1",
    "bertscore_precision": "bertscore_precision", "bertscore_recall": "bertscore_recall",
    "bertscore_f1": "bertscore_f1", "pred_words": "pred_words", "length_ratio": "length_ratio",
    "score": "score", "unparseable": "unparseable",
}

# lm-eval task -> {lm-eval metric -> column}
TASK_COLUMNS: dict[str, dict[str, str]] = {
    "bmw_summarization": {k: f"summ_{v}" for k, v in _GENERATION.items()},
    "bmw_title": {k: f"title_{v}" for k, v in _GENERATION.items()},
    "bmw_tags": {k: f"tag_{k}" for k in (
        "exact_match", "jaccard", "precision", "recall", "f1", "pred_tags", "unparseable", "score")},
    "bmw_type": {"acc": "type_accuracy", "unparseable": "type_unparseable",
                 "macro_f1": "type_macro_f1", "score": "type_score",
                 # helper metric names of a balanced-accuracy aggregate, if the task reports one
                 "balanced_acc": "type_balanced_acc", "balanced_accuracy": "type_balanced_acc",
                 **{f"acc_{c}": f"type_acc_{c}" for c in (
                     "press_release", "press_kit", "fact_figures", "speech")}},
    "bmw_type_mc": {"acc": "type_mc_accuracy", "acc_norm": "type_mc_acc_norm"},
    "bmw_perplexity": {"word_perplexity": "word_perplexity", "byte_perplexity": "byte_perplexity",
                       "bits_per_byte": "bits_per_byte"},
}
COLUMN_TASK = {col: task for task, cols in TASK_COLUMNS.items() for col in cols.values()}
# the flat CSV's own columns that have no lm-eval counterpart
COLUMN_TASK.update({"perplexity": "bmw_perplexity", "avg_loss": "bmw_perplexity"})

# Headline metrics per task (ranking, per-task plots); the first present is the task's headline.
HEADLINES: dict[str, tuple[str, ...]] = {
    "summarization": ("summ_rougeL_f1", "summ_bertscore_f1", "summ_rouge1_f1", "summ_rouge2_f1"),
    "title": ("title_rougeL_f1", "title_bertscore_f1", "title_rouge1_f1", "title_rouge2_f1"),
    "tags": ("tag_f1", "tag_jaccard", "tag_exact_match"),
    "type": ("type_accuracy", "type_macro_f1", "type_mc_accuracy"),
    "perplexity": ("perplexity", "word_perplexity"),
}
LOWER_IS_BETTER = {"perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte",
                   "avg_loss", "type_unparseable", "tag_unparseable", "summ_unparseable",
                   "title_unparseable"}
# Descriptive columns, not scores: never "best"/"worst".
DESCRIPTIVE = {"summ_pred_words", "title_pred_words", "summ_length_ratio", "title_length_ratio",
               "tag_pred_tags", "rank", "train_size", "params_b"}
# Per-sample metrics that are 0/1 (McNemar rather than bootstrap/permutation).
BINARY = {"type_accuracy", "type_unparseable", "tag_exact_match", "tag_unparseable",
          "type_mc_accuracy", "type_mc_acc_norm", "summ_unparseable", "title_unparseable"}
PERPLEXITY_COLUMNS = ("perplexity", "word_perplexity")

COMPONENTS = tuple(OVERALL_WEIGHTS)


def metric_columns(columns) -> list[str]:
    """The metric columns (known vocabulary) among `columns`, in vocabulary order."""
    known = [c for cols in TASK_COLUMNS.values() for c in cols.values()]
    known += ["perplexity", "avg_loss", OVERALL]
    present = set(columns)
    return [c for c in dict.fromkeys(known) if c in present]


def higher_is_better(column: str) -> bool:
    return column not in LOWER_IS_BETTER


def perplexity_column(columns) -> str | None:
    return next((c for c in PERPLEXITY_COLUMNS if c in set(columns)), None)


def resolve_metric(name: str, available) -> str:
    """A user's metric name -> column: `summ_rougeL_f1`, `bmw_title:rougeL`, or a bare
    lm-eval name (`rougeL`) when it names exactly one available column."""
    available = list(available)
    if name in available:
        return name
    task, sep, metric = name.replace("/", ":").partition(":")
    if sep:
        col = TASK_COLUMNS.get(task, {}).get(metric)
        if col in available:
            return col
    else:
        hits = [cols[name] for cols in TASK_COLUMNS.values()
                if name in cols and cols[name] in available]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise InputError(f"metric {name!r} is ambiguous; use one of {', '.join(hits)}")
    raise InputError(f"metric {name!r} is not available; choose from {', '.join(available)}")
