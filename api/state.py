"""What one app holds: settings, the catalog, bounded work lanes and caches. Created by `create_app`.

CPU-bound work never runs on the event loop: recommendations and evaluations run in worker processes (or
threads, for tests), each through a lane that admits a bounded number at once and a bounded queue; past the
queue the answer is 503 busy with Retry-After. Processes, not threads, by default: a solve holds the GIL for
tens of milliseconds, which would stall the event loop, so `/healthz` stays fast under any load.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from advisor.catalog.store import Catalog, load_catalog
from advisor.errors import CatalogError
from api import jobs
from api.errors import ApiError
from api.metrics import Metrics
from api.settings import Settings
from models.workload import Workload

log = logging.getLogger("api")

T = TypeVar("T")


class Lru:
    """A small thread-safe least-recently-used map with a fixed bound (0: stores nothing)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class CatalogHolder:
    """The catalog, re-checked at most every `refresh_s` (an `advisor catalog import` changes its version).

    A failed re-check keeps serving the last good catalog (and logs why); with none, CatalogError -> 503.
    """

    def __init__(self, refresh_s: float) -> None:
        self.refresh_s = refresh_s
        self._catalog: Catalog | None = None
        self._regions: frozenset[str] = frozenset()
        self._checked = 0.0
        self._lock = threading.Lock()

    @property
    def current(self) -> Catalog | None:
        return self._catalog

    @property
    def regions(self) -> frozenset[str]:
        return self._regions

    def fresh(self) -> bool:
        return self._catalog is not None and time.monotonic() - self._checked < self.refresh_s

    def get(self) -> Catalog:
        """The catalog (blocking: loads or re-checks when stale; call off the event loop)."""
        if self.fresh():
            return self._catalog  # type: ignore[return-value]
        with self._lock:
            if not self.fresh():
                try:
                    catalog = load_catalog()
                except CatalogError:
                    if self._catalog is None:
                        raise
                    log.warning("catalog re-check failed; serving version %s", self._catalog.version, exc_info=True)
                    catalog = self._catalog
                if self._catalog is None or catalog.version != self._catalog.version:
                    self._regions = frozenset(catalog.regions())
                    log.info("catalog loaded", extra={"fields": {"catalog_version": catalog.version,
                                                                 "as_of": catalog.as_of}})
                self._catalog = catalog
                self._checked = time.monotonic()
        return self._catalog  # type: ignore[return-value]


class Lane:
    """At most `capacity` jobs at once, at most `max_waiting` queued behind them; beyond that, 503 busy.

    Jobs run in threads, or in a pool of `capacity` worker processes (spawned on first use or at warm-up),
    so CPU-bound work never holds the server's interpreter lock.
    """

    def __init__(self, name: str, capacity: int, max_waiting: int, metrics: Metrics, *, processes: bool,
                 initializer: Callable[[], None] | None = None) -> None:
        self.name = name
        self.capacity = capacity
        self.limiter = anyio.CapacityLimiter(capacity)
        self.max_waiting = max_waiting
        self.metrics = metrics
        self.processes = processes
        self.initializer = initializer
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def admit(self) -> None:
        stats = self.limiter.statistics()
        if stats.borrowed_tokens >= stats.total_tokens and stats.tasks_waiting >= self.max_waiting:
            self.metrics.busy.labels(self.name).inc()
            raise ApiError(503, "busy", f"the server is busy ({self.name}: {stats.borrowed_tokens} running, "
                                        f"{stats.tasks_waiting} waiting); retry shortly",
                           headers={"Retry-After": "1"})

    def pool(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self.capacity, initializer=self.initializer,
                                                 mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        self.admit()
        if not self.processes:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)
        async with self.limiter:
            try:
                return await asyncio.wrap_future(self.pool().submit(fn, *args))
            except BrokenProcessPool:
                with self._pool_lock:
                    self._pool = None
                log.error("a %s worker process died; a new pool will be started", self.name)
                raise ApiError(503, "worker_failed", f"a {self.name} worker process stopped unexpectedly "
                                                     "(out of memory?); retry, or send less work",
                               headers={"Retry-After": "5"}) from None

    async def warm(self, timeout_s: float = 120.0) -> None:
        """Start every worker process (each runs the initializer) and wait until they are up."""
        if not self.processes:
            return
        pool = self.pool()
        futures = [asyncio.wrap_future(pool.submit(jobs.ready)) for _ in range(self.capacity)]
        with anyio.move_on_after(timeout_s):
            await asyncio.gather(*futures)

    async def close(self, timeout_s: float = 10.0) -> None:
        """Stop the worker processes: queued jobs are dropped, running ones get `timeout_s`, then terminated."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())  # to terminate stragglers
        with anyio.move_on_after(timeout_s):
            await anyio.to_thread.run_sync(lambda: pool.shutdown(wait=True, cancel_futures=True),
                                           abandon_on_cancel=True)
        for process in processes:
            if process.is_alive():
                log.warning("terminating a %s worker process that did not stop in time", self.name)
                process.terminate()


class Solver:
    """Recommendations: solved off the event loop (bounded), answers cached per catalog version and shape.

    The cache key leaves out the workload id (the answer depends on it only through `workload_id`), so a
    planning tool sending many workloads of a few shapes gets most answers without a solve.
    """

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.time_limit_s = settings.max_solver_seconds
        self.lane = Lane("recommendations", settings.solver_workers, settings.max_queued_solves, metrics,
                         processes=settings.solver_executor == "process", initializer=jobs.warm_solver)
        self.cache = Lru(settings.recommendation_cache_size)
        self.metrics = metrics
        self._inflight: dict[Any, asyncio.Future[bytes]] = {}

    async def recommend(self, workload: Workload, top_k: int, include_free_tier: bool, catalog: Catalog) -> bytes:
        key = (catalog.version, workload.model_dump_json(exclude={"id"}), top_k, include_free_tier,
               self.time_limit_s)
        template = self.cache.get(key)
        if template is not None:
            self.metrics.cache.labels("hit").inc()
            return jobs.with_id(template, workload.id)
        pending = self._inflight.get(key)
        if pending is not None and not pending.done():
            # The same shape is being solved for another request right now: share that solve.
            self.metrics.cache.labels("shared").inc()
            return jobs.with_id(await asyncio.shield(pending), workload.id)
        self.metrics.cache.labels("miss").inc()
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            # In a worker process the catalog is the process's own (same files, same version).
            shared = None if self.lane.processes else catalog
            template = await self.lane.run(jobs.recommend_template, workload, top_k, include_free_tier,
                                           self.time_limit_s, shared)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            else:
                future.cancel()
            raise
        finally:
            self._inflight.pop(key, None)
        future.set_result(template)
        self.cache.put(key, template)
        return jobs.with_id(template, workload.id)


class Evaluator:
    """Evaluations (batch): in a worker process by default, so a long one never holds the server's GIL."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.lane = Lane("evaluations", settings.evaluation_workers, settings.max_queued_evaluations, metrics,
                         processes=settings.evaluation_executor == "process", initializer=jobs.exit_with_parent)

    async def evaluate(self, kind: str, payload: Any, include_free_tier: bool, catalog: Catalog) -> bytes:
        return await self.lane.run(jobs.evaluate, kind, payload, include_free_tier,
                                   None if self.lane.processes else catalog)

    async def plan(self, doc: dict, time_limit_s: float, catalog: Catalog) -> bytes:
        return await self.lane.run(jobs.plan, doc, time_limit_s, None if self.lane.processes else catalog)


class AppState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.catalog = CatalogHolder(settings.catalog_refresh_seconds)
        self.solver = Solver(settings, self.metrics)
        self.evaluator = Evaluator(settings, self.metrics)
        self.responses = Lru(256)  # catalog route answers, keyed by catalog version and arguments

    async def get_catalog(self) -> Catalog:
        if self.catalog.fresh():
            return self.catalog.current  # type: ignore[return-value]
        return await anyio.to_thread.run_sync(self.catalog.get)

    async def start(self) -> None:
        """Warm-up (unless off): the catalog here, and every worker process started, before serving."""
        if not self.settings.warm_up:
            return
        try:
            await anyio.to_thread.run_sync(self.catalog.get)
            if not self.solver.lane.processes:
                await anyio.to_thread.run_sync(jobs.warm_solver)
            await self.solver.lane.warm()
            await self.evaluator.lane.warm()
        except Exception:  # a broken catalog must not stop the server: /healthz and the routes say 503
            log.exception("warm-up failed")

    async def stop(self) -> None:
        await self.solver.lane.close()
        await self.evaluator.lane.close()
