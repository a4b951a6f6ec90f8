"""Training settings that need a GPU, checked before any data is prepared or directory claimed.

Why: without a usable CUDA device (none, or a driver too old for torch's CUDA build) a study
that asks for bf16, unsloth or QLoRA on a GPU would fall back to the CPU and train for hours in
the wrong precision, or stop after its data stage. It stops here instead, with one line.
"""

from __future__ import annotations

from ftbench.core.accelerator import cuda_usable, gpu_present, require_cuda, why_no_cuda
from ftbench.core.io import InputError
from ftbench.train.config import TrainConfig
from ftbench.train.unsloth_backend import resolve_backend


def check_train_device(cfg: TrainConfig, prefix: str = "") -> str:
    """The backend `cfg` trains with here; InputError naming `prefix`+key for a GPU-only
    setting on a machine where CUDA is not usable."""
    if cfg.precision in ("bf16", "fp16"):
        require_cuda(f"{prefix}precision", f"precision: {cfg.precision}",
                     "use precision: auto (fp32 on a CPU) or fp32")
    if cfg.method == "qlora" and gpu_present() and not cuda_usable():
        # bitsandbytes has a (slow) CPU path, taken on purpose on a machine without a GPU; with
        # a GPU that torch cannot use, the CPU fallback is never what was meant
        raise InputError(f"config key '{prefix}method': qlora would fall back to the CPU: "
                         f"{why_no_cuda()}; fix the driver/torch pairing or use method: lora")
    try:
        return resolve_backend(cfg.backend)
    except InputError as exc:
        raise InputError(str(exc).replace("config key '", f"config key '{prefix}", 1)) from None
