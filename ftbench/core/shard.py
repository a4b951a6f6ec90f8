"""`--shard i/N`: a deterministic share of a grid's work for one of N independent processes.

Batch schedulers (a Slurm array job: `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`)
run N copies of one command with nothing shared but the filesystem. Each copy takes the items
(models to evaluate, runs to train) at the positions p ≡ i − 1 (mod N) of the list sorted by
name: every item lands in exactly one shard, the shards differ in size by at most one, and the
split depends only on the names, never on the order of a config or on the machine. A shard
writes only its own items' files; the later un-sharded command derives the indexes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from ftbench.core.io import InputError

T = TypeVar("T")
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as Slurm's --array=1-N numbers its tasks
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def select(self, items: Iterable[T], key: Callable[[T], str]) -> list[T]:
        """This shard's items, in their original order (round-robin over the sorted keys)."""
        items = list(items)
        ranked = sorted(range(len(items)), key=lambda n: key(items[n]))
        mine = {n for pos, n in enumerate(ranked) if pos % self.count == self.index - 1}
        return [item for n, item in enumerate(items) if n in mine]


def parse_shard(text: str | None, where: str = "--shard") -> Shard | None:
    """`i/N` with 1 ≤ i ≤ N, or None for no text; InputError (exit 2) otherwise."""
    if text is None:
        return None
    m = _SHARD.match(str(text))
    if not m:
        raise InputError(f"{where}: expected i/N (e.g. 1/4, shards numbered from 1), got {text!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or not 1 <= index <= count:
        raise InputError(f"{where}: shard {index} of {count} does not exist (i/N needs "
                         f"1 ≤ i ≤ N), got {text!r}")
    return Shard(index, count)
