"""A bounded memo for the heavy, shape-only part of candidate generation (costed, Pareto-pruned frames).

Rows of a batch often differ only in what scales linearly (replica count) or adds a constant line
(storage, egress); the frontier of instance types per purchase option does not change with those,
so it is computed once per key and reused. Keys always start with the catalog version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from threading import Lock
from typing import TypeVar

import polars as pl

T = TypeVar("T")


MAX_BYTES = 256 << 20  # the frames kept: an estate of distinct shapes filled 16,384 entries with ~1 GiB;
# 128 MiB evicted prefetched frontiers before their answers read them (the per-shape diverse 10k: 75 s -> 104 s)
SMALL = 1 << 10  # what a value that is not a frame is counted as (lists of hosts, risk tables)


def size_of(value: object) -> int:
    """Bytes a memo value holds, as polars estimates a frame's (a tuple's frames summed)."""
    if isinstance(value, pl.DataFrame):
        return value.estimated_size()
    if isinstance(value, tuple):
        return sum(size_of(v) for v in value)
    return SMALL


class Memo:
    """LRU memo, bounded in entries and in bytes. In collecting mode (see `collect_misses`), a miss is
    recorded and answered with the caller's placeholder instead of being computed, so a dry pass can
    gather work to do in bulk."""

    def __init__(self, max_entries: int = 16384, max_bytes: int = MAX_BYTES):
        self._data: OrderedDict[Hashable, object] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._bytes = 0
        self._max = max_entries
        self._max_bytes = max_bytes
        self._lock = Lock()
        self._local = threading.local()

    def get(self, key: Hashable, compute: Callable[[], T], placeholder: object = None) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]  # type: ignore[return-value]
        misses = getattr(self._local, "misses", None)
        if misses is not None and placeholder is not None:
            misses.append(key)
            return placeholder  # type: ignore[return-value]
        value = compute()
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: object) -> None:
        size = size_of(value)
        with self._lock:
            self._bytes += size - self._sizes.get(key, 0)
            self._data[key] = value
            self._sizes[key] = size
            self._data.move_to_end(key)
            while len(self._data) > 1 and (len(self._data) > self._max or self._bytes > self._max_bytes):
                old, _ = self._data.popitem(last=False)
                self._bytes -= self._sizes.pop(old)

    @contextmanager
    def collect_misses(self) -> Iterator[list]:
        """Within the block, misses that have a placeholder are recorded (in order) instead of computed."""
        self._local.misses = []
        try:
            yield self._local.misses
        finally:
            self._local.misses = None


FRONTIERS = Memo()
