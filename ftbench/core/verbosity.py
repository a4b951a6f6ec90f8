"""How much a command prints: `-q` (errors and the final summary), normal, `-v` (the libraries too).

Normal output is ftbench's own: its live views and summaries. What the libraries print while a
model trains or is evaluated in this process — progress bars, warnings, loss dicts — goes to that
run's log file instead (`libraries_to`), as a worker subprocess's stderr already does; `-v`
leaves it on the terminal. The level travels to subprocesses in `FTBENCH_VERBOSITY`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from pathlib import Path

ENV = "FTBENCH_VERBOSITY"
LEVELS = ("quiet", "normal", "verbose")


def set_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"verbosity must be one of {LEVELS}, got {level!r}")
    os.environ[ENV] = level


def level() -> str:
    value = os.environ.get(ENV, "normal")
    return value if value in LEVELS else "normal"


def console(**kwargs):
    """A rich console for progress and summaries: silent under `-q`. It writes to the stdout of
    its creation, so a block that sends `sys.stdout` elsewhere (a library's prints, to a log)
    never takes a live view with it."""
    from rich.console import Console

    kwargs.setdefault("file", sys.stdout)
    return Console(quiet=level() == "quiet", **kwargs)


@contextmanager
def libraries_to(log_path: Path | str) -> Iterator[None]:
    """While the block runs, everything written to this process's stderr is appended to
    `log_path`: `sys.stderr` (progress bars, warnings; also when a rich live view has put its
    proxy there) and file descriptor 2 (handlers made earlier, C-level messages). Under `-v`
    it stays on the terminal. ftbench's own views write to stdout and are not affected."""
    if level() == "verbose":
        yield
        return
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with log_path.open("a", encoding="utf-8", buffering=1) as log:
            os.dup2(log.fileno(), 2)
            try:
                with redirect_stderr(log):
                    yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)
