"""Python files that are not part of a package — scripts/*.py and tasks/*/utils.py — loaded by
path under a name of their own (every task folder has a `utils.py`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def load_file(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_script(name: str) -> ModuleType:
    """`scripts/<name>.py` as the module `name`."""
    return load_file(REPO / "scripts" / f"{name}.py", name)
