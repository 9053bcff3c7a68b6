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

T = TypeVar("T")


class Memo:
    """LRU memo. In collecting mode (see `collect_misses`), a miss is recorded and answered with the
    caller's placeholder instead of being computed, so a dry pass can gather work to do in bulk."""

    def __init__(self, max_entries: int = 16384):
        self._data: OrderedDict[Hashable, object] = OrderedDict()
        self._max = max_entries
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
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    @contextmanager
    def collect_misses(self) -> Iterator[list]:
        """Within the block, misses that have a placeholder are recorded (in order) instead of computed."""
        self._local.misses = []
        try:
            yield self._local.misses
        finally:
            self._local.misses = None


FRONTIERS = Memo()
