"""`--shard i/N`: a deterministic split where every item lands in exactly one shard."""

from __future__ import annotations

import pytest

from ftbench.core.io import InputError
from ftbench.core.shard import Shard, parse_shard


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "1/0", "2", "", "-1/2", "1/2/3"])
def test_bad_values_are_refused(text):
    with pytest.raises(InputError, match="--shard"):
        parse_shard(text)


def test_every_item_in_exactly_one_shard_whatever_the_order():
    names = [f"m{i:02d}" for i in range(25)]
    for count in (1, 2, 3, 7, 30):
        parts = [Shard(i, count).select(names, key=str) for i in range(1, count + 1)]
        flat = [n for p in parts for n in p]
        assert sorted(flat) == names  # union = everything, no item twice
        assert max(map(len, parts)) - min(map(len, parts)) <= 1  # balanced
        # the split depends on the names only, not on the order they are listed in
        assert [sorted(Shard(i, count).select(list(reversed(names)), key=str))
                for i in range(1, count + 1)] == [sorted(p) for p in parts]
    assert parse_shard(" 2 / 4 ") == Shard(2, 4) and str(Shard(2, 4)) == "2/4"
    assert parse_shard(None) is None
    assert Shard(1, 2).select(["b", "a", "c"], key=str) == ["a", "c"]  # original order kept
