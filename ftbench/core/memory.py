"""Peak memory of a window of work, for cost figures beside scores (evaluation per task).

Why sample: `ru_maxrss` is the peak of the whole process, so every task after the largest would
report the same figure; a sampler thread gives each window (one model on one task) its own peak.
The RSS counted is this process plus its children (a vLLM worker process included), in MiB.
hf models share the evaluating process, so a later model's figure can include memory an earlier
one did not give back to the operating system: compare figures within one kind of work.
"""

from __future__ import annotations

import threading
import time

import psutil


class RssSampler:
    """Samples (time, RSS of this process + children in MiB) every `interval` seconds in a
    thread while the `with` block runs; `peak(start, end)` is the largest sample in a window."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> float:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:  # a child that ended between listing and reading
                pass
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._rss()))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float, end: float) -> float | None:
        """The peak RSS (MiB) sampled between `start` and `end` (one interval of slack each
        side), or None when no sample fell there."""
        window = [rss for t, rss in self.samples
                  if start - self.interval <= t <= end + self.interval]
        return round(max(window), 1) if window else None
