"""The wheel's contents, decided in pyproject.toml, cover the package and everything it reads.

(The end-to-end check — build the wheel, install it into a fresh venv, run the demo and stock
lm_eval from an empty folder — is scripts/wheel_check.sh, run by `make test` after pytest.)
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from ftbench.core import paths

REPO = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_python_package_is_listed():
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "ftbench").rglob("__init__.py")}
    mapped = set(SETUPTOOLS["package-dir"])
    listed = set(SETUPTOOLS["packages"])
    assert found <= listed, f"missing from [tool.setuptools].packages: {sorted(found - listed)}"
    assert listed - found <= mapped | {f"ftbench.tasks.{d.name}" for d in paths.TASKS_DIR.iterdir()
                                       if d.is_dir() and not d.name.startswith((".", "_"))}


def test_every_task_and_config_file_is_package_data():
    data = SETUPTOOLS["package-data"]
    for package, folder in SETUPTOOLS["package-dir"].items():
        root = REPO / folder
        files = [p.relative_to(root).as_posix() for p in root.rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"]
        assert files, folder
        missed = [f for f in files if not any(fnmatch.fnmatch(f, g) for g in data[package])]
        assert not missed, f"{folder}: not shipped in the wheel: {missed}"


def test_resources_resolve_in_a_checkout():
    assert (paths.TASKS_DIR / "bmw" / "bmw.yaml").is_file()
    assert (paths.CONFIGS_DIR / "demo.yaml").is_file()
    assert paths.SAMPLE_CORPUS.is_file()
