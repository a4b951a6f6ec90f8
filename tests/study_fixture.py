"""One finished tiny study for the whole test session (the `finished_study` fixture).

The demo config, reduced: what `ftbench demo` does (data → the tiny model → LoRA on 16 and 48
articles → base and fine-tuned models evaluated in one invocation → report), on the domain
tasks the demo test checks (bmw_type, bmw_tags) and general_small for the forgetting section.
It is run the way an interrupted study is: the data, model and training stages first, then the
whole study, which must reuse them; what each call returned is kept for the tests.

Tests that only read a study use it as it is; a test that changes a study (a re-run, a resume,
a changed setting) works on `copy_study(...)` in its own tmp_path.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from ftbench.core.paths import CONFIGS_DIR
from ftbench.pipelines.study import run_study
from ftbench.pipelines.study_config import StudyConfig, load_study_config

OVERRIDES = ["eval.tasks=[bmw_type,bmw_tags,general_small]", "eval.general_data=sample",
             "eval.general_n=8"]
GENERAL_N = 8  # one generation batch of GSM8K per model
QUICK_PRETRAIN_STEPS = 2  # the `tiny_model_quick` fixture (tests/conftest.py)


@dataclass
class FinishedStudy:
    cfg: StudyConfig
    interrupted: dict  # the study manifest after run_study(["data", "models", "train"])
    trained_at: dict[str, int]  # run name → mtime_ns of its manifest.json after that call
    manifest: dict  # the study manifest of the full run that followed
    text: str  # what the full run printed

    @property
    def out(self) -> Path:
        return self.cfg.out


def study_config(out: Path) -> StudyConfig:
    return load_study_config(CONFIGS_DIR / "demo.yaml", [f"out_dir={out}", *OVERRIDES])


def build_finished_study(out: Path, tiny_model: Path) -> FinishedStudy:
    # the session's tiny model: same builder, settings and train split as the demo's own
    (out / "models").mkdir(parents=True)
    (out / "models" / "tiny-llama").symlink_to(tiny_model)
    cfg = study_config(out)
    interrupted = run_study(cfg, ["data", "models", "train"], Console(file=io.StringIO()))
    trained_at = {r.name: (cfg.runs_dir / r.name / "manifest.json").stat().st_mtime_ns
                  for r in cfg.runs()}
    console = Console(file=io.StringIO(), width=160, record=True)
    manifest = run_study(cfg, None, console)
    return FinishedStudy(cfg, interrupted, trained_at, manifest, console.export_text())


def copy_study(study: FinishedStudy, dest: Path) -> StudyConfig:
    """The finished study copied to `dest` (file times kept), and the config that runs it there."""
    shutil.copytree(study.out, dest, symlinks=True)
    return study_config(dest)
