"""The frontier memo is bounded in bytes as well as entries: an estate of distinct shapes has no repeats
to reuse, and 16,384 frames of ~65 KB held ~1 GiB in each worker."""

from __future__ import annotations

import polars as pl

from advisor.candidates.memo import SMALL, Memo, size_of


def frame(rows: int) -> pl.DataFrame:
    return pl.DataFrame({"x": list(range(rows))}, schema={"x": pl.Int64})


def test_sizes_are_polars_estimates_and_tuples_sum_their_frames():
    assert size_of(frame(1000)) == 8000
    assert size_of((frame(1000), "no_fit")) == 8000 + SMALL
    assert size_of(["m5.large"]) == SMALL


def test_the_oldest_entries_go_once_the_bytes_pass_the_bound():
    memo = Memo(max_entries=100, max_bytes=20_000)
    for key in range(5):
        memo.put(key, frame(1000))  # 8,000 bytes each: two fit
    assert list(memo._data) == [3, 4]
    assert memo._bytes == 16_000
    memo.get(3, lambda: frame(0))      # used again: now the newest
    memo.put(5, frame(500))            # 4,000 more: 20,000, still within
    assert list(memo._data) == [4, 3, 5] and memo._bytes == 20_000
    memo.put(4, frame(10))             # replacing a value counts its new size only
    assert memo._bytes == 12_080 and list(memo._data) == [3, 5, 4]


def test_an_entry_larger_than_the_bound_is_still_kept_alone_and_the_entry_cap_still_holds():
    memo = Memo(max_entries=100, max_bytes=1_000)
    memo.put("big", frame(1000))
    assert list(memo._data) == ["big"]  # the value just computed is kept for its caller's next use
    memo.put("next", frame(1))
    assert list(memo._data) == ["next"] and memo._bytes == 8
    capped = Memo(max_entries=3)
    for key in range(5):
        capped.put(key, frame(1))
    assert list(capped._data) == [2, 3, 4]
