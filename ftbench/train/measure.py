"""Costs of a run: peak memory (RSS sampled per step, CUDA max allocated) and package versions.

Why sample RSS ourselves: `ru_maxrss` is the peak of the whole process, so in a grid every run after
the largest would report the same figure; a per-run sampler gives each run its own peak.
"""

from __future__ import annotations

import importlib.metadata
import platform
import resource
import sys

import psutil
from transformers import TrainerCallback

PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes",
            "unsloth", "ftbench")


class PeakMemory(TrainerCallback):
    """Tracks this run's peak RSS (MiB) and, on CUDA, the peak allocated GPU memory."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self.peak_rss_mb = 0.0
        self.sample()
        try:
            import torch

            self.cuda = torch.cuda.is_available()
            if self.cuda:
                torch.cuda.reset_peak_memory_stats()
        except ImportError:  # pragma: no cover - torch is a core dependency
            self.cuda = False

    def sample(self) -> None:
        self.peak_rss_mb = max(self.peak_rss_mb, self._proc.memory_info().rss / 2**20)

    def on_step_end(self, args, state, control, **kwargs):
        self.sample()

    def on_evaluate(self, args, state, control, **kwargs):
        self.sample()

    def report(self) -> dict[str, float | None]:
        self.sample()
        cuda_peak = None
        if self.cuda:
            import torch

            cuda_peak = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
        return {
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "process_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                        * scale / 2**20, 1),
            "cuda_max_allocated_mb": cuda_peak,
        }


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_info() -> dict[str, str | int | None]:
    import torch

    if torch.cuda.is_available():
        return {"device": "cuda", "name": torch.cuda.get_device_name(0),
                "count": torch.cuda.device_count()}
    return {"device": "cpu", "name": platform.processor() or platform.machine(),
            "count": psutil.cpu_count(logical=True)}
