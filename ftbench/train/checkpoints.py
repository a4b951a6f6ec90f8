"""Training checkpoints: where a run keeps them, which one it resumes from, when they go.

Why the Trainer's own (`save_steps`, `resume_from_checkpoint`): a checkpoint holds the adapter (or
model), optimizer, scheduler, RNG states and the step, and the Trainer skips the batches already
seen, so a run killed or interrupted midway resumes to the weights an uninterrupted run reaches.
Where: `<output_dir>/.ftbench/checkpoints/<run>/`, inside ftbench's mark directory (never a user's
file), with the digest of the run's fingerprint in `run.json`; checkpoints of other inputs are
removed, never resumed. They are removed when the run is complete or has failed, and kept when it
is interrupted or killed (the next attempt resumes from them).
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from transformers import TrainerCallback

from ftbench.core.io import InputError, atomic_write_json, read_json
from ftbench.core.outputs import MARK_DIR

CHECKPOINTS = "checkpoints"
STATE = "trainer_state.json"  # the Trainer writes it last: a checkpoint without it is partial
_STEP = re.compile(r"checkpoint-(\d+)$")


def checkpoint_root(run_dir: Path) -> Path:
    """Where the run `run_dir` keeps its checkpoints (under its output directory's mark dir)."""
    return run_dir.parent / MARK_DIR / CHECKPOINTS / run_dir.name


def resume_point(root: Path, run_digest: str | None) -> Path | None:
    """Make `root` ready for a run of `run_digest` and return its last complete checkpoint, if
    any: checkpoints of another run digest and partial checkpoints (killed while saving) go."""
    if root.is_dir():
        try:
            old = read_json(root / "run.json").get("digest")
        except (InputError, AttributeError):  # missing, torn or of another shape: not ours to trust
            old = None
        if run_digest is None or old != run_digest:
            shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_json(root / "run.json", {"digest": run_digest})
    complete = []
    for p in root.iterdir():
        if (m := _STEP.match(p.name)) and p.is_dir():
            if (p / STATE).is_file():
                complete.append((int(m.group(1)), p))
            else:
                shutil.rmtree(p)
    return max(complete)[1] if complete else None


def remove_checkpoints(root: Path) -> None:
    """The run is complete (or failed): its checkpoints are of no further use."""
    shutil.rmtree(root, ignore_errors=True)
    parent = root.parent
    if parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()


class TimedCheckpoints(TrainerCallback):
    """Ask the Trainer for a checkpoint whenever `minutes` have passed since the run started or
    its last checkpoint: long runs are protected, short ones write none."""

    def __init__(self, minutes: float) -> None:
        self.seconds = minutes * 60.0
        self.last = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        if time.monotonic() - self.last >= self.seconds:
            control.should_save = True
        return control

    def on_save(self, args, state, control, **kwargs):
        self.last = time.monotonic()
        return control
