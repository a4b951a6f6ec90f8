"""Out of memory in ftbench's words: which model or run, at which stage, and what to try.

Why here: the libraries say it five ways (Python's `MemoryError`, `torch.OutOfMemoryError` on a
GPU, torch's CPU allocator's `RuntimeError: ... can't allocate memory`, `std::bad_alloc` from
C++, `ENOMEM` from mmap), none of which names the model or a setting to change. Evaluation and
training both ask `is_out_of_memory` and put `message(...)` first in the error they record, so
the one line the user reads is ftbench's and the library's words follow it.
"""

from __future__ import annotations

import errno

from ftbench.core.io import error_line

# what the libraries write when an allocation failed (exception text or a dead worker's log)
MARKERS = ("out of memory", "can't allocate memory", "cannot allocate memory", "std::bad_alloc",
           "memoryerror", "outofmemoryerror", "not enough memory")

EVAL_HINTS = ("a smaller --batch-size, a smaller --limit, a smaller dtype "
              "(--model-args dtype=bfloat16) or fewer models per `ftbench eval` run")
TRAIN_HINTS = ("a smaller batch_size (now {batch_size}; a larger grad_accum keeps the effective "
               "batch), a shorter max_seq_length (now {max_seq_length}), method qlora or a "
               "smaller dtype")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it was raised from, is a failed allocation."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
            return True
        if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
            return True
        if isinstance(exc, RuntimeError) and mentions_out_of_memory(str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def mentions_out_of_memory(text: str) -> bool:
    """Whether a message or a log tail reports a failed allocation."""
    low = text.lower()
    return any(m in low for m in MARKERS)


def message(who: str, stage: str, hints: str, cause: BaseException | str) -> str:
    """The one line: `out of memory <stage> (<who>); try ... (<the library's words>)`."""
    said = error_line(cause) if isinstance(cause, BaseException) else cause
    return f"out of memory {stage} ({who}); try {hints} (the library said: {said})"
