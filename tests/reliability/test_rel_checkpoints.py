"""Training checkpoints: a run killed with SIGKILL after a checkpoint (saved by time) resumes from
it and ends at the weights of an uninterrupted run (checkpointed by steps), tensor by tensor, exactly (same CPU, same seed: the Trainer
restores optimizer, scheduler, RNG states and the data position); the checkpoints are removed once
the run is complete, and checkpoints of other inputs are never resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from cli_helpers import cli_env, ftbench_cmd

from ftbench.train.checkpoints import STATE, checkpoint_root, resume_point

STEPS = 6  # checkpoints at 2 and 4 (by steps); a kill past step 3 leaves 1 to 3 to resume


def _config(root: Path, model: Path, prepared: Path, **extra) -> Path:
    root.mkdir(parents=True)
    config = root / "t.yaml"
    config.write_text(yaml.safe_dump({
        "output_dir": str(root / "runs"), "data_dir": str(prepared), "method": "lora",
        "backend": "peft", "base_model": str(model), "model_name": "tiny", "train_size": 16,
        "lora": {"r": 4, "alpha": 8}, "learning_rate": 3e-3, "max_steps": STEPS,
        "batch_size": 2, "max_seq_length": 256, "eval_fraction": 0.0, "logging_steps": 1,
        **extra}))
    return config


def _train(config: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(ftbench_cmd("train", config), env=cli_env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _tensors(run: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(run / "merged" / "model.safetensors")


def _saved(ckpt: Path, at_least: int = 0) -> int:
    """The step of the latest complete checkpoint (0: none yet, or none past `at_least`)."""
    steps = [int(p.name.split("-")[1]) for p in ckpt.glob("checkpoint-*") if (p / STATE).is_file()]
    return max(steps) if steps and max(steps) >= at_least else 0


@pytest.mark.slow
def test_kill_9_after_a_checkpoint_resumes_to_the_same_weights(tmp_path, tiny_model_quick,
                                                               prepared):
    reference = _config(tmp_path / "reference", tiny_model_quick, prepared, checkpoint_steps=2)
    _train(reference)
    ref_run = tmp_path / "reference" / "runs" / "tiny-16"
    assert json.loads((ref_run / "manifest.json").read_text())["resumed_from"] is None
    assert not checkpoint_root(ref_run).exists()  # removed once the run is complete

    # checkpoints by time (every 0.06 s: after each step): the interval changes no weight
    killed = _config(tmp_path / "killed", tiny_model_quick, prepared, checkpoint_minutes=0.001)
    run = tmp_path / "killed" / "runs" / "tiny-16"
    ckpt = checkpoint_root(run)
    proc = subprocess.Popen(ftbench_cmd("train", killed), env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 600
    while not _saved(ckpt, at_least=3):  # past half-way: a state, not a time
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no checkpoint past step 3 appeared"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run / "manifest.json").exists()
    last = _saved(ckpt)
    assert 3 <= last < STEPS, last

    _train(killed)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["steps"] == STEPS
    assert manifest["resumed_from"] == f"checkpoint-{last}"
    assert not ckpt.exists()
    ref, got = _tensors(ref_run), _tensors(run)
    assert ref.keys() == got.keys()
    different = [k for k in ref if not (ref[k] == got[k]).all()]
    assert not different, different[:5]
    # the adapters agree too, and differ from the base: training happened on both sides
    from safetensors.torch import load_file
    base = load_file(tiny_model_quick / "model.safetensors")
    assert any(not (base[k] == ref[k]).all() for k in base if k in ref)


def test_checkpoints_of_other_inputs_and_partial_ones_are_not_resumed(tmp_path):
    root = tmp_path / "runs" / ".ftbench" / "checkpoints" / "tiny-16"
    (root / "checkpoint-2").mkdir(parents=True)
    (root / "checkpoint-2" / STATE).write_text("{}")
    (root / "run.json").write_text(json.dumps({"digest": "old"}))
    assert resume_point(root, "new") is None and not (root / "checkpoint-2").exists()
    for step in (2, 4):
        (root / f"checkpoint-{step}").mkdir()
    (root / "checkpoint-2" / STATE).write_text("{}")  # checkpoint-4: killed while saving
    assert resume_point(root, "new") == root / "checkpoint-2"
    assert not (root / "checkpoint-4").exists()
    assert json.loads((root / "run.json").read_text()) == {"digest": "new"}


def test_an_interrupt_a_library_turned_into_its_own_error_keeps_the_checkpoints(
        tmp_path, tiny_model_quick, prepared):
    """SIGINT lands inside a library that re-raises it as its own exception (a real signal to
    this process, caught and wrapped in a Trainer callback): the run is interrupted, not failed —
    its checkpoints stay for the next attempt (a failed run's are removed, and the next attempt
    would start over: the `resumed_from` None seen in test_rel_signals under load)."""
    from transformers import TrainerCallback

    from ftbench.core import interrupts
    from ftbench.train.config import load_config
    from ftbench.train.grid import run_grid

    class WrapsTheInterrupt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                try:
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(1)  # the handler raises here
                except KeyboardInterrupt as exc:
                    raise RuntimeError("a library's own error") from exc

    cfg = load_config(_config(tmp_path / "t", tiny_model_quick, prepared,
                                    checkpoint_steps=2))
    previous = interrupts.install()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_grid(cfg, callbacks=[WrapsTheInterrupt()])
    finally:
        interrupts.restore(interrupts.install())  # forget the recorded request
        interrupts.restore(previous)
    run = tmp_path / "t" / "runs" / "tiny-16"
    assert _saved(checkpoint_root(run)) == 2  # kept: the next attempt resumes from it
    index = json.loads((tmp_path / "t" / "runs" / "grid_index.json").read_text())
    assert index["runs"]["tiny-16"]["status"] == "interrupted", index["runs"]["tiny-16"]
