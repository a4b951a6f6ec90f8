"""The BMW PressClub suite: tasks/bmw, prepared articles, the published study's report vocabulary.

The report vocabulary is the published table's column names (`peer_model_comparison.csv`):
lm-eval names (`bmw_summarization` / `rougeL`) map onto them once, here, so every table,
statistic and plot runs on a study and on that flat CSV alike; the overall score's weights are
the study's own (`composite.py`).
"""

from __future__ import annotations

from pathlib import Path

from ftbench.core.fingerprint import digest
from ftbench.core.io import sha256_file
from ftbench.suites.base import DataSource, ReportVocab, Suite, TaskKind
from ftbench.suites.bmw.chat_import import import_chat
from ftbench.suites.bmw.composite import OVERALL_WEIGHTS
from ftbench.suites.bmw.prepare import PrepareSettings, prepare_file, prepare_fingerprint
from ftbench.suites.bmw.pretraining import pretraining
from ftbench.suites.bmw.prompts import TASK_FILES
from ftbench.suites.bmw.resources import BMW_TASKS_DIR, SAMPLE_CORPUS
from ftbench.suites.bmw.schema import ARTICLE_TYPES
from ftbench.suites.bmw.task_rows import SAMPLE_PREPARE

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

VOCAB = ReportVocab(
    task_columns=TASK_COLUMNS,
    # the flat CSV's own columns that have no lm-eval counterpart
    extra_columns={"perplexity": "bmw_perplexity", "avg_loss": "bmw_perplexity"},
    # headline metrics per task (ranking, per-task plots); the first present is the headline
    headlines={
        "summarization": ("summ_rougeL_f1", "summ_bertscore_f1", "summ_rouge1_f1",
                          "summ_rouge2_f1"),
        "title": ("title_rougeL_f1", "title_bertscore_f1", "title_rouge1_f1", "title_rouge2_f1"),
        "tags": ("tag_f1", "tag_jaccard", "tag_exact_match"),
        "type": ("type_accuracy", "type_macro_f1", "type_mc_accuracy"),
        "perplexity": ("perplexity", "word_perplexity"),
    },
    # the flat CSV's own columns (the task columns' direction is their YAML's)
    lower_is_better=frozenset({"perplexity", "avg_loss"}),
    # descriptive columns, not scores: never "best"/"worst"
    descriptive=frozenset({"summ_pred_words", "title_pred_words", "summ_length_ratio",
                           "title_length_ratio", "tag_pred_tags"}),
    # per-sample metrics that are 0/1 (McNemar rather than bootstrap/permutation)
    binary=frozenset({"type_accuracy", "type_unparseable", "tag_exact_match", "tag_unparseable",
                      "type_mc_accuracy", "type_mc_acc_norm", "summ_unparseable",
                      "title_unparseable"}),
    composite=OVERALL_WEIGHTS,
    task_kinds={
        "bmw_summarization": TaskKind("text", name="summarization"),
        "bmw_title": TaskKind("text", name="title"),
        "bmw_tags": TaskKind("set", name="tags", gold="tags"),
        "bmw_type": TaskKind("label", name="type", gold="type", labels=ARTICLE_TYPES),
        "bmw_type_mc": TaskKind("choice", name="type_mc", gold="type", labels=ARTICLE_TYPES),
        "bmw_perplexity": TaskKind("perplexity", name="perplexity"),
    },
    key_metrics=("summ_rougeL_f1", "summ_bertscore_f1", "title_rougeL_f1", "tag_f1",
                 "type_accuracy", "word_perplexity"),
    plot_groups={
        "summarization": ("summ_rouge1_f1", "summ_rouge2_f1", "summ_rougeL_f1",
                          "summ_bertscore_f1"),
        "title": ("title_rouge1_f1", "title_rouge2_f1", "title_rougeL_f1", "title_bertscore_f1"),
        "tags_type": ("tag_exact_match", "tag_jaccard", "tag_f1", "type_accuracy",
                      "type_mc_accuracy"),
    },
    item_noun="article",
    comparison=("summ_rougeL_f1", "title_rougeL_f1", "tag_f1"),
)


def sample_source() -> dict:
    """The identity of the bundled sample the tasks prepare in memory when no directory is named."""
    return {"from": "bundled sample", "path": str(SAMPLE_CORPUS),
            "sha256": digest({"corpus": sha256_file(SAMPLE_CORPUS), "prepare": SAMPLE_PREPARE})}


def prepare_rows(source: Path, settings: PrepareSettings):
    """Raw articles (JSONL) → test rows + nested chat train rows (`ftbench data prepare`)."""
    return prepare_file(source, skip_invalid=settings.skip_invalid, sizes=tuple(settings.sizes),
                        test_size=settings.test_size, seed=settings.seed,
                        max_input_words=settings.max_input_words,
                        strip_reference_from_input=settings.strip_reference_from_input)


SUITE = Suite(
    name="bmw", task_group="bmw", tasks_dir=BMW_TASKS_DIR,
    data=DataSource(metadata_key="bmw_data", env_var="FTBENCH_BMW_DATA", reads="prepared",
                    sample=sample_source),
    prompt_files=TASK_FILES, prepare_rows=prepare_rows, fingerprint_fn=prepare_fingerprint,
    vocab=VOCAB, raw_sample=SAMPLE_CORPUS, pretraining=pretraining, import_chat=import_chat,
)
