"""Non-finite numbers stop a training run: a NaN / inf loss as soon as it is logged, and merged
weights are read back and checked before the run can be marked complete.

Why both: a diverging run logs `loss: nan` (the Trainer's own `logging_nan_inf_filter` would hide
it, so sft.py turns that off), but the optimizer step after the last logged loss can still blow
the weights up; an export with inf in it would load, evaluate to garbage and be reported.
"""

from __future__ import annotations

import math
from pathlib import Path

from transformers import TrainerCallback


class NonFiniteError(RuntimeError):
    """A training run produced a non-finite number; the run fails, the grid goes on."""


class FiniteLossGuard(TrainerCallback):
    """Raise NonFiniteError at the first logged loss (per logging step, the run's mean at its
    end, an evaluation's) that is not finite."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        for key in ("loss", "train_loss", "eval_loss"):
            value = (logs or {}).get(key)
            if isinstance(value, (int, float)) and not math.isfinite(value):
                raise NonFiniteError(f"{key.replace('_', ' ')} is {value} at step "
                                     f"{state.global_step}: run stopped (lower learning_rate "
                                     "or check the base model)")


def check_finite_weights(model_dir: Path) -> None:
    """NonFiniteError naming the first tensor of `model_dir`'s safetensors with inf or NaN."""
    import torch
    from safetensors import safe_open

    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        raise NonFiniteError(f"{model_dir}: no safetensors file was written")
    for path in files:
        with safe_open(str(path), framework="pt") as fh:
            names = fh.keys()  # a safe_open handle is not iterable itself
            for name in names:
                tensor = fh.get_tensor(name)
                if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                    bad = int((~torch.isfinite(tensor)).sum())
                    raise NonFiniteError(f"{path.parent.name}/{path.name}: tensor {name} has "
                                         f"{bad} non-finite value(s) (inf or NaN); the run is "
                                         "not marked complete")
