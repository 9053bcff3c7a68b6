"""A bounded memo for the heavy, shape-only part of candidate generation (costed, Pareto-pruned frames).

Rows of a batch often differ only in what scales linearly (replica count) or adds a constant line
(storage, egress); the frontier of instance types per purchase option does not change with those,
so it is computed once per key and reused. Keys always start with the catalog version.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import TypeVar

T = TypeVar("T")


class Memo:
    def __init__(self, max_entries: int = 4096):
        self._data: OrderedDict[Hashable, object] = OrderedDict()
        self._max = max_entries
        self._lock = Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._max:
                self._data.popitem(last=False)
        return value


FRONTIERS = Memo()
