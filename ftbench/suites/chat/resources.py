"""Where the chat suite's resources live: its task folder and the bundled sample."""

from __future__ import annotations

from ftbench.core.paths import SAMPLE_DIR, TASKS_DIR

CHAT_TASKS_DIR = TASKS_DIR / "chat"
SAMPLE_CHAT = SAMPLE_DIR / "chat_sample.jsonl"
ENV_VAR = "FTBENCH_CHAT_DATA"
METADATA_KEY = "chat_data"
# how the tasks prepare the bundled sample in memory when no directory is named
SAMPLE_PREPARE = {"sizes": (16, 36), "test_size": 12, "seed": 42}
