"""What runs on a Ray worker: one training run, one model's evaluation; and the cluster hookup.

Ray is an optional dependency (`pip install 'ftbench[cluster]'`), imported only here and in the
driver (ftbench.pipelines.ray_executor). A task writes only its own run's directory or its own
model's files and status.json, exactly as the local executor's code does (it *is* that code:
`train_one`, `run_model_job`); the driver, which holds the directories' locks, writes the
indexes. Workers start in the driver's working directory, so relative study paths resolve the
same on every node of a cluster that shares the filesystem.
"""

from __future__ import annotations

import os
from pathlib import Path

from ftbench.core.io import InputError

CLUSTER_EXTRA = "pip install 'ftbench[cluster]'  (ray>=2.9)"


def require_ray():
    """The ray module, or InputError (exit 2, one line) when it is not installed."""
    try:
        import ray
    except ImportError:
        raise InputError(f"executor ray: Ray is not installed; {CLUSTER_EXTRA}, or use the "
                         "local executor (executor: local)") from None
    return ray


def worker_env() -> dict[str, str]:
    """Environment for workers of a cluster we start: this ftbench first on the path."""
    here = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH", "")
    return {"PYTHONPATH": here + (os.pathsep + path if path else "")}


def local_cluster_options(num_cpus: int | None, object_store_mb: int = 256) -> dict:
    """ray.init arguments for a local cluster: bounded CPUs and object store, no dashboard,
    worker output kept in Ray's session logs (the driver's live table owns the terminal)."""
    return {"num_cpus": num_cpus, "include_dashboard": False,
            "object_store_memory": object_store_mb * 1024**2, "log_to_driver": False,
            "runtime_env": {"env_vars": worker_env()}}


def connect(address: str | None, num_cpus: int | None, object_store_mb: int) -> bool:
    """Join the cluster at `address` (or $RAY_ADDRESS; `auto` = the one running on this
    machine), else start a local one. True when this call connected (the caller shuts down)."""
    ray = require_ray()
    if ray.is_initialized():  # the caller's own session (e.g. a test's local cluster)
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"config key 'ray.address' / RAY_ADDRESS {address!r}: cannot join "
                             f"the Ray cluster ({first})") from None
        return True
    ray.init(**local_cluster_options(num_cpus, object_store_mb))
    return True


class Progress:
    """A tiny actor: which tasks are running now (workers report start and end)."""

    def __init__(self) -> None:
        self.running: set[tuple[str, str]] = set()

    def start(self, key: tuple[str, str]) -> None:
        self.running.add(tuple(key))

    def stop(self, key: tuple[str, str]) -> None:
        self.running.discard(tuple(key))

    def snapshot(self) -> list[tuple[str, str]]:
        return sorted(self.running)


def train_task(cwd: str, cfg, run, fingerprint: dict, stale: bool, progress) -> tuple[dict, str]:
    """One training run on a worker: (manifest, "trained" | "failed"), as the local grid does."""
    from ftbench.train.grid import train_one
    from ftbench.train.unsloth_backend import resolve_backend

    os.chdir(cwd)
    key = ("train", run.spec.name)
    progress.start.remote(key)
    try:
        # on the worker: it is the one with the GPU (resolving unsloth imports it, before
        # transformers builds a model)
        backend = resolve_backend(cfg.backend)
        return train_one(cfg, run, backend, fingerprint, stale)
    finally:
        progress.stop.remote(key)


def eval_task(cwd: str, job, results_dir: str, progress) -> dict:
    """One model's pending tasks on a worker; events go to its own status.json only."""
    from ftbench.eval.index import ResultsStore
    from ftbench.eval.orchestrator import run_model_job

    os.chdir(cwd)
    name = job.spec.name
    key = ("eval", name)
    progress.start.remote(key)
    try:
        store = ResultsStore.attach(Path(results_dir), frozenset({name}))
        run_model_job(job, store.apply)
        return store.model(name)
    finally:
        progress.stop.remote(key)
