"""A study with general_small beside the domain task, offline on the bundled fixtures: the tiny
base and two LoRA fine-tunes of it, then the report's forgetting section, its numbers re-derived
here from lm-eval's per-sample logs."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from rich.console import Console
from scipy import stats as sps

from ftbench.core.paths import CONFIGS_DIR
from ftbench.eval.results_files import samples_file
from ftbench.pipelines.study import run_study
from ftbench.pipelines.study_config import load_study_config

pytestmark = pytest.mark.slow

GENERAL_N = 8  # one generation batch of GSM8K per model
BASE, TUNED = "tiny-llama-base", ("tiny-llama-16", "tiny-llama-48")


@pytest.fixture(scope="module")
def study(tmp_path_factory, tiny_model):
    out = tmp_path_factory.mktemp("forgetting") / "study"
    (out / "models").mkdir(parents=True)
    (out / "models" / "tiny-llama").symlink_to(tiny_model)
    cfg = load_study_config(CONFIGS_DIR / "demo.yaml", [
        f"out_dir={out}", "train.max_steps=10", "eval.tasks=[bmw_type,general_small]",
        "eval.general_data=sample", f"eval.general_n={GENERAL_N}",
    ])
    console = Console(file=io.StringIO(), width=160, record=True)
    manifest = run_study(cfg, None, console)
    return cfg, manifest, console.export_text()


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
    acc = {}
    for model in (BASE, *TUNED):
        s = _items(cfg, model, "bmw_type", "acc", "none")
        acc[model] = s.mean()
    for model in TUNED:
        assert trade.at[model, "domain_metric"] == "type_accuracy"
        assert trade.at[model, "domain_gain"] == pytest.approx(acc[model] - acc[BASE])
        head = table[(table["model"] == model) & table["headline"]]
        assert sorted(head["benchmark"]) == ["gsm8k", "hellaswag",
                                             "mmlu_high_school_computer_science"]
        assert trade.at[model, "general_change"] == pytest.approx(head["abs_change"].mean())
    sizes = pd.read_csv(cfg.report_dir / "tables" / "forgetting_by_train_size.csv")
    assert sorted(sizes["train_size"].unique()) == [16, 48]
    assert len(sizes) == 2 * 3  # two sizes x three benchmarks' headline metrics
