"""Where the repository's own resources live (task YAML, bundled sample corpus)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
TASKS_DIR = REPO_DIR / "tasks"
BMW_TASKS_DIR = TASKS_DIR / "bmw"
SAMPLE_CORPUS = PACKAGE_DIR / "sample_data" / "bmw_sample.jsonl"
