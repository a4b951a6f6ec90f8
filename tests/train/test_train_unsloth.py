"""The unsloth backend on a real GPU (skipped without CUDA or without the `gpu` extra)."""

from __future__ import annotations

import json

import pytest
import torch

from ftbench.cli.train import train_main

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.mark.parametrize("method", ["lora", "qlora"])
def test_unsloth_run_trains_and_exports(method, tmp_path, make_config, tiny_model, sample_prepared):
    pytest.importorskip("unsloth")
    out = tmp_path / "runs"
    path = make_config(tmp_path / "train.yaml", base_model=str(tiny_model), model_name="tiny",
                       train_size=16, data_dir=str(sample_prepared), output_dir=str(out),
                       method=method, backend="unsloth", max_steps=4)
    assert train_main(path, []) == 0
    m = json.loads((out / "tiny-16" / "manifest.json").read_text())
    assert m["backend"] == "unsloth" and m["device"]["device"] == "cuda"
    assert m["memory"]["cuda_max_allocated_mb"] > 0
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(out / "tiny-16" / "merged") is not None


def test_auto_picks_unsloth_when_installed():
    pytest.importorskip("unsloth")
    from ftbench.train.unsloth_backend import resolve_backend

    assert resolve_backend("auto") == "unsloth"
