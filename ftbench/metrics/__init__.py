"""Metric arithmetic for the suites' tasks: pure functions, unit-tested, no lm-eval import.

Each task folder's `utils.py` adapts these to lm-eval's process_results/aggregation hooks; the
report layer uses them directly. Modules:

* `extraction`     - the answer part of a raw response: reasoning blocks (`<think>`) and
                     chat-template residue removed, the same for every model and backend
* `label_answer`   - the ONE label a free-text answer commits to (negations, ambiguity)
* `text`           - ROUGE-1/2/L F1 (rouge_score, stemmed), word counts, length ratio
* `bertscore`      - batched, memoised BERTScore with an offline MiniLM default encoder
* `tags`           - tag-list parser (any list shape; prose is no list) and set-overlap scores
* `classification` - earliest-label parser (GLUE-small); accuracy, per-class accuracy, macro-F1,
                     confusion matrix, MCC computed by scikit-learn (None = its own class)
* `overall`        - a suite's weighted overall score (its composite)
* `overlap`        - keyword overlap (reference content words found in an answer), normalised
                     exact match (free answers of the chat suite)
* `label_scores`   - accuracy, macro-F1, MCC, per-class counts and confusion in one call
                     (GLUE-small; also the loglikelihood-choice argmax)

Note: the package attribute `ftbench.metrics.bertscore` is the function (re-exported); reach
the module's other names with `from ftbench.metrics.bertscore import ...`.
"""

from ftbench.metrics.bertscore import Encoder, bertscore, bertscore_corpus, resolve_encoder
from ftbench.metrics.classification import (
    accuracy,
    confusion_matrix,
    macro_f1,
    matthews_corrcoef,
    parse_label,
    per_class_accuracy,
)
from ftbench.metrics.extraction import extract_answer
from ftbench.metrics.label_answer import committed_label, label_answer
from ftbench.metrics.overall import weighted_score
from ftbench.metrics.overlap import keyword_overlap, normalized_exact_match
from ftbench.metrics.tags import normalize_tag, parse_tags, tag_scores
from ftbench.metrics.text import length_ratio, rouge_scores, word_count

__all__ = [
    "Encoder",
    "accuracy",
    "bertscore",
    "bertscore_corpus",
    "committed_label",
    "confusion_matrix",
    "extract_answer",
    "keyword_overlap",
    "label_answer",
    "length_ratio",
    "macro_f1",
    "matthews_corrcoef",
    "normalize_tag",
    "normalized_exact_match",
    "parse_label",
    "parse_tags",
    "per_class_accuracy",
    "resolve_encoder",
    "rouge_scores",
    "tag_scores",
    "weighted_score",
    "word_count",
]
