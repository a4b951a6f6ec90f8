"""One writer per output directory: an advisory `fcntl.flock` on `<dir>/.ftbench/lock`.

Held for the whole run of a command that writes the directory (eval, train, study). A second
command on the same directory waits, saying once who holds the lock; a killed holder (even
`kill -9`) releases it, because the kernel drops the lock with the process. The lock is
re-entrant within one process (the study holds its directory while its stages lock their own).
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ftbench.core.outputs import MARK_DIR

LOCK_NAME = "lock"
_held: dict[str, int] = {}  # resolved lock path → depth, for this process


def lock_path(root: Path) -> Path:
    return Path(root) / MARK_DIR / LOCK_NAME


def holder(root: Path) -> str:
    """What the lock file says about its holder ("pid 123: ftbench eval … since …"), or ""."""
    try:
        return lock_path(root).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextmanager
def dir_lock(root: Path | str, command: str, *, wait: bool = True,
             say: Callable[[str], None] = _say, shared: bool = False) -> Iterator[None]:
    """Hold the directory's lock for the duration of the block. `shared`: a share of it, held
    together with other shared holders (the shards of one `--shard i/N` split, each writing
    only its own models' or runs' files) and exclusive of every un-sharded run."""
    path = lock_path(Path(root))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = str(path.resolve())
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            who = holder(Path(root)) or "another process"
            if not wait:
                from ftbench.core.io import InputError

                raise InputError(f"{root}: in use by {who}; wait for it to finish or use another "
                                 "directory") from None
            say(f"ftbench: {root} is in use by {who}; waiting for it to finish (Ctrl-C to stop)")
            fcntl.flock(fd, mode)
        if not shared:  # shared holders leave the file to the exclusive one's record
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()}: {command} (since {time.strftime('%H:%M:%S')})\n"
                     .encode())
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
            if not shared:
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the lock
