"""Is there a GPU torch can use, and if not, why — said before any work starts.

Why: torch's CUDA wheels report `cuda.is_available() == False` with only a warning when the
NVIDIA driver is too old for them, and everything then runs on the CPU: training in bf16 for
hours, a CUDA vLLM build handed CPU settings. Settings that only make sense on a GPU are checked
against this once, at config load, and refused with one line that names the key and the reason.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

from ftbench.core.io import InputError


@cache
def cuda_usable() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def torch_device() -> str:
    """'cuda' or 'cpu': where training and evaluation run here (and what a run's fingerprint
    resolves its device-dependent defaults for)."""
    return "cuda" if cuda_usable() else "cpu"


def gpu_present() -> bool:
    """An NVIDIA device or driver is on this machine (whether or not torch can use it)."""
    return (Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()
            or shutil.which("nvidia-smi") is not None)


def why_no_cuda() -> str:
    """One phrase: why torch sees no usable GPU here."""
    import torch

    build = torch.version.cuda
    if build is None:
        return f"torch {torch.__version__} is a CPU-only build"
    if gpu_present():
        return (f"an NVIDIA driver is present but torch {torch.__version__} (CUDA {build}) "
                "cannot use it (a driver older than its CUDA version?)")
    return f"no NVIDIA GPU is visible to torch {torch.__version__} (CUDA {build})"


def require_cuda(key: str, what: str, instead: str) -> None:
    """InputError `config key 'KEY': WHAT needs a usable CUDA GPU, and <why>; INSTEAD`."""
    if not cuda_usable():
        raise InputError(f"config key '{key}': {what} needs a usable CUDA GPU, and "
                         f"{why_no_cuda()}; {instead}")
