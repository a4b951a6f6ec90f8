"""A study with general_small beside the domain tasks, offline on the bundled fixtures (the
session's finished study): the tiny base and two LoRA fine-tunes of it, then the report's
forgetting section, its numbers re-derived here from lm-eval's per-sample logs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats as sps
from study_fixture import GENERAL_N

from ftbench.eval.results_files import samples_file

pytestmark = pytest.mark.slow

BASE, TUNED = "tiny-llama-base", ("tiny-llama-16", "tiny-llama-48")


@pytest.fixture(scope="module")
def study(finished_study):
    """The session's finished study: the demo config with general_small (tests/study_fixture.py)."""
    return finished_study.cfg, finished_study.manifest, finished_study.text


def _items(cfg, model: str, task: str, metric: str, filt: str) -> pd.Series:
    path = samples_file(cfg.results_dir / model, task)
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = {ln["doc_id"]: float(ln[metric]) for ln in lines if ln["filter"] == filt}
    return pd.Series(rows).sort_index()


def test_general_small_results_reach_the_report(study):
    cfg, manifest, text = study
    assert all(s["status"] == "complete" for s in manifest["stages"].values())
    index = json.loads((cfg.results_dir / "index.json").read_text())
    assert index["settings"]["metadata"]["general_n"] == GENERAL_N
    assert index["settings"]["metadata"]["general_data"] == "sample"
    report = manifest["stages"]["report"]["info"]
    assert report["sections"]["forgetting"] == "written"
    assert "12. Forgetting (general skills)" in text and "forgetting_tradeoff" in text
    summary = (cfg.report_dir / "summary.md").read_text()
    assert "## 12. Forgetting (general skills)" in summary
    assert "plots/forgetting_tradeoff.png" in summary
    for plot in ("forgetting_tradeoff", "forgetting_vs_train_size"):
        with Image.open(cfg.report_dir / "plots" / f"{plot}.png") as img:
            assert img.size[0] > 300 and img.size[1] > 200


def test_forgetting_table_matches_the_per_sample_logs(study):
    cfg, _, _ = study
    table = pd.read_csv(cfg.report_dir / "tables" / "forgetting.csv")
    expected = {("mmlu_high_school_computer_science", "acc", "none"),
                ("hellaswag", "acc", "none"), ("hellaswag", "acc_norm", "none"),
                ("gsm8k", "exact_match", "strict-match"),
                ("gsm8k", "exact_match", "flexible-extract")}
    for model in TUNED:
        mine = table[table["model"] == model]
        assert set(zip(mine["benchmark"], mine["metric"], mine["filter"])) == expected
        assert (mine["base"] == BASE).all()
    for row in table.itertuples():
        task = f"general_small_{row.benchmark}"
        base = _items(cfg, BASE, task, row.metric, row.filter)
        tuned = _items(cfg, row.model, task, row.metric, row.filter)
        assert list(base.index) == list(tuned.index) and len(base) == GENERAL_N
        assert row.base_value == pytest.approx(base.mean())
        assert row.finetuned_value == pytest.approx(tuned.mean())
        assert row.abs_change == pytest.approx(tuned.mean() - base.mean())
        # lm-eval's stderr of a mean of 0/1 items: sample std / sqrt(n)
        assert row.base_stderr == pytest.approx(base.std(ddof=1) / np.sqrt(len(base)))
        lost = int(((base == 1) & (tuned == 0)).sum())
        gained = int(((base == 0) & (tuned == 1)).sum())
        assert (row.lost, row.gained, row.n_items) == (lost, gained, GENERAL_N)
        p = 1.0 if lost + gained == 0 else sps.binomtest(lost, lost + gained, 0.5).pvalue
        assert row.p == pytest.approx(p)


def test_tradeoff_and_train_size_tables(study):
    cfg, _, _ = study
    table = pd.read_csv(cfg.report_dir / "tables" / "forgetting.csv")
    trade = pd.read_csv(cfg.report_dir / "tables" / "forgetting_tradeoff.csv").set_index("model")
    # the domain metric is the study's ranking score: with bmw_tags and bmw_type (and no overall
    # score), the first headline metric, tag_f1 = the mean of bmw_tags' per-sample f1
    f1 = {}
    for model in (BASE, *TUNED):
        s = _items(cfg, model, "bmw_tags", "f1", "none")
        assert len(s) == 16  # every held-out article
        f1[model] = s.mean()
    for model in TUNED:
        assert trade.at[model, "domain_metric"] == "tag_f1"
        assert trade.at[model, "domain_gain"] == pytest.approx(f1[model] - f1[BASE])
        head = table[(table["model"] == model) & table["headline"]]
        assert sorted(head["benchmark"]) == ["gsm8k", "hellaswag",
                                             "mmlu_high_school_computer_science"]
        assert trade.at[model, "general_change"] == pytest.approx(head["abs_change"].mean())
    sizes = pd.read_csv(cfg.report_dir / "tables" / "forgetting_by_train_size.csv")
    assert sorted(sizes["train_size"].unique()) == [16, 48]
    assert len(sizes) == 2 * 3  # two sizes x three benchmarks' headline metrics
