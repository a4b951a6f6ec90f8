"""Forgetting section, pure parts: lm-eval result parsing, base matching, paired counts, trends."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats as sps

from ftbench.report.forgetting import by_train_size, forgetting_rows, pair_bases, tradeoff_rows
from ftbench.report.general_results import GeneralResults, headline, parse_task_results
from ftbench.report.loading import ReportData
from ftbench.report.section import Context, Options


def _ctx(rows: list[dict], specs: dict | None = None, base: str | None = None) -> Context:
    data = ReportData(source=Path("."), kind="study", table=pd.DataFrame(rows),
                      specs=specs or {})
    ctx = Context(data=data, options=Options(n_boot=200), score="type_accuracy")
    ctx.shared.base = base
    return ctx


def test_lm_eval_results_keep_filter_and_stderr():
    values = {"alias": "gsm8k", "exact_match,strict-match": 0.25,
              "exact_match_stderr,strict-match": 0.1, "exact_match,flexible-extract": 0.5,
              "exact_match_stderr,flexible-extract": "N/A", "sample_len": 4}
    parsed = parse_task_results(values)
    assert parsed[("exact_match", "strict-match")] == (0.25, 0.1)
    value, stderr = parsed[("exact_match", "flexible-extract")]
    assert value == 0.5 and math.isnan(stderr)
    assert set(parsed) == {("exact_match", "strict-match"), ("exact_match", "flexible-extract")}
    assert headline(parsed) == ("exact_match", "flexible-extract")
    assert headline({("acc", "none"): 0, ("acc_norm", "none"): 0}) == ("acc_norm", "none")


def test_each_fine_tuned_model_gets_its_own_base():
    rows = [{"model": "llama-1b-base", "train_size": None, "base_model": "llama-1b-base"},
            {"model": "tiny-base", "train_size": None, "base_model": "tiny-base"},
            {"model": "llama-1b-2000", "train_size": 2000, "base_model": "llama-1b"},
            {"model": "tiny-qlora-2000", "train_size": 2000, "base_model": "tiny-qlora"},
            {"model": "tiny-2000", "train_size": 2000, "base_model": "tiny"}]
    specs = {"tiny-base": {"pretrained": "org/tiny"}, "llama-1b-base": {"pretrained": "org/llama"}}
    pairs, unmatched = pair_bases(_ctx(rows, specs, base="llama-1b-base"))
    # by name series; tiny-qlora has no series of its own and no run: the report's base
    assert pairs == {"llama-1b-2000": "llama-1b-base", "tiny-2000": "tiny-base",
                     "tiny-qlora-2000": "llama-1b-base"}
    assert unmatched == []
    single, _ = pair_bases(_ctx(rows[:1] + rows[2:3]))
    assert single == {"llama-1b-2000": "llama-1b-base"}


def _items(values: list[float], filt: str = "none", metric: str = "acc") -> pd.DataFrame:
    return pd.DataFrame({"doc_id": range(len(values)), "filter": filt, metric: values})


def test_forgetting_rows_count_lost_and_gained_items_like_mcnemar():
    base_acc = [1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1]
    tuned_acc = [0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0]
    task = "general_small_hellaswag"
    general = {
        "m-base": GeneralResults({task: {("acc", "none"): (9 / 12, 0.13)}},
                                 {task: _items(base_acc)}),
        "m-48": GeneralResults({task: {("acc", "none"): (4 / 12, 0.14)}},
                               {task: _items(tuned_acc)}),
    }
    ctx = _ctx([{"model": "m-base", "train_size": None, "type_accuracy": 0.25},
                {"model": "m-48", "train_size": 48, "type_accuracy": 0.75}])
    table = forgetting_rows(ctx, general, {"m-48": "m-base"})
    (row,) = table.to_dict("records")
    lost = sum(b == 1 and t == 0 for b, t in zip(base_acc, tuned_acc))
    gained = sum(b == 0 and t == 1 for b, t in zip(base_acc, tuned_acc))
    assert (row["lost"], row["gained"], row["n_items"]) == (lost, gained, 12) == (6, 1, 12)
    assert row["p"] == pytest.approx(sps.binomtest(lost, lost + gained, 0.5).pvalue)
    assert row["abs_change"] == pytest.approx(4 / 12 - 9 / 12)
    assert row["benchmark"] == "hellaswag" and row["headline"]
    assert row["change_lo"] <= row["abs_change"] <= row["change_hi"]
    trade = tradeoff_rows(ctx, table, {"m-48": "m-base"}).iloc[0]
    assert trade["domain_gain"] == pytest.approx(0.5)
    assert trade["general_change"] == pytest.approx(row["abs_change"])
    assert trade["significant_losses"] == int(row["significant"])


def test_forgetting_rows_pair_items_by_doc_id_within_a_filter():
    task = "general_small_gsm8k"
    strict, flex = ("exact_match", "strict-match"), ("exact_match", "flexible-extract")
    base_items = pd.concat([_items([1, 0, 1], "strict-match", "exact_match"),
                            _items([1, 1, 1], "flexible-extract", "exact_match")])
    tuned_items = pd.concat([_items([0, 0, 1], "strict-match", "exact_match"),
                             _items([1, 1, 0], "flexible-extract", "exact_match")])
    general = {"b": GeneralResults({task: {strict: (2 / 3, 0.3), flex: (1.0, 0.0)}},
                                   {task: base_items}),
               "f": GeneralResults({task: {strict: (1 / 3, 0.3), flex: (2 / 3, 0.3)}},
                                   {task: tuned_items})}
    table = forgetting_rows(_ctx([{"model": "b"}, {"model": "f", "train_size": 10}]), general,
                            {"f": "b"}).set_index("filter")
    assert table.at["strict-match", "lost"] == 1 and table.at["strict-match", "gained"] == 0
    assert table.at["flexible-extract", "lost"] == 1
    assert table.at["flexible-extract", "headline"] and not table.at["strict-match", "headline"]


def test_change_by_train_size_reports_the_trend():
    table = pd.DataFrame({
        "model": ["a-100", "a-500", "a-1000", "a-2000"], "base": "a-base",
        "train_size": [100, 500, 1000, 2000], "benchmark": "gsm8k", "metric": "exact_match",
        "filter": "flexible-extract", "headline": True, "abs_change": [-0.01, -0.05, -0.1, -0.2]})
    sizes, text = by_train_size(table)
    assert sizes["train_size"].tolist() == [100, 500, 1000, 2000]
    assert sizes["mean_change"].tolist() == [-0.01, -0.05, -0.1, -0.2]
    assert "rho(train size, change) = -1.000" in text[0] and "forgetting grows" in text[0]
    one_size, none = by_train_size(table.assign(train_size=2000))
    assert one_size.empty and none == []


def test_items_are_paired_by_document_hash_not_position():
    """A model evaluated on another subsample: equal doc_ids are different documents."""
    task = "general_small_mmlu_high_school_computer_science"
    key = ("acc", "none")
    base = pd.DataFrame({"doc_id": [0, 1, 2], "doc_hash": ["h0", "h1", "h2"], "filter": "none",
                         "acc": [1.0, 0.0, 1.0]})
    tuned = pd.DataFrame({"doc_id": [0, 1], "doc_hash": ["h2", "h7"], "filter": "none",
                          "acc": [0.0, 1.0]})
    general = {"b": GeneralResults({task: {key: (2 / 3, 0.3)}}, {task: base}),
               "f": GeneralResults({task: {key: (0.5, 0.5)}}, {task: tuned})}
    (row,) = forgetting_rows(_ctx([{"model": "b"}, {"model": "f", "train_size": 5}]), general,
                             {"f": "b"}).to_dict("records")
    assert (row["n_items"], row["lost"], row["gained"]) == (1, 1, 0)  # only h2 is shared
