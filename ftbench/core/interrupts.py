"""SIGINT and SIGTERM as a recorded request that always lands.

Why not only Python's default (raise KeyboardInterrupt where the signal arrives): the handler runs
at whatever bytecode the main thread is executing, and when that is a garbage-collector or weakref
callback (a `WeakKeyDictionary` entry being removed, a `__del__`), Python prints "Exception ignored
in: …" and drops the exception; training, evaluation and the report then ran on and the command
exited 0. So the handler first records the request, then raises to stop blocking work at once;
`check()` at each safe point (a training step, an evaluation event, a stage boundary, the command's
end) raises again while a request is recorded, so a dropped raise costs at most one step.

A second signal while the first unwinds is only recorded: the cleanup (statuses written, workers
stopped, locks released) must not be cut short by a KeyboardInterrupt of its own.
"""

from __future__ import annotations

import os
import signal
import sys

_requested: str | None = None  # the first signal's name, once one arrived


def _handler(signum: int, _frame) -> None:
    global _requested
    first = _requested is None
    _requested = _requested or signal.Signals(signum).name
    if first:
        raise KeyboardInterrupt(_requested)


def install() -> dict:
    """SIGINT and SIGTERM record a request and interrupt (from the main thread only); returns
    the handlers they replace, for `restore`."""
    global _requested
    _requested = None
    return {sig: signal.signal(sig, _handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def restore(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def requested() -> str | None:
    """The signal a request was made by ('SIGINT', 'SIGTERM'), or None."""
    return _requested


def check() -> None:
    """A safe point: raise KeyboardInterrupt while an interruption is requested."""
    if _requested is not None:
        raise KeyboardInterrupt(_requested)


def name_of(exc: BaseException) -> str:
    """The signal behind a KeyboardInterrupt (a terminal's Ctrl-C carries no text)."""
    return str(exc) or _requested or "SIGINT"


def last_word(message: str) -> None:
    """Print `message` as the last line the user sees: library progress bars still alive are
    closed silently first (a bar closed by the garbage collector would print after it), and when
    this process owns the terminal streams (not under a test's capture) they are pointed at
    /dev/null after it, so no late finaliser or library thread can write below it."""
    _silence_progress_bars()
    own = sys.stderr is sys.__stderr__ and sys.stdout is sys.__stdout__
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    print(message, file=sys.stderr, flush=True)
    if not own:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
    os.close(devnull)


def _silence_progress_bars() -> None:
    tqdm_mod = sys.modules.get("tqdm.std")
    if tqdm_mod is None:
        return
    for bar in list(getattr(tqdm_mod.tqdm, "_instances", ())):
        bar.disable = True  # close() of a disabled bar writes nothing
        try:
            bar.close()
        except Exception:  # a bar on a closed log file: nothing more to say
            pass
