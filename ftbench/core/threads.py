"""torch's intra-op threads, set from the CPUs this process may use, and recorded.

torch sizes its thread pool from the machine's cores, not from what the process is allowed: in a
container with a CPU quota or a Slurm allocation it oversubscribes, and on a shared machine its
spinning OpenMP threads wait on each other (measured here: summarization of 20 articles 1,428 s
with the default threads beside another job, 109 s with one thread). Precedence: an explicit
setting (`--threads`, `eval.threads`, `threads:` of a training config) > `OMP_NUM_THREADS` >
the CPUs allowed by the affinity mask and the cgroup CPU quota. The `ftbench` command also sets
`OMP_WAIT_POLICY=PASSIVE` unless it is set (see `prefer_passive_omp_wait`).
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from ftbench.core.io import InputError

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
WAIT_POLICY = "OMP_WAIT_POLICY"


def prefer_passive_omp_wait() -> str | None:
    """Make idle OpenMP threads sleep rather than spin, unless the user chose a policy.

    libgomp (torch's OpenMP) spins ~300k iterations at every barrier when it has no more threads
    than CPUs; beside another busy process that spinning eats the time slices the other thread
    needs (benchmarks/threads.py: 2 threads 93 s vs 6.8 s passive for the same generation).
    It is read once, when torch loads libgomp, so this runs at CLI start, before any torch import;
    returns the policy in effect for this process (None: libgomp's default, active spin)."""
    if WAIT_POLICY not in os.environ and "torch" not in sys.modules:
        os.environ[WAIT_POLICY] = "PASSIVE"
    return os.environ.get(WAIT_POLICY)


def allowed_cpus() -> tuple[int, str]:
    """(CPUs this process may run on, how that was found): affinity, capped by a cgroup quota."""
    try:
        n, source = len(os.sched_getaffinity(0)), "sched_getaffinity"
    except (AttributeError, OSError):
        n, source = os.cpu_count() or 1, "os.cpu_count"
    quota = cgroup_cpu_quota()
    if quota is not None and quota < n:
        return quota, "cgroup cpu.max"
    return n, source


def cgroup_cpu_quota(path: Path = CGROUP_CPU_MAX) -> int | None:
    """CPUs granted by a cgroup v2 quota (`cpu.max` = "QUOTA PERIOD"), rounded up; None if unlimited."""
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def thread_count(requested: int | None = None) -> tuple[int, str]:
    """How many intra-op threads to use, and why."""
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise InputError(f"threads {requested!r}: must be a positive integer")
        return requested, "setting"
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            raise InputError(f"OMP_NUM_THREADS={env!r}: must be a positive integer") from None
        if value >= 1:
            return value, "OMP_NUM_THREADS"
    n, source = allowed_cpus()
    return n, source


def configure_threads(requested: int | None = None) -> dict:
    """Set torch's intra-op threads; returns the record for results files and manifests."""
    import torch

    n, source = thread_count(requested)
    torch.set_num_threads(n)
    cpus, cpu_source = allowed_cpus()
    return {"torch_intra_op": torch.get_num_threads(), "source": source,
            "cpus_allowed": cpus, "cpus_allowed_source": cpu_source,
            "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
            "omp_wait_policy": os.environ.get(WAIT_POLICY) or "libgomp default (spin)"}


def vllm_cpu_binding(n: int) -> str:
    """A `VLLM_CPU_OMP_THREADS_BIND` value: the first `n` CPUs this process may use."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = list(range(os.cpu_count() or 1))
    return ",".join(str(c) for c in cpus[:max(1, n)])
