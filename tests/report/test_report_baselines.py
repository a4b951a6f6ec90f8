"""Classification baselines: majority / chance accuracy, macro-F1 and balanced accuracy beside
accuracy, the binomial test against the majority rate, and the collapse flag — in the report and
in the GLUE matrix's per-experiment files and comparison (the glue suite's report section)."""

from __future__ import annotations

import json

import pytest
from scipy import stats as sps

from ftbench.metrics import macro_f1
from ftbench.report.baselines import class_scores
from ftbench.suites.bmw.schema import ARTICLE_TYPES
from ftbench.suites.glue.report import Experiment, write_experiment

GOLD = ["Press Release"] * 46 + ["Press Kit", "Speech", "Fact & Figures"]  # the 49 test articles


def test_always_the_majority_class_is_the_baseline_and_is_flagged():
    preds = ["Press Release"] * 49
    s = class_scores(GOLD, preds, ARTICLE_TYPES)
    assert s["accuracy"] == s["majority_acc"] == pytest.approx(46 / 49)
    assert s["majority_class"] == "Press Release" and s["chance_acc"] == 0.25
    assert s["balanced_acc"] == pytest.approx(0.25)  # recall 1 for one class of four
    assert s["collapsed"] and s["top_prediction_share"] == 1.0
    assert s["p_vs_majority"] == pytest.approx(1.0) and s["vs_majority"] == "n.s."
    assert s["gold_counts"] == "Press Release 46, Press Kit 1, Speech 1, Fact & Figures 1"


def test_the_issue_case_half_press_release_half_unparseable():
    """0 -> 0.5 type accuracy, significant vs a base that never parses, but below 0.94."""
    preds = ["Press Release" if i % 2 == 0 else None for i in range(49)]
    s = class_scores(GOLD, preds, ARTICLE_TYPES)
    correct = sum(g == p for g, p in zip(GOLD, preds))
    assert s["accuracy"] == pytest.approx(correct / 49) and s["unparseable"] == pytest.approx(24 / 49)
    assert s["vs_majority"] == "below" and s["collapsed"]
    assert s["p_vs_majority"] == pytest.approx(sps.binomtest(correct, 49, 46 / 49).pvalue)
    lo, hi = s["acc_lo"], s["acc_hi"]
    assert lo < s["accuracy"] < hi < 46 / 49


def test_macro_f1_and_balanced_accuracy_match_hand_counts():
    gold = ["A", "A", "A", "B", "B", "C"]
    pred = ["A", "A", "B", "B", None, "C"]
    s = class_scores(gold, pred, ["A", "B", "C"])
    # recalls: A 2/3, B 1/2, C 1/1
    assert s["balanced_acc"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # F1: A 2*2/(2*2+0+1)=0.8, B 2/(2+1+1)=0.5, C 1.0 -> the project's own macro_f1 agrees
    assert s["macro_f1"] == pytest.approx((0.8 + 0.5 + 1.0) / 3)
    assert s["macro_f1"] == pytest.approx(macro_f1(gold, pred, ["A", "B", "C"]))
    assert not s["collapsed"] and s["vs_majority"] == "n.s."
    with pytest.raises(ValueError):
        class_scores(gold, pred[:-1], ["A", "B", "C"])


def test_glue_experiment_files_carry_the_baselines(tmp_path):
    gold = ["positive"] * 18 + ["negative"] * 6
    records = [{"idx": i, "text": f"t{i}", "gold": g, "pred": "positive"} for i, g in
               enumerate(gold)]
    exp = Experiment(model="m", kind="decoder", task="sst2", glue="sst2", mode="zero_shot",
                     records=records)
    row = write_experiment(exp, tmp_path / "e")
    assert row["acc"] == row["majority_acc"] == pytest.approx(0.75)
    assert row["collapsed"] is True and row["balanced_acc"] == pytest.approx(0.5)
    assert row["chance_acc"] == 0.5 and row["vs_majority"] == "n.s."
    assert row["acc_ci_lo"] < 0.75 < row["acc_ci_hi"]
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert metrics["majority_class"] == "positive" and metrics["collapsed"] is True


def test_glue_comparison_lists_collapsed_experiments():
    from ftbench.suites.glue.report import collapsed_note, comparison

    gold = ["positive"] * 18 + ["negative"] * 6
    collapsed = Experiment(model="m", kind="decoder", task="sst2", glue="sst2", mode="zero_shot",
                           records=[{"idx": i, "text": "t", "gold": g, "pred": "positive"}
                                    for i, g in enumerate(gold)])
    good = Experiment(model="m", kind="decoder", task="sst2", glue="sst2", mode="lora",
                      records=[{"idx": i, "text": "t", "gold": g, "pred": g}
                               for i, g in enumerate(gold)])
    tables = comparison([collapsed, good])
    table = tables["glue_comparison"].set_index("mode")
    assert table.loc["lora", "acc"] == 1.0 and table.loc["lora", "vs_majority"] == "above"
    assert bool(table.loc["zero_shot", "collapsed"]) and not table.loc["lora", "collapsed"]
    assert collapsed_note(tables["glue_comparison"]) == \
        "**Collapsed** (every parsed answer names one class): m__sst2__zero_shot"
    assert tables["glue_best_per_task"]["experiment"].tolist() == ["m__sst2__lora"]
