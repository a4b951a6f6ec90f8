"""Where ftbench's own resources live: task YAML, configs, the bundled sample corpora.

A wheel ships `tasks/` and `configs/` inside the package (`ftbench/tasks`, `ftbench/configs`,
mapped from the repository's top-level folders by pyproject.toml); a source checkout has them
next to the package. Both layouts resolve here, so nothing else looks for them.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _resource(name: str) -> Path:
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


TASKS_DIR = _resource("tasks")
CONFIGS_DIR = _resource("configs")
SAMPLE_DIR = PACKAGE_DIR / "sample_data"
# the Python code that computes a number from a task's rows and answers: a change invalidates
# prepared data and results (ftbench.core.fingerprint.code_digest)
METRICS_CODE_DIR = PACKAGE_DIR / "metrics"
# the shared suite code (layout, prompts, leakage, ...): part of every suite's data fingerprint
SUITES_CODE_DIR = PACKAGE_DIR / "suites"
# every built-in suite's code: a task folder's utils.py may import its suite's package too, so
# an evaluation result depends on all of it
ALL_SUITE_CODE_DIRS = (PACKAGE_DIR / "suites", *sorted(
    d for d in (PACKAGE_DIR / "suites").iterdir() if d.is_dir() and not d.name.startswith("_")))
# the word a config or command line uses for "the bundled sample" of a suite's data
SAMPLE_SOURCE = "sample"
