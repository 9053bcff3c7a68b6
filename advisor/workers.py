"""The batch evaluation's worker processes: spawned, each with its share of the cores for polars.

Each worker runs polars, whose thread pool takes every core by default: two workers on two cores then
run four threads that contend (the diverse 100k estate's vectorized phase was ~10 % slower that way).
A worker's pool is sized by POLARS_MAX_THREADS when polars first builds it, which importing the
worker's modules already does, so the variable is set in the worker's environment at spawn (and only
there: the parent's is restored at once)."""

from __future__ import annotations

import os
from multiprocessing.context import SpawnContext, SpawnProcess


class _Process(SpawnProcess):
    threads = "1"

    def start(self) -> None:
        before = os.environ.get("POLARS_MAX_THREADS")
        os.environ["POLARS_MAX_THREADS"] = self.threads
        try:
            super().start()
        finally:
            if before is None:
                os.environ.pop("POLARS_MAX_THREADS", None)
            else:
                os.environ["POLARS_MAX_THREADS"] = before


class _Context(SpawnContext):
    def __init__(self, threads: int) -> None:
        super().__init__()
        self.threads = str(threads)

    def Process(self, *args, **kwargs) -> _Process:  # noqa: N802 (the multiprocessing context's name)
        process = _Process(*args, **kwargs)
        process.threads = self.threads
        return process


def spawn_context(workers: int) -> SpawnContext:
    """A spawn context whose processes each get the cores divided by `workers` (at least one) for polars,
    unless POLARS_MAX_THREADS is already set."""
    given = os.environ.get("POLARS_MAX_THREADS")
    return _Context(int(given) if given else max(1, cores() // max(workers, 1)))


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
