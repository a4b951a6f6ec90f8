"""The chat suite: any instruction / chat JSONL, free answers scored against the references.

Its report vocabulary maps the chat_* tasks' lm-eval metrics onto report columns; its
composite (`COMPOSITE`) weighs the answer metrics that track "says what the reference says":
ROUGE-L and BERTScore F1 as in the press-release study's text tasks, and keyword overlap, the measure a
small Q&A study reports, with the most weight.
"""

from __future__ import annotations

from ftbench.suites.base import DataSource, ReportVocab, Suite, TaskKind
from ftbench.suites.chat.budget import answer_budget
from ftbench.suites.chat.prepare import check_splits, prepare_rows
from ftbench.suites.chat.pretraining import pretraining
from ftbench.suites.chat.resources import CHAT_TASKS_DIR, ENV_VAR, METADATA_KEY, SAMPLE_CHAT
from ftbench.suites.chat.rows import raw_identity, sample_source

ANSWER = ("rouge1", "rouge2", "rougeL", "bertscore_precision", "bertscore_recall",
          "bertscore_f1", "keyword_overlap", "exact_match", "length_ratio", "pred_words",
          "unparseable")
PERPLEXITY = ("word_perplexity", "byte_perplexity", "bits_per_byte", "loglikelihood")

# default weights of the chat composite (`overall_score`); documented in docs/chat.md
COMPOSITE: dict[str, float] = {
    "answer_keyword_overlap": 0.4,
    "answer_rougeL": 0.3,
    "answer_bertscore_f1": 0.3,
}

VOCAB = ReportVocab(
    task_columns={"chat_answer": {m: f"answer_{m}" for m in ANSWER},
                  "chat_perplexity": {m: f"answer_{m}" for m in PERPLEXITY}},
    headlines={"answer": ("answer_keyword_overlap", "answer_rougeL", "answer_bertscore_f1"),
               "perplexity": ("answer_word_perplexity", "answer_bits_per_byte")},
    descriptive=frozenset({"answer_pred_words", "answer_length_ratio",
                           "answer_loglikelihood"}),
    binary=frozenset({"answer_exact_match", "answer_unparseable"}),
    composite=COMPOSITE,
    task_kinds={"chat_answer": TaskKind("text", name="answer"),
                "chat_perplexity": TaskKind("perplexity", name="perplexity")},
    key_metrics=("answer_keyword_overlap", "answer_rougeL", "answer_bertscore_f1",
                 "answer_exact_match", "answer_word_perplexity"),
    plot_groups={"answer": ("answer_rouge1", "answer_rouge2", "answer_rougeL",
                            "answer_bertscore_f1", "answer_keyword_overlap")},
    item_noun="example",
    comparison=("answer_keyword_overlap", "answer_rougeL"),
)

SUITE = Suite(
    name="chat", task_group="chat", tasks_dir=CHAT_TASKS_DIR,
    data=DataSource(metadata_key=METADATA_KEY, env_var=ENV_VAR, reads="prepared",
                    sample=sample_source, raw_file=raw_identity),
    prompt_files={"answer": "chat_answer.yaml"}, prepare_rows=prepare_rows,
    source_kind="dir", raw_sample=SAMPLE_CHAT, vocab=VOCAB, pretraining=pretraining,
    answer_budget=answer_budget, check_raw=check_splits,
)
