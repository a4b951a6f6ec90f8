"""ftbench.report.stats / scaling / meta / runs: checked against scipy and hand counts."""

from __future__ import annotations

import json
import math
from math import comb

import numpy as np
import pytest
from scipy import stats as sps

from ftbench.core.io import InputError
from ftbench.report import meta, scaling, stats
from ftbench.report.runs import load_runs, parse_history
from ftbench.report.vocab import resolve_metric

pytest_plugins = ["report_fixtures"]  # report_runs

# --- bootstrap / paired tests ---------------------------------------------------------------


def test_bootstrap_ci_is_seeded_and_brackets_the_mean():
    x = np.random.default_rng(1).normal(0.5, 0.1, size=200)
    a = stats.bootstrap_ci(x, seed=3)
    assert a == stats.bootstrap_ci(x, seed=3)
    assert a["lo"] < x.mean() < a["hi"] and a["n"] == 200
    assert a["estimate"] == pytest.approx(x.mean())
    # the half-width is about 1.96 standard errors
    assert (a["hi"] - a["lo"]) / 2 == pytest.approx(1.96 * x.std(ddof=1) / math.sqrt(200), rel=0.2)


def test_bootstrap_ci_drops_nan_and_handles_empty_and_ratio_stat():
    assert stats.bootstrap_ci([np.nan, 1.0, 1.0])["n"] == 2
    assert math.isnan(stats.bootstrap_ci([])["estimate"])
    rows = np.array([[-10.0, 5.0], [-20.0, 5.0], [-15.0, 10.0]])
    ci = stats.bootstrap_ci(rows, stat=lambda r: math.exp(-r[:, 0].sum() / r[:, 1].sum()))
    assert ci["estimate"] == pytest.approx(math.exp(45 / 20))
    with pytest.raises(ValueError):
        stats.bootstrap_ci(rows)


def test_sign_flip_permutation_matches_scipy_exactly():
    rng = np.random.default_rng(0)
    a = rng.normal(size=12)
    b = a + rng.normal(0.4, 0.5, size=12)
    ours = stats.permutation_test(a, b)
    ref = sps.permutation_test((b - a,), np.mean, permutation_type="samples",
                               n_resamples=np.inf, alternative="two-sided").pvalue
    assert ours == pytest.approx(ref)


def test_permutation_identical_samples_and_large_n():
    assert stats.permutation_test([1, 2, 3], [1, 2, 3]) == 1.0
    rng = np.random.default_rng(2)
    a = rng.normal(size=60)
    assert stats.permutation_test(a, a + 1.0) < 0.001
    assert stats.permutation_test(a, a + rng.normal(0, 1, 60) * 1e-9 + 0) > 0.01


def test_mcnemar_exact_and_chi2():
    # a right on 2 items b got wrong; b right on 8 items a got wrong -> 10 discordant, exact
    a = [1] * 2 + [0] * 8 + [1] * 5
    b = [0] * 2 + [1] * 8 + [1] * 5
    r = stats.mcnemar(a, b)
    assert (r["a_only"], r["b_only"]) == (2, 8)
    expected = 2 * sum(comb(10, k) for k in range(3)) / 2 ** 10
    assert r["p"] == pytest.approx(expected) and "exact" in r["method"]
    big_a, big_b = [1] * 30 + [0] * 10, [0] * 30 + [1] * 10
    r = stats.mcnemar(big_a, big_b)
    assert "chi2" in r["method"]
    assert r["p"] == pytest.approx(sps.chi2.sf((abs(30 - 10) - 1) ** 2 / 40, 1))
    assert stats.mcnemar([1, 0], [1, 0])["p"] == 1.0


def test_paired_test_picks_the_test_by_metric_kind():
    assert "McNemar" in stats.paired_test([1, 0, 1], [1, 1, 1], binary=True)["test"]
    r = stats.paired_test([0.1, 0.2, 0.3], [0.2, 0.3, 0.4], binary=False)
    assert r["diff"] == pytest.approx(0.1) and "permutation" in r["test"]
    assert r["diff_lo"] == pytest.approx(0.1) and r["diff_hi"] == pytest.approx(0.1)


def test_holm():
    assert stats.holm([0.01, 0.04, 0.03, math.nan])[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(stats.holm([0.01, math.nan])[1])


def test_correlation_and_describe_against_scipy_numpy():
    x = [1, 2, 3, 4, 5, 6]
    y = [2.0, 1.5, 3.5, 3.0, 5.5, 7.0]
    c = stats.correlation(x, y)
    assert c["pearson_r"] == pytest.approx(sps.pearsonr(x, y).statistic)
    assert c["spearman_p"] == pytest.approx(sps.spearmanr(x, y).pvalue)
    assert math.isnan(stats.correlation([1, 2], [3, 4])["pearson_r"])
    assert math.isnan(stats.correlation([1, 1, 1], [3, 4, 5])["pearson_r"])
    d = stats.describe(y)
    assert d["std"] == pytest.approx(np.std(y, ddof=1)) and d["range"] == pytest.approx(5.5)


# --- scaling fits -------------------------------------------------------------------------


def test_saturating_fits_recover_the_plateau():
    n = np.array([100, 250, 500, 1000, 2000, 4000], dtype=float)
    y = 0.8 * n / (n + 300)
    fit = scaling.fit_one("hyperbolic", n, y)
    assert fit["plateau"] == pytest.approx(0.8, rel=1e-4)
    assert fit["c"] == pytest.approx(300, rel=1e-3) and fit["n_95"] == pytest.approx(5700, rel=1e-3)
    noisy = 0.7 - 0.3 * np.exp(-n / 800) + np.array([0.004, -0.003, 0.002, -0.004, 0.003, -0.002])
    exp = scaling.fit_one("exp_saturating", n, noisy)
    assert abs(exp["plateau"] - 0.7) < 3 * exp["plateau_se"] + 0.01
    assert exp["plateau_lo"] < exp["plateau"] < exp["plateau_hi"]
    log = scaling.fit_one("log", n, noisy)
    assert log["gain_per_doubling"] == pytest.approx(log["b"] * math.log(2))
    assert math.isnan(log["plateau"])


def test_fit_needs_three_sizes():
    fit = scaling.fit_one("exp_saturating", [16, 48], [0.1, 0.2])
    assert math.isnan(fit["plateau"]) and "3 distinct sizes" in fit["note"]


# --- meta: names, configs, mapping ----------------------------------------------------------


@pytest.mark.parametrize(("name", "family", "params", "size", "base"), [
    ("qwen3-0.6b-2000", "Qwen3", 0.6, 2000, "qwen3-0.6b"),
    ("llama-3.2-1b-500", "Llama 3.2", 1.0, 500, "llama-3.2-1b"),
    ("smollm2-135m-1000", "Smollm2", 0.135, 1000, "smollm2-135m"),
    ("tiny-lora-16", "Tiny", None, 16, "tiny-lora"),
    ("tiny-base", "Tiny", None, None, "tiny-base"),
])
def test_parse_name(name, family, params, size, base):
    facts = meta.parse_name(name)
    assert facts.get("family") == family and facts.get("train_size") == size
    assert facts.get("params_b") == (pytest.approx(params) if params else None)
    assert facts["base_model"] == base


def test_resolve_prefers_explicit_facts_and_records_sources():
    out = meta.resolve("qwen3-0.6b-2000", [
        ("column", {"family": None, "train_size": float("nan")}),
        ("mapping", {"family": "Qwen"}),
        ("name", meta.parse_name("qwen3-0.6b-2000")),
    ])
    assert out["family"] == "Qwen" and out["train_size"] == 2000 and out["params_b"] == 0.6
    assert "family=mapping" in out["meta_source"] and "train_size=name" in out["meta_source"]


def test_config_params_matches_safetensors_of_a_llama(tmp_path):
    from safetensors.numpy import save_file

    cfg = {"hidden_size": 8, "num_hidden_layers": 2, "vocab_size": 50, "intermediate_size": 16,
           "num_attention_heads": 2, "num_key_value_heads": 1, "tie_word_embeddings": True}
    h, kv = 8, 4  # head_dim 4, one kv head
    tensors = {"embed": np.zeros((50, h), np.float32), "norm": np.zeros(h, np.float32)}
    for i in range(2):
        for n, shape in {"q": (h, h), "k": (kv, h), "v": (kv, h), "o": (h, h), "gate": (16, h),
                         "up": (16, h), "down": (h, 16), "ln1": (h,), "ln2": (h,)}.items():
            tensors[f"l{i}.{n}"] = np.zeros(shape, np.float32)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    exact = sum(t.size for t in tensors.values())
    assert meta.safetensors_params(tmp_path) == exact
    assert meta.config_params(cfg) == exact
    assert meta.local_model_params(str(tmp_path)) == (exact, "safetensors header")
    (tmp_path / "model.safetensors").unlink()
    assert meta.local_model_params(str(tmp_path)) == (exact, "config.json estimate")
    assert meta.local_model_params("org/not-local") == (None, "")


def test_mapping_file_yaml_json_and_errors(tmp_path):
    y = tmp_path / "m.yaml"
    y.write_text("a: {family: F, params_b: 1.5, train_size: 100}\n")
    assert meta.load_mapping(y) == {"a": {"family": "F", "params_b": 1.5, "train_size": 100}}
    j = tmp_path / "m.json"
    j.write_text(json.dumps({"b": {"family": "G"}}))
    assert meta.load_mapping(j)["b"]["family"] == "G"
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: {famly: F}\n")
    with pytest.raises(InputError, match="famly"):
        meta.load_mapping(bad)
    bad.write_text("a: [1, 2\n")
    with pytest.raises(InputError, match="not valid"):
        meta.load_mapping(bad)
    with pytest.raises(InputError, match="not found"):
        meta.load_mapping(tmp_path / "missing.yaml")


def test_resolve_metric_names():
    cols = ["summ_rougeL_f1", "title_rougeL_f1", "tag_f1"]
    assert resolve_metric("summ_rougeL_f1", cols) == "summ_rougeL_f1"
    assert resolve_metric("bmw_title:rougeL", cols) == "title_rougeL_f1"
    assert resolve_metric("f1", cols) == "tag_f1"
    with pytest.raises(InputError, match="ambiguous"):
        resolve_metric("rougeL", cols)
    with pytest.raises(InputError, match="not available"):
        resolve_metric("bleu", cols)


# --- training runs --------------------------------------------------------------------------


def test_history_layouts():
    hf = parse_history([{"step": 1, "loss": 2.0}, {"step": 1, "eval_loss": 2.5},
                        {"train_runtime": 3.0}])
    assert hf["train_loss"].dropna().tolist() == [2.0] and hf["eval_loss"].dropna().tolist() == [2.5]
    ours = parse_history({"train": [{"step": 2, "loss": 1.0}], "eval": [{"step": 0, "loss": 3.0}]})
    assert ours["step"].tolist() == [0, 2] and ours["eval_loss"].iloc[0] == 3.0


def test_load_runs_reads_training_manifests(report_runs):
    runs, notes = load_runs(report_runs)
    by_name = {r.name: r for r in runs}
    run = by_name["tiny-lora-16"]
    assert run.facts["train_size"] == 16 and run.facts["trainable_params"] == 12345
    assert run.facts["final_eval_loss"] == pytest.approx(3.5)
    assert run.facts["base_model"] == "tiny-lora" and len(run.history) == 7
    assert any("tiny-lora-99" in n and "failed" in n for n in notes)
    assert load_runs(None) == ([], [])


def test_merged_adapter_runs_count_the_base_parameters(report_runs):
    """The evaluated merged checkpoint has the base's size: peft's total minus the adapter."""
    from ftbench.report.runs import run_facts

    run = {r.name: r for r in load_runs(report_runs)[0]}["tiny-lora-16"]
    assert run_facts(run)["params_b"] == pytest.approx((765625 - 12345) / 1e9)
    run.facts["method"] = "full"
    assert run_facts(run)["params_b"] == pytest.approx(765625 / 1e9)

