"""Fixtures of the fault-injection suite.

The model is the session's embedded tiny model (tests/conftest.py); `tiny_other` is the same
architecture with perturbed weights, so "another model under the same name" is a real,
different model whose numbers differ.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_helpers import SAMPLE


@pytest.fixture(scope="session")
def tiny_other(tiny_model, tmp_path_factory) -> Path:
    """The tiny model with every weight perturbed: another model, same files and names."""
    import torch
    from safetensors.torch import load_file, save_file

    out = tmp_path_factory.mktemp("other") / "tiny-other"
    shutil.copytree(tiny_model, out)
    weights = out / "model.safetensors"
    gen = torch.Generator().manual_seed(0)
    state = {k: v + 0.05 * torch.randn(v.shape, generator=gen) for k, v in
             load_file(weights).items()}
    save_file(state, weights, metadata={"format": "pt"})
    return out


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> Path:
    """The bundled sample prepared (16 test articles, train sizes 16 and 32)."""
    from ftbench.suites.bmw.prepare import prepare_file, write_prepared

    out = tmp_path_factory.mktemp("rel-data") / "prepared"
    return write_prepared(prepare_file(SAMPLE, sizes=(16, 32), test_size=16, seed=42), out)
