"""Fixtures of the training tests: the prepared sample and fast configs.

The model is the session's shared `tiny_model` (tests/conftest.py): the whole suite builds it once,
so these tests add no model build of their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

# small, fast settings shared by the tests' configs; each test overrides what it checks
FAST = {
    "method": "lora", "backend": "peft", "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
    "learning_rate": 3e-3, "max_steps": 4, "batch_size": 2, "max_seq_length": 320,
    "logging_steps": 2, "eval_fraction": 0.15, "eval_steps": None, "seed": 0,
}


@pytest.fixture(scope="session")
def sample_prepared(tmp_path_factory) -> Path:
    """The bundled sample prepared as `ftbench data prepare ... --sizes 16,32,48 --test-size 16`."""
    from ftbench.suites.bmw.prepare import prepare_file, write_prepared
    from ftbench.suites.bmw.resources import SAMPLE_CORPUS
    from ftbench.suites.bmw.task_rows import SAMPLE_PREPARE

    out = tmp_path_factory.mktemp("sample") / "prepared"
    return write_prepared(prepare_file(SAMPLE_CORPUS, **SAMPLE_PREPARE), out)


def write_config(path: Path, **keys) -> Path:
    """A training YAML made of FAST overridden by `keys` (None values are dropped)."""
    data = {**FAST, **keys}
    path.write_text(yaml.safe_dump({k: v for k, v in data.items() if v is not None},
                                   sort_keys=False))
    return path


@pytest.fixture(scope="session")
def make_config():
    """`make_config(path, **keys)`: write a fast training YAML (see FAST) and return its path."""
    return write_config
