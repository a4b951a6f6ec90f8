"""`report_main` on the published 24-model table: numbers re-derived here with pandas/scipy,
plus bad-input handling for flat tables."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from PIL import Image
from rich.console import Console
from scipy import stats as sps

from ftbench.core.io import InputError
from ftbench.report.build import report_main
from ftbench.suites.bmw.composite import OVERALL_WEIGHTS, overall_score

pytest_plugins = ["report_fixtures"]


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


@pytest.fixture(scope="module")
def peer_report(peer_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("peer_report")
    console = Console(file=io.StringIO(), width=120, record=True)
    result = report_main(peer_csv, out, console=console)
    return result, pd.read_csv(peer_csv), console.export_text()


def _table(result, name) -> pd.DataFrame:
    return pd.read_csv(result["tables"][name])


def test_sections_written_and_sample_sections_skipped_with_reason(peer_report):
    result, _, text = peer_report
    s = result["sections"]
    for key in ("ranking", "train_size", "family", "per_task", "perplexity", "descriptives"):
        assert s[key] == "written", key
    for key in ("paired", "qualitative", "significance", "base_vs_finetuned"):
        assert s[key] == "skipped", key
    skipped = " ".join(result["skipped"])
    assert "need per-sample results" in skipped and "baseline" in skipped
    summary = result["summary"].read_text()
    assert "CIs" in summary or "Confidence intervals" in summary
    assert "## Skipped" in summary and "need per-sample results" in summary
    assert "Overall ranking" in text and "llama-3.2-3b-2000" in text


def test_ranking_matches_the_published_order(peer_report):
    result, peer, _ = peer_report
    ranking = _table(result, "ranking")
    assert ranking["model"].tolist() == peer.sort_values("rank")["model_name"].tolist()
    assert ranking["overall_score"].iloc[0] == pytest.approx(peer["overall_score"].max())
    # the published overall score is the weighted sum of its components
    row = peer.iloc[5]
    assert overall_score({k: row[k] for k in OVERALL_WEIGHTS}) == pytest.approx(row["overall_score"])


def test_train_size_summary_equals_groupby(peer_report):
    result, peer, _ = peer_report
    summary = _table(result, "train_size_summary").set_index("train_size")
    g = peer.groupby("train_size")["overall_score"]
    assert summary["mean"].to_dict() == pytest.approx(g.mean().to_dict())
    assert summary["best"].to_dict() == pytest.approx(g.max().to_dict())
    assert summary["range"].to_dict() == pytest.approx((g.max() - g.min()).to_dict())
    assert summary.loc[2000, "best_model"] == "llama-3.2-3b-2000"


def test_scaling_table_deltas_and_fit(peer_report):
    result, peer, _ = peer_report
    per_model = _table(result, "scaling_per_model")
    q8 = per_model[per_model["base_model"] == "qwen3-8b"].set_index("train_size")
    score = peer.set_index("model_name")["overall_score"]
    assert q8.loc[1000, "delta_prev"] == pytest.approx(score["qwen3-8b-1000"] - score["qwen3-8b-500"])
    assert math.isnan(q8.loc[500, "delta_prev"])
    fits = _table(result, "scaling_fit")
    allfit = fits[fits["scope"] == "all models"].set_index("fit")
    assert set(allfit.index) == {"log", "exp_saturating", "hyperbolic"}
    hyp = allfit.loc["hyperbolic"]
    assert peer["overall_score"].max() < hyp["plateau"] < 1 and hyp["plateau_se"] > 0
    # log fit == ordinary least squares on ln(n)
    slope = sps.linregress(peer["train_size"].map(math.log), peer["overall_score"]).slope
    assert allfit.loc["log", "b"] == pytest.approx(slope, rel=1e-5)


def test_family_inferred_from_names_and_compared_at_largest_size(peer_report, peer_csv, tmp_path):
    result, peer, _ = peer_report
    fam = _table(result, "family_comparison").set_index("family")
    largest = peer[peer["train_size"] == 2000].groupby("family")["overall_score"]
    assert fam["mean"].to_dict() == pytest.approx(largest.mean().to_dict())
    eff = _table(result, "params_efficiency").set_index("model")
    assert eff.loc["qwen3-0.6b-2000", "params_b"] == pytest.approx(0.6)
    assert eff.loc["llama-3.2-1b-500", "score_per_b_params"] == pytest.approx(
        peer.set_index("model_name").loc["llama-3.2-1b-500", "overall_score"] / 1.0)
    # without the family column, the names give the same families
    no_family = tmp_path / "nofam.csv"
    peer.drop(columns=["family", "overall_score", "rank"]).to_csv(no_family, index=False)
    again = report_main(no_family, tmp_path / "out", console=_quiet())
    ranking = _table(again, "ranking").set_index("model")
    assert ranking["family"].to_dict() == peer.set_index("model_name")["family"].to_dict()
    # ... and the overall score is recomputed from the components
    assert ranking["overall_score"].to_dict() == pytest.approx(
        peer.set_index("model_name")["overall_score"].to_dict())


def test_per_task_bands_perplexity_and_correlations(peer_report):
    result, peer, _ = peer_report
    best = _table(result, "task_best_worst").set_index("metric")
    assert best.loc["summ_rougeL_f1", "best_model"] == peer.loc[peer["summ_rougeL_f1"].idxmax(),
                                                                "model_name"]
    assert best.loc["perplexity", "best_model"] == peer.loc[peer["perplexity"].idxmin(), "model_name"]
    bands = _table(result, "type_accuracy_bands").set_index("band")["n_models"]
    assert bands.iloc[0] == (peer["type_accuracy"] >= 0.9).sum()
    ppl = _table(result, "perplexity_by_family").set_index("family")
    g = peer.groupby("family")["perplexity"]
    assert ppl["min"].to_dict() == pytest.approx(g.min().to_dict())
    assert ppl["mean"].to_dict() == pytest.approx(g.mean().to_dict())
    corr = _table(result, "score_correlations").set_index("x")
    r = sps.pearsonr(peer["train_size"], peer["overall_score"])
    assert corr.loc["train_size", "pearson_r"] == pytest.approx(r.statistic)
    assert corr.loc["train_size", "pearson_p"] == pytest.approx(r.pvalue)
    rho = sps.spearmanr(peer["perplexity"], peer["overall_score"])
    assert corr.loc["perplexity", "spearman_rho"] == pytest.approx(rho.statistic)
    desc = _table(result, "score_descriptive").iloc[0]
    assert desc["std"] == pytest.approx(peer["overall_score"].std(ddof=1))
    assert desc["median"] == pytest.approx(peer["overall_score"].median())


def test_plots_are_valid_pngs_and_listed(peer_report):
    result, _, _ = peer_report
    assert {"ranking", "task_summarization", "task_title", "task_tags_type",
            "score_vs_train_size", "perplexity"} <= set(result["plots"])
    summary = result["summary"].read_text()
    for name, path in result["plots"].items():
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            assert img.format == "PNG" and img.size[0] > 300 and img.size[1] > 200
        assert f"plots/{path.name}" in summary, name


def test_baseline_gives_base_vs_finetuned_from_aggregates(peer_csv, tmp_path):
    result = report_main(peer_csv, tmp_path, baseline="qwen3-8b-500", console=_quiet())
    assert result["sections"]["base_vs_finetuned"] == "partial"  # per-class needs samples
    assert any("per-class accuracy" in s for s in result["skipped"])
    peer = pd.read_csv(peer_csv).set_index("model_name")["summ_rougeL_f1"]
    table = _table(result, "base_vs_finetuned")
    row = table[(table["model"] == "qwen3-8b-2000") & (table["metric"] == "summ_rougeL_f1")].iloc[0]
    assert row["abs_change"] == pytest.approx(peer["qwen3-8b-2000"] - peer["qwen3-8b-500"])
    assert row["rel_change_pct"] == pytest.approx(100 * row["abs_change"] / peer["qwen3-8b-500"])
    assert len(table["model"].unique()) == 23


def test_mapping_fills_unknown_facts(tmp_path):
    csv = tmp_path / "t.csv"
    pd.DataFrame({"model": ["alpha", "beta", "gamma", "delta"],
                  "overall_score": [0.5, 0.6, 0.65, 0.4]}).to_csv(csv, index=False)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("alpha: {family: A, params_b: 1, train_size: 100}\n"
                       "beta: {family: A, params_b: 1, train_size: 200}\n"
                       "gamma: {family: B, params_b: 2, train_size: 400}\n"
                       "delta: {family: B, params_b: 2}\n")
    result = report_main(csv, tmp_path / "out", mapping=mapping, console=_quiet())
    assert result["sections"]["train_size"] in ("written", "partial")
    ranking = _table(result, "ranking").set_index("model")
    assert ranking.loc["gamma", "family"] == "B" and ranking.loc["beta", "train_size"] == 200
    assert math.isnan(ranking.loc["delta", "train_size"])


# --- bad input ------------------------------------------------------------------------------


def test_missing_name_column_is_named(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("foo,overall_score\nx,0.5\n")
    with pytest.raises(InputError, match="model name column"):
        report_main(csv, tmp_path / "out", console=_quiet())


def test_no_metric_columns_is_named(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("model_name,colour\nx,red\n")
    with pytest.raises(InputError, match="no metric columns.*summ_rougeL_f1"):
        report_main(csv, tmp_path / "out", console=_quiet())


def test_empty_and_missing_sources(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="not a study directory"):
        report_main(empty, tmp_path / "out", console=_quiet())
    with pytest.raises(InputError, match="no such file"):
        report_main(tmp_path / "nope.csv", tmp_path / "out", console=_quiet())
    header_only = tmp_path / "h.csv"
    header_only.write_text("model_name,overall_score\n")
    with pytest.raises(InputError, match="no rows"):
        report_main(header_only, tmp_path / "out", console=_quiet())


def test_nan_values_are_reported_and_the_rest_still_runs(peer_csv, tmp_path):
    peer = pd.read_csv(peer_csv).drop(columns=["overall_score", "rank"])
    peer.loc[peer["model_name"] == "qwen3-4b-1000", "tag_f1"] = float("nan")
    peer["perplexity"] = peer["perplexity"].astype(object)
    peer.loc[peer["model_name"] == "qwen3-1.7b-500", "perplexity"] = "n/a"
    csv = tmp_path / "nan.csv"
    peer.to_csv(csv, index=False)
    result = report_main(csv, tmp_path / "out", console=_quiet())
    notes = " ".join(result["notes"])
    assert "tag_f1" in notes and "qwen3-4b-1000" in notes
    assert "perplexity" in notes and "qwen3-1.7b-500" in notes
    ranking = _table(result, "ranking")
    assert "qwen3-4b-1000" not in set(ranking["model"]) and len(ranking) == 23
    assert "qwen3-4b-1000" in result["summary"].read_text()


def test_bad_options_are_input_errors(peer_csv, tmp_path):
    with pytest.raises(InputError, match="not-a-model"):
        report_main(peer_csv, tmp_path, baseline="not-a-model", console=_quiet())
    with pytest.raises(InputError, match="exactly two"):
        report_main(peer_csv, tmp_path, compare=("a",), console=_quiet())
    with pytest.raises(InputError, match="top_n"):
        report_main(peer_csv, tmp_path, top_n=0, console=_quiet())


def test_cli_report_entry_point(peer_csv, tmp_path, capsys):
    from ftbench.cli.main import main

    assert main(["report", str(peer_csv), "--out", str(tmp_path), "--top-n", "3"]) == 0
    assert (tmp_path / "summary.md").is_file() and (tmp_path / "tables" / "ranking.csv").is_file()
    assert "top 3 and bottom 3" in capsys.readouterr().out


def test_findings_on_the_published_table_state_the_right_statistics(peer_report):
    """Each sentence's numbers re-derived here from the CSV with pandas / scipy."""
    result, peer, text = peer_report
    found = _table(result, "findings").set_index("key")["finding"]
    top = peer.sort_values("overall_score", ascending=False).reset_index(drop=True)
    one_item = 0.2 / 108  # type accuracy is k / 108 for every model
    gap = top.loc[0, "overall_score"] - top.loc[1, "overall_score"]
    assert gap < one_item
    assert found["leader"].startswith(
        f"**{top.loc[0, 'model_name']}** leads on overall_score with "
        f"{top.loc[0, 'overall_score']:.4f}, {gap:.4f} ahead of {top.loc[1, 'model_name']} — "
        f"less than one type-classification item ({one_item:.4f}), so the two are not resolvable")
    gaps = -top["overall_score"].diff().dropna()
    below = int((gaps < one_item).sum())
    assert found["resolution"].startswith(f"{below} of 23 adjacent rank gaps are smaller than one "
                                          "type-classification item (0.0019): ranks 1-2 (0.0014), "
                                          "ranks 2-3 (0.0007)")
    r = sps.pearsonr(peer["train_size"], peer["overall_score"])
    assert f"Pearson r = {r.statistic:.2f} (p = {r.pvalue:.1e})" in found["training_size"]
    largest = peer[peer["train_size"] == 2000]
    llama = largest[largest["family"] == "Llama 3.2"]["overall_score"]
    qwen = largest[largest["family"] == "Qwen3"]["overall_score"]
    p = sps.mannwhitneyu(llama, qwen).pvalue
    assert (f"Llama 3.2 averages {llama.mean():.4f} (n = 2 models) and Qwen3 {qwen.mean():.4f} "
            f"(n = 4): {llama.mean() - qwen.mean():+.4f}, Mann-Whitney p = {p:.3f} (not "
            "significant)") in found["family"]
    by_size = peer.pivot_table(index="train_size", columns="family", values="overall_score")
    d = by_size["Llama 3.2"] - by_size["Qwen3"]
    assert (f"Llama 3.2 is ahead at {(d > 0).sum()} of 4 sizes (mean {d.mean():+.4f}, paired t "
            f"over sizes p = {sps.ttest_rel(by_size['Llama 3.2'], by_size['Qwen3']).pvalue:.3f}"
            ) in found["family"]
    rho = sps.spearmanr(peer["params_b"] if "params_b" in peer else
                        peer["model_name"].str.extract(r"-(\d+(?:\.\d+)?)b-")[0].astype(float),
                        peer["overall_score"])
    assert (f"Parameter count does not significantly predict overall_score (Spearman rho = "
            f"{rho.statistic:.2f}, p = {rho.pvalue:.3f}, n = 24)") in found["parameters"]
    assert "the smallest model not distinguishable from the leader is llama-3.2-1b-2000" \
        in found["parameters"]
    t = peer["type_accuracy"]
    assert (f"easiest: type_accuracy (mean {t.mean():.3f}, range {t.min():.3f}-{t.max():.3f}); its "
            f"whole range is {round((t.max() - t.min()) * 108)} of 108 items") in found["difficulty"]
    gains = peer.sort_values("train_size").groupby("model_type")["overall_score"].diff()
    last = gains[peer["train_size"] == 2000]
    assert (f"1500->2000: {last.mean():+.4f} ({(last > 0).sum()} of 6 models gained; one-sample t "
            f"p = {sps.ttest_1samp(last, 0).pvalue:.3f}") in found["plateau"]
    assert "Key findings" in text and text.index("Key findings") < text.index("1. Overall ranking")


def test_readme_shows_the_current_findings_of_the_published_table(peer_report):
    from pathlib import Path

    result, _, _ = peer_report
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("The first findings on the published table")[1].split("```")[1]
    shown = " ".join(line.strip() for line in block.splitlines()
                     if line.strip() and line.strip() != "...")
    found = _table(result, "findings")["finding"].str.replace("**", "", regex=False).tolist()
    joined = " ".join(f"{i}. {f}" for i, f in enumerate(found, 1))
    assert shown.startswith("1. ") and joined.startswith(shown), (shown[:300], joined[:300])
