"""The report's vocabulary comes from the suites: columns, kinds, key metrics, and each task
column's direction read from its task YAML (`higher_is_better`), not kept twice."""

from __future__ import annotations

from ftbench.core.lm_eval_glue import task_metric_directions
from ftbench.report import vocab
from ftbench.suites.registry import get_suite


def test_direction_is_the_task_yaml_s():
    bmw = get_suite("bmw")
    directions = task_metric_directions(bmw.tasks_dir.resolve())
    assert directions["bmw_perplexity"]["word_perplexity"] is False
    assert directions["bmw_summarization"]["rougeL"] is True
    for task, cols in bmw.vocab.task_columns.items():
        for metric, col in cols.items():
            said = directions.get(task, {}).get(metric)
            if said is None or col in bmw.vocab.descriptive:
                continue
            assert vocab.higher_is_better(col) is said, (task, metric, col)
    # descriptive columns (lengths) have no direction in the report, whatever the YAML says
    assert directions["bmw_title"]["length_ratio"] is False
    assert "title_length_ratio" not in vocab.lower_is_better()
    assert "title_length_ratio" in vocab.DESCRIPTIVE
    # a flat table's own columns keep the suite's word for it
    assert not vocab.higher_is_better("perplexity") and not vocab.higher_is_better("avg_loss")


def test_kinds_and_headlines_come_from_the_suites():
    # the bmw suite's (a toy suite another test registered in this process may add its own)
    assert [t for t in vocab.tasks_of_kind("label", "choice") if t.startswith("bmw_")] == \
        ["bmw_type", "bmw_type_mc"]
    bmw = {t: c for t, c in vocab.answer_headlines("text", "set").items() if t.startswith("bmw_")}
    assert bmw == {
        "bmw_summarization": "summ_rougeL_f1", "bmw_title": "title_rougeL_f1",
        "bmw_tags": "tag_f1"}
    assert vocab.task_name("bmw_tags") == "tags" and vocab.task_name("nope") == "nope"
    assert [c for c in vocab.ordered_descriptive() if not c.startswith("answer_")] == ["summ_pred_words", "summ_length_ratio",
                                           "title_pred_words", "title_length_ratio",
                                           "tag_pred_tags"]


def test_each_suite_s_headline_keys_resolve_to_its_own_columns_in_its_reports():
    """Two suites say `perplexity`: a report of either suite puts its own candidates first (the
    merged map keeps the first suite's), and the task's headline is found whichever key wins."""
    bmw, chat = get_suite("bmw").vocab, get_suite("chat").vocab
    assert vocab.headlines("chat")["perplexity"] == chat.headlines["perplexity"]
    assert vocab.headlines("bmw")["perplexity"] == bmw.headlines["perplexity"]
    assert list(vocab.headlines("chat"))[: len(chat.headlines)] == list(chat.headlines)
    assert vocab.task_headline("chat_perplexity") == chat.headlines["perplexity"][0]
    assert vocab.perplexity_column(["answer_word_perplexity", "answer_rougeL"]) == \
        "answer_word_perplexity"
    assert vocab.perplexity_column(["word_perplexity", "perplexity"]) == "perplexity"
