"""Session fixtures built once per test run, also across pytest-xdist workers (a module of its
own: `from conftest import ...` would reach whichever conftest.py was imported last)."""

from __future__ import annotations

import os


def built_once(tmp_path_factory, name: str, build):
    """`build(folder)` run once per test run, also when pytest-xdist splits the run over
    processes: the first worker builds under a file lock in the run's shared temporary folder and
    keeps what `build` returned (pickled); the others wait for the lock and read it. Without
    xdist: a session folder."""
    import pickle

    from filelock import FileLock

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return build(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent / f"shared-{name}"
    with FileLock(f"{shared}.lock"):
        done = shared / ".built.pickle"
        if not done.exists():
            shared.mkdir(exist_ok=True)
            done.write_bytes(pickle.dumps(build(shared)))
        return pickle.loads(done.read_bytes())
