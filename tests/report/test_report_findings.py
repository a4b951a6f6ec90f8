"""Key findings and the resolution of the test set on synthetic studies whose answers are known.

`item_study`: per-item scores for four models — a base, two fine-tuned models of equal quality
(a tie by construction, 1 B and 3 B parameters), and a worse one whose type answers collapse onto
"Press Release" half the time (0 -> ~0.47 type accuracy over a 0.93 majority baseline).
`scaling_table`: a flat table on an exact saturating curve with a known family offset.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from report_synthetic import (
    PLATEAU,
    SCALE,
    SIZES,
    TYPE_ITEMS,
    context,
    item_study,
    mean_offset,
    scaling_table,
)
from rich.console import Console
from scipy import stats as sps

from ftbench.report import findings
from ftbench.report.build import compute_sections, report_main
from ftbench.report.forgetting import adjust
from ftbench.report.resolution import mde_paired_t

MODELS = {
    "acme-base": {"quality": 0.30, "type": "none", "family": "Acme", "params_b": 3.0,
                  "base_model": "acme"},
    "acme-3b-2000": {"quality": 0.60, "family": "Acme", "params_b": 3.0, "train_size": 2000,
                     "base_model": "acme-3b"},
    "acme-1b-2000": {"quality": 0.60, "family": "Acme", "params_b": 1.0, "train_size": 2000,
                     "base_model": "acme-1b"},
    "acme-1b-500": {"quality": 0.45, "type": "collapse-half", "family": "Acme", "params_b": 1.0,
                    "train_size": 500, "base_model": "acme-1b"},
}
TIED = {"acme-3b-2000", "acme-1b-2000"}


@pytest.fixture(scope="module")
def study():
    ctx = context(item_study(MODELS))
    sections = compute_sections(ctx)
    tables = {n: f for s in sections for n, f in s.tables.items()}
    return ctx, sections, tables


def test_leader_names_its_statistical_tie_and_not_the_worse_models(study):
    ctx, _, tables = study
    f = findings.leader(ctx, tables)
    ranked = ctx.scored()["model"].tolist()
    assert set(ranked[:2]) == TIED  # equal quality: the two fine-tuned 2000 models lead
    lead, other = ranked[0], ranked[1]
    assert f.text.startswith(f"**{lead}** leads on overall_score with "
                             f"{ctx.scored()['overall_score'].iloc[0]:.4f} (95% BCa bootstrap CI")
    assert "n = 60 articles" in f.text
    tied_part = f.text.split("not distinguishable from it")[1]
    assert other in tied_part and "acme-1b-500" not in tied_part and "acme-base" not in tied_part


def test_resolution_flags_the_tie_and_resolves_the_real_gaps(study):
    ctx, _, tables = study
    adj = tables["adjacent_ranks"].set_index("rank")
    assert adj.loc[1, "verdict"] in ("below MDE", "not significant")
    assert adj.loc[2, "verdict"] == "resolved" and adj.loc[3, "verdict"] == "resolved"
    # the pair's MDE follows from the SD of its per-article differences (normal approx. check)
    a, b = (ctx.shared.item_overall[m] for m in (adj.loc[1, "model"], adj.loc[1, "next_model"]))
    sd = float((a - b).std(ddof=1))
    assert adj.loc[1, "mde"] == pytest.approx(mde_paired_t(sd, 60))
    assert adj.loc[1, "mde"] == pytest.approx((1.96 + 0.8416) * sd / math.sqrt(60), rel=0.03)
    rec = tables["recommendations"].set_index("recommendation")
    assert rec.loc["best overall", "verdict"] == "tie" and rec.loc["best overall", "winner"] == "—"
    assert rec.loc["smallest viable", "winner"] == "acme-1b-2000"  # 1 B, tied with the leader
    text = findings.resolution(ctx, tables).text
    assert "the recommendations name no single best model" in text
    assert "2 are resolved by a paired test" in text


def test_parameters_finding_names_the_smallest_viable_model(study):
    ctx, _, tables = study
    text = findings.parameters(ctx, tables).text
    if ctx.scored()["model"].iloc[0] == "acme-1b-2000":
        assert "no smaller model is tied with the leader acme-1b-2000" in text
    else:
        assert ("the smallest model not distinguishable from the leader is acme-1b-2000 (1 B "
                "parameters, 2000 training examples, ") in text
        assert "vs acme-3b-2000 (3 B parameters, 2000 training examples)" in text


def test_gains_report_significance_and_the_majority_baseline(study):
    ctx, _, tables = study
    text = findings.gains(ctx, tables).text
    bvf = tables["base_vs_finetuned"]
    best = bvf[bvf["metric"] == "overall_score"].sort_values("abs_change").iloc[-1]
    assert f"Biggest gain over the base acme-base: {best['model']}" in text
    assert "of the 3 models compared with the base, 3 are significantly above it" in text
    row = bvf[(bvf["model"] == "acme-1b-500") & (bvf["metric"] == "type_accuracy")].iloc[0]
    assert row["base_value"] == 0 and row["finetuned_value"] == pytest.approx(28 / 60)
    assert row["majority_baseline"] == pytest.approx(56 / 60) and row["vs_majority"] == "below"
    assert row["p"] < 0.05 and bool(row["collapsed"])
    assert (f"acme-1b-500's type_accuracy gain 0.00 -> 0.47 "
            f"({findings.pval(row['p_holm'], 'p_holm')} vs base) "
            "is below the 0.93 majority baseline") in text
    assert "collapse onto one class" in text
    expected = sps.binomtest(28, 60, 56 / 60).pvalue
    assert row["p_vs_majority"] == pytest.approx(expected)


def test_class_baselines_and_answer_health(study):
    ctx, _, tables = study
    base = tables["class_baselines"].set_index("model")
    assert base.loc["acme-1b-500", "top_prediction"] == "Press Release"
    assert bool(base.loc["acme-1b-500", "collapsed"]) and not base.loc["acme-3b-2000", "collapsed"]
    # recall: Press Release 28 of 56 (every other answer), the three other classes 0
    assert base.loc["acme-1b-500", "balanced_acc"] == pytest.approx((28 / 56) / 4)
    section = next(s for s in study[1] if s.key == "class_baselines")
    assert any(t.startswith("**Collapsed:** acme-1b-500 on bmw_type names only 'Press Release'")
               for t in section.text)
    assert any("always answering the majority class (Press Release) scores 0.933" in t
               for t in section.text)
    health = findings.answer_health(ctx, tables).text
    assert "acme-1b-500 bmw_type answers collapse onto 'Press Release'" in health
    diff = findings.difficulty(ctx, tables).text
    assert "the majority-class baseline of bmw_type is 0.933 (Press Release)" in diff


def test_findings_section_comes_first_with_one_sentence_per_generator(study):
    _, sections, tables = study
    assert sections[0].key == "findings"
    keys = tables["findings"]["key"].tolist()
    assert keys[:2] == ["leader", "resolution"] and "gains" in keys
    assert 5 <= len(sections[0].text) <= 10


def test_forgetting_finding_from_a_known_table():
    table = adjust(pd.DataFrame([
        {"model": "m1", "benchmark": "gsm8k", "metric": "exact_match", "filter": "flexible-extract",
         "headline": True, "base_value": 0.45, "finetuned_value": 0.15, "abs_change": -0.30,
         "lost": 14, "gained": 2, "p": 0.0042},
        {"model": "m1", "benchmark": "mmlu", "metric": "acc", "filter": "none", "headline": True,
         "base_value": 0.40, "finetuned_value": 0.38, "abs_change": -0.02, "lost": 5,
         "gained": 3, "p": 0.73}]))
    text = findings.forgetting(None, {"forgetting": table}).text
    assert text.startswith("Fine-tuning cost general skills in 1 of 2 model x benchmark")
    assert "m1 gsm8k exact_match 0.450 -> 0.150 (-0.300; lost 14 / gained 2 items, McNemar " \
           "p = 0.004, p_holm = 0.004)" in text and "mmlu" not in text
    assert "1 comparison per benchmark and metric, no adjustment needed" in text
    assert table["correction"].tolist() == [
        "1 comparison of gsm8k exact_match [flexible-extract], no adjustment needed",
        "1 comparison of mmlu acc, no adjustment needed"]
    table["significant"] = False
    assert "No significant loss of general skills in 2" in \
        findings.forgetting(None, {"forgetting": table}).text


# --- flat table on a known curve ----------------------------------------------------------------


@pytest.fixture(scope="module")
def scaling(tmp_path_factory):
    root = tmp_path_factory.mktemp("scaling")
    truth = scaling_table(root / "t.csv")
    result = report_main(root / "t.csv", root / "out", console=Console(file=io.StringIO()))
    text = result["summary"].read_text()
    return truth, result, pd.read_csv(result["tables"]["findings"]).set_index("key")["finding"], text


def test_training_size_and_plateau_recover_the_true_curve(scaling):
    truth, _, found, _ = scaling
    r = sps.pearsonr(truth["train_size"], truth["overall_score"])
    assert found["training_size"].startswith(
        f"More training data raises overall_score: Pearson r = {r.statistic:.2f} "
        f"(p = {r.pvalue:.1e})")
    plateau = PLATEAU + mean_offset()
    assert ("the saturating fit a - b*exp(-n/c) (the lower AIC of the two, R^2 "
            in found["plateau"])
    assert f"puts the plateau at {plateau:.4f}" in found["plateau"]
    assert f"reaches 95% of it at n = {SCALE * math.log(20):.0f}, within the largest size" \
        in found["plateau"]
    step = 0.30 * (math.exp(-2000 / SCALE) - math.exp(-4000 / SCALE))
    assert f"{SIZES[-2]}->{SIZES[-1]}: {step:+.4f} (4 of 4 models gained; every model by the " \
        "same amount, no test)" in found["plateau"]


def test_family_contrast_is_matched_by_size(scaling):
    _, _, found, _ = scaling
    text = found["family"]
    assert text.startswith(f"At {SIZES[-1]} training examples, Alpha averages")
    assert "+0.0200, Mann-Whitney p = 0.333 (not significant)" in text  # 2 vs 2: exact p = 1/3
    assert "Alpha is ahead at 5 of 5 sizes (mean +0.0200, the same difference at every size, " \
        "no test)" in text


def test_flat_table_leader_tie_within_one_item(scaling):
    _, result, found, text = scaling
    one = 0.2 / TYPE_ITEMS
    assert found["leader"].startswith(f"**alpha-3b-{SIZES[-1]}** leads on overall_score")
    assert f"0.0030 ahead of alpha-1b-{SIZES[-1]} — less than one type-classification item " \
           f"({one:.4f}), so the two are not resolvable" in found["leader"]
    res = pd.read_csv(result["tables"]["resolution"]).set_index("task")
    assert res.loc["bmw_type", "n"] == TYPE_ITEMS
    assert res.loc["bmw_type", "overall_per_item"] == pytest.approx(one)
    rec = pd.read_csv(result["tables"]["recommendations"]).set_index("recommendation")
    assert rec.loc["smallest viable", "winner"] == f"alpha-1b-{SIZES[-1]}"
    assert rec.loc["best overall", "verdict"] == "tie"
    assert text.index("## Key findings") < text.index("## 1. Overall ranking")


def test_difficulty_names_hardest_and_easiest(scaling):
    truth, _, found, _ = scaling
    s, t = truth["summ_rougeL_f1"], truth["type_accuracy"]
    assert found["difficulty"].startswith(
        f"Hardest task by its headline metric: summ_rougeL_f1 (mean {s.mean():.3f} over 20 models")
    spread = round((t.max() - t.min()) * TYPE_ITEMS)
    assert f"easiest: type_accuracy (mean {t.mean():.3f}" in found["difficulty"]
    assert f"its whole range is {spread} of {TYPE_ITEMS} items" in found["difficulty"]
    assert np.isclose(spread, 5)


def test_a_model_without_per_item_results_is_untested_not_below():
    data = item_study({k: MODELS[k] for k in ("acme-base", "acme-3b-2000")})
    extra = data.table.iloc[[0]].assign(model="acme-extra", overall_score=0.1)
    data.table = pd.concat([data.table, extra], ignore_index=True)  # no samples for it
    data.model_dirs["acme-extra"] = data.model_dirs["acme-base"]
    ctx = context(data)
    sections = compute_sections(ctx)
    tables = {n: f for s in sections for n, f in s.tables.items()}
    text = findings.leader(ctx, tables).text
    assert "every other model with per-item results is significantly below it" in text
    assert text.endswith("; untested (no per-item results): acme-extra.")
