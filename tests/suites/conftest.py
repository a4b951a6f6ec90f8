"""Fixtures of the suite tests."""

from __future__ import annotations

import pytest
from toy_domain import write_toy_domain


@pytest.fixture(scope="session")
def toy(tmp_path_factory):
    """The toy domain (a task folder + one suite module outside the package), written once: a
    process registers one suite named `toy`, so every test module shares this one."""
    root = tmp_path_factory.mktemp("toy-domain")
    return root, write_toy_domain(root)
