"""The local engine: tasks in processes on this machine (spawned, so each loads the catalog once)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from advisor.engines.base import Progress, ShouldStop, Stopped, Task

DEFAULT_WORKERS = min(os.cpu_count() or 1, 4)
POLL_S = 0.2  # how often should_stop is asked while tasks run

_SHARED: dict[str, Any] = {}


def _init(shared: Any) -> None:
    _SHARED["value"] = shared


def _call(task: Task, payload: Any) -> Any:
    return task(_SHARED.get("value"), payload)


class LocalEngine:
    """`workers` processes (1: in this process, no pool); the pool lives for one map, its workers for every
    task of it, so each loads the catalog once per map (and `shared` is sent to each once)."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self._workers = max(1, workers or DEFAULT_WORKERS)

    def workers(self) -> int:
        return self._workers

    def map(self, task: Task, payloads: Sequence[Any], *, shared: Any = None,
            on_progress: Progress | None = None, should_stop: ShouldStop | None = None) -> list[Any]:
        total = len(payloads)
        results: list[Any] = [None] * total
        if self._workers == 1 or total <= 1:
            for i, payload in enumerate(payloads):
                if should_stop and should_stop():
                    raise Stopped(results)
                results[i] = task(shared, payload)
                if on_progress:
                    on_progress(i + 1, total)
            return results
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(min(self._workers, total), mp_context=context, initializer=_init,
                                   initargs=(shared,))
        stopped = False
        try:
            pending: dict[Future, int] = {pool.submit(_call, task, p): i for i, p in enumerate(payloads)}
            done_count = 0
            while pending:
                done, _ = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
                for future in done:
                    results[pending.pop(future)] = future.result()
                    done_count += 1
                    if on_progress:
                        on_progress(done_count, total)
                if pending and should_stop and should_stop():
                    stopped = True
                    raise Stopped(results)
        finally:
            # when stopped, return at once: queued tasks are cancelled, running ones end on their own
            pool.shutdown(wait=not stopped, cancel_futures=True)
        return results

    def close(self) -> None:
        """Nothing outlives a map."""

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
