"""`ftbench train --tracking tensorboard,trackio,wandb` in a real process with its stdout piped
(no TTY): ftbench prints a plain line per logged step (loss, ETA) and no loss dicts; TensorBoard's
event files, Trackio's local store and W&B's offline run hold the run's training losses, equal to
its history.json; the tracking settings do not enter the run's fingerprint (the run stays current
without them)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN = "tiny-16"


pytestmark = pytest.mark.slow  # one real `ftbench train` process (~30 s idle)


@pytest.fixture(scope="module")
def tracked(tiny_model, sample_prepared, make_config, tmp_path_factory):
    root = tmp_path_factory.mktemp("tracked")
    config = make_config(root / "train.yaml", output_dir=str(root / "runs"),
                         data_dir=str(sample_prepared), base_model=str(tiny_model),
                         model_name="tiny", train_size=16, max_steps=4, logging_steps=1,
                         threads=1)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRACKIO_DIR": str(root / "trackio"),
           "TOKENIZERS_PARALLELISM": "false"}
    env.pop("FTBENCH_VERBOSITY", None)
    cmd = [sys.executable, "-m", "ftbench.cli.main", "train", str(config),
           "--tracking", "tensorboard,trackio,wandb", "tracking.project=tracked-study"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root, timeout=900,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    history = json.loads((root / "runs" / RUN / "history.json").read_text())
    return root, proc, config, history


def _losses(history) -> dict[int, float]:
    return {int(h["step"]): float(h["loss"]) for h in history["train"]}


def test_no_tty_prints_step_lines_with_loss_and_eta(tracked):
    _, proc, _, history = tracked
    lines = re.findall(rf"^{RUN}: step (\d+)/4 loss ([\d.]+) ETA (\d+:\d\d)$", proc.stdout,
                       flags=re.MULTILINE)
    assert [int(step) for step, _, _ in lines] == [1, 2, 3, 4]
    assert {int(s): float(v) for s, v, _ in lines} == pytest.approx(_losses(history), abs=1e-4)
    assert "{'loss'" not in proc.stdout + proc.stderr  # the Trainer's dicts stay off
    assert "Trackio" not in proc.stdout  # the tracker's banner goes to the run's log


def test_tensorboard_holds_the_training_losses(tracked):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root, _, _, history = tracked
    acc = EventAccumulator(str(root / "tracking" / "tensorboard" / RUN))
    acc.Reload()
    events = {e.step: e.value for e in acc.Scalars("train/loss")}
    assert events == pytest.approx(_losses(history), abs=1e-5)


def test_trackio_holds_the_training_losses_in_the_study_project(tracked):
    root, _, _, history = tracked
    code = ("import json; from trackio.sqlite_storage import SQLiteStorage as S; "
            f"print(json.dumps(S.get_logs('tracked-study', '{RUN}'), default=str))")
    env = {**os.environ, "TRACKIO_DIR": str(root / "trackio")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True, timeout=120).stdout
    logs = json.loads(out)
    losses = {int(r["train/global_step"]): r["train/loss"] for r in logs if "train/loss" in r}
    assert losses == pytest.approx(_losses(history), abs=1e-5)


def test_wandb_offline_holds_the_training_losses_in_the_study_project(tracked):
    """The Trainer's W&B callback logs into the run ftbench opened: offline, named and
    identified as the run, in the study's project."""
    from wandb_records import offline_runs

    root, proc, _, history = tracked
    runs = offline_runs(root / "runs" / ".." / "tracking" / "wandb")
    assert [info for info, _ in runs] == [{"id": RUN, "name": RUN, "project": "tracked-study",
                                           "group": "tracked-study"}]
    rows = runs[0][1]
    losses = {int(r["train/global_step"]): r["train/loss"] for r in rows if "train/loss" in r}
    assert losses == pytest.approx(_losses(history), abs=1e-5)
    assert "wandb" not in proc.stdout.lower()  # its messages stay out of ftbench's output


def test_tracking_settings_never_retrain(tracked, sample_prepared):
    """Where the curves go is not what the run is trained with: the run trained with trackers
    is current for the same config without them (its fingerprint is unchanged)."""
    from ftbench.train.config import load_config
    from ftbench.train.grid import plan, run_fingerprint, stale_reason

    root, _, config, _ = tracked
    plain = load_config(config, [f"output_dir={root / 'runs'}"])
    assert plain.tracking is None
    run = plan(plain)[0]
    assert stale_reason(run.run_dir, run_fingerprint(plain, run.spec, run.data_sha)) is None
    assert json.loads((run.run_dir / "manifest.json").read_text())["config"]["tracking"][
        "backends"] == ["tensorboard", "trackio", "wandb"]
