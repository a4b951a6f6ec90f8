"""Defaults that keep a GPU's memory for the work: gradient checkpointing on with CUDA, LoRA
dropout 0 for unsloth, a failed run's model freed before the next run, unsloth taken by `auto`
only when it really imports — and CPU fingerprints unchanged by any of it."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from ftbench.core.io import InputError
from ftbench.train.config import LoraSettings, TrainConfig, load_config

REPO = Path(__file__).resolve().parents[2]


def test_null_settings_resolve_per_backend_and_device():
    cfg = TrainConfig(base_model="m")
    assert cfg.gradient_checkpointing is None and cfg.lora.dropout is None
    cpu = cfg.effective("peft", "cpu")
    gpu = cfg.effective("unsloth", "cuda")
    assert (cpu["gradient_checkpointing"], cpu["lora"]["dropout"]) == (False, 0.05)
    assert (gpu["gradient_checkpointing"], gpu["lora"]["dropout"]) == (True, 0.0)
    assert cfg.effective("peft", "cuda")["lora"]["dropout"] == 0.05
    explicit = TrainConfig(base_model="m", gradient_checkpointing=False,
                           lora=LoraSettings(dropout=0.1))
    assert explicit.effective("unsloth", "cuda")["gradient_checkpointing"] is False
    assert explicit.effective("unsloth", "cuda")["lora"]["dropout"] == 0.1


def test_cpu_fingerprint_of_the_new_defaults_equals_the_old_explicit_values(
        tmp_path, make_config, tiny_model, sample_prepared):
    """Runs trained before the defaults became null (False / 0.05) stay reusable on a CPU."""
    from ftbench.train.grid import plan, run_fingerprint

    keys = dict(base_model=str(tiny_model), model_name="tiny", train_size=16,
                data_dir=str(sample_prepared), output_dir=str(tmp_path / "runs"),
                lora={"r": 4, "alpha": 8})
    new = load_config(make_config(tmp_path / "new.yaml", **keys))
    old = load_config(make_config(tmp_path / "old.yaml", gradient_checkpointing=False,
                                  **{**keys, "lora": {"r": 4, "alpha": 8, "dropout": 0.05}}))
    (run,) = plan(new)
    assert new.lora.dropout is None and new.gradient_checkpointing is None
    assert (run_fingerprint(new, run.spec, run.data_sha)["digest"]
            == run_fingerprint(old, run.spec, run.data_sha)["digest"])
    assert run_fingerprint(new, run.spec, run.data_sha, backend="unsloth")["digest"] != (
        run_fingerprint(new, run.spec, run.data_sha)["digest"])


def test_a_failed_run_frees_its_model_before_the_grid_goes_on(
        tmp_path, make_config, tiny_model, sample_prepared):
    """The traceback of a failure holds the run's frames (model, optimizer): the memory must be
    released after the except block, not inside it, or the next run (and vLLM) finds the GPU
    full. On a CPU the same logic is visible as the model object being gone."""
    from transformers import TrainerCallback

    from ftbench.train.grid import plan, run_fingerprint, train_one

    refs: list[weakref.ref] = []

    class Boom(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            refs.append(weakref.ref(model))
            raise RuntimeError("injected failure after the first step")

    cfg = load_config(make_config(tmp_path / "t.yaml", base_model=str(tiny_model),
                                  model_name="tiny", train_size=16,
                                  data_dir=str(sample_prepared),
                                  output_dir=str(tmp_path / "runs"), eval_fraction=0.0))
    (run,) = plan(cfg)
    gc.disable()  # only the code under test may collect the cycles a model and trainer form
    try:
        manifest, action = train_one(cfg, run, "peft", run_fingerprint(cfg, run.spec, run.data_sha),
                                     False, [Boom()])
        alive = [r() is not None for r in refs]
    finally:
        gc.enable()
    assert action == "failed" and "injected failure" in manifest["error"]
    assert refs and not any(alive)


_BROKEN_UNSLOTH = '''raise ImportError("No module named 'xformers'")\n'''


def test_auto_takes_unsloth_only_when_it_imports(tmp_path):
    """A wrong-version unsloth (the resolver once picked one that imports xformers) must not
    fail every run: `auto` says why and trains with peft; `unsloth` asked for by name stops."""
    fake = tmp_path / "site" / "unsloth"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(_BROKEN_UNSLOTH)
    code = ("from ftbench.train.unsloth_backend import resolve_backend\n"
            "print('backend', resolve_backend('auto', cuda=True))\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{REPO}"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "backend peft"
    assert "unsloth is installed but does not import" in out.stderr
    assert "xformers" in out.stderr


def test_gpu_only_training_settings_stop_without_cuda(tmp_path, make_config, sample_prepared):
    import torch

    if torch.cuda.is_available():
        pytest.skip("checks the refusal on a machine without CUDA")
    from ftbench.train.device_check import check_train_device

    base = dict(base_model="m", data_dir=str(sample_prepared))
    for key, value in (("precision", "bf16"), ("precision", "fp16"), ("backend", "unsloth")):
        cfg = load_config(make_config(tmp_path / f"{key}.yaml", **{**base, key: value}))
        with pytest.raises(InputError) as err:
            check_train_device(cfg, prefix="train.")
        line = str(err.value)
        assert line.startswith(f"config key 'train.{key}'") and "CUDA" in line
        assert "CPU-only build" in line or "no NVIDIA GPU" in line or "driver" in line
    ok = load_config(make_config(tmp_path / "ok.yaml", **base, method="qlora"))
    assert check_train_device(ok) == "peft"  # bitsandbytes' CPU path, chosen on purpose
