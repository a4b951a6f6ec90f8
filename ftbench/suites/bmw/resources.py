"""Where the BMW suite's resources live: its task folder, the bundled sample corpus, its code."""

from __future__ import annotations

from pathlib import Path

from ftbench.core.paths import SAMPLE_DIR, TASKS_DIR

BMW_TASKS_DIR = TASKS_DIR / "bmw"
SAMPLE_CORPUS = SAMPLE_DIR / "bmw_sample.jsonl"
BMW_CODE_DIR = Path(__file__).resolve().parent
