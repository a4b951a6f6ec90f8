"""LoRA, QLoRA and full fine-tuning runs end to end on the tiny model: files, numbers, exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from training.cli import train_main

PROMPT = [{"role": "system", "content": "You classify BMW news articles."},
          {"role": "user", "content": "Identify the type: The BMW Group delivered 1.2 million cars."}]


def _run(tmp_path_factory, make_config, tiny_model, sample_prepared, name: str, **keys) -> Path:
    root = tmp_path_factory.mktemp(name)
    path = make_config(root / "train.yaml", base_model=str(tiny_model), model_name=name,
                       train_size=16, data_dir=str(sample_prepared), output_dir=str(root / "runs"),
                       **keys)
    assert train_main(path, []) == 0
    return root / "runs" / f"{name}-16"


@pytest.fixture(scope="module")
def module_config():
    from .conftest import write_config  # noqa: F401  (module-scoped twin of make_config)


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, tiny_model, sample_prepared) -> Path:
    from training_test_helpers import write_config

    return _run(tmp_path_factory, write_config, tiny_model, sample_prepared, "lora",
                max_steps=10, eval_steps=5)
