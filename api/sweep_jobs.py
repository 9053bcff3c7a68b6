"""The sweep runner: jobs from the store (api/sweep_store.py) run off the event loop, at most
`ADVISOR_SWEEPS_RUNNING` at once, on the engine the settings (or the request, within them) name.

Each runner thread claims the oldest queued job, runs `run_sweep` on its engine (the local engine's tasks
always run in worker processes, never on the server's own interpreter), records progress as tasks finish,
and stores the result's JSON bytes: exactly what `run_sweep` returned, so the API answers the same bytes
as the CLI's `--format json` on the same input. Cancelling sets a flag in the store that `should_stop`
reads, so a DELETE answered by any server process stops the job wherever it runs.

Stopping the server cleanly asks running jobs to stop and puts them back in the queue (they run again,
from the start, after the restart); a job whose server died is marked failed at the next start (see the store).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

from advisor.engines import EngineUnavailable, get_engine
from advisor.engines.local import DEFAULT_WORKERS
from advisor.sweep.base import EstateBase, PortfolioBase
from advisor.sweep.run import run_sweep
from advisor.sweep.scenarios import ScenarioFile
from api.errors import ApiError
from api.settings import Settings
from api.sweep_store import Claimed, SweepStore, database_path, process_alive

log = logging.getLogger("api")
T = TypeVar("T")

POLL_S = 1.0           # how often an idle runner looks for work queued by another server process
CANCEL_CHECK_S = 0.5   # how often a running job reads its cancel flag
STOP_WAIT_S = 15.0     # how long a clean stop waits for running jobs to stop

_LIVE: set[str] = set()  # the owners (runners) alive in this process
# Ray's connection is one per process (ray.init), and an engine that made it closes it when its sweep ends:
# so in one server process, sweeps on Ray run one at a time (other processes have their own connection).
_RAY = threading.Lock()


def base_of(request: dict[str, Any]) -> EstateBase | PortfolioBase:
    base = request["base"]
    return EstateBase.model_validate(base) if base["kind"] == "estate" else PortfolioBase.model_validate(base)


def scenarios_of(request: dict[str, Any]) -> ScenarioFile:
    return ScenarioFile.model_validate(request["scenarios"])


def stored_request(base: EstateBase | PortfolioBase, scenarios: ScenarioFile) -> dict[str, Any]:
    """What the store keeps to run a job later (also after a restart): the validated base and scenarios."""
    return {"base": base.model_dump(mode="json"), "scenarios": scenarios.model_dump(mode="json")}


def owner_alive(owner: str) -> bool:
    """A runner is alive when it is one of this process's, or its process (another server worker) is."""
    pid, _, _ = owner.partition(":")
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return owner in _LIVE
    return process_alive(int(pid))


class _StopCheck:
    """`should_stop` for one job: the server is stopping, or the job's cancel flag is set (read at most every
    CANCEL_CHECK_S from the store)."""

    def __init__(self, store: SweepStore, job_id: str, stopping: threading.Event) -> None:
        self.store, self.job_id, self.stopping = store, job_id, stopping
        self._checked = 0.0
        self._cancelled = False

    def __call__(self) -> bool:
        if self.stopping.is_set() or self._cancelled:
            return True
        if time.monotonic() - self._checked >= CANCEL_CHECK_S:
            self._checked = time.monotonic()
            self._cancelled = self.store.cancel_requested(self.job_id)
        return self._cancelled


class SweepRunner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.owner = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._store: SweepStore | None = None
        self._store_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def store(self) -> SweepStore:
        """The store, opened on first use (creating the file and its folder)."""
        with self._store_lock:
            if self._store is None:
                self._store = SweepStore(database_path(self.settings.database_url))
            return self._store

    async def use(self, work: Callable[[SweepStore], T]) -> T:
        """`work(store)` off the event loop; a store that cannot be used (unwritable folder, disk full, a bad
        file) is a 503 naming the reason, never a 500."""
        try:
            return await anyio.to_thread.run_sync(lambda: work(self.store))
        except (sqlite3.Error, OSError) as exc:
            log.error("the sweep store cannot be used: %s", exc)
            raise ApiError(503, "store_unavailable", "sweep jobs cannot be read or kept right now (the server's "
                                                     "log says why); retry later",
                           headers={"Retry-After": "30"}) from None

    def wake(self) -> None:
        self._wake.set()

    def prune(self, room: int = 0) -> int:
        """Keep the bounds; `room`: make room for that many new jobs within ADVISOR_SWEEPS_KEPT."""
        return self.store.prune(kept=max(0, self.settings.sweeps_kept - room),
                                max_age_days=self.settings.sweeps_max_age_days)

    def start(self) -> None:
        """Recover jobs whose server died, prune, then start the runner threads (blocking: call off the loop)."""
        _LIVE.add(self.owner)
        try:
            failed = self.store.recover(owner_alive)
        except (sqlite3.Error, OSError):  # the server still starts: /v1/sweeps answers 503 and says why
            log.exception("the sweep store cannot be opened; sweeps will not run")
            return
        if failed:
            log.warning("%d sweep(s) were running when their server stopped: marked failed", failed)
        self.prune()
        for i in range(self.settings.sweeps_running):
            thread = threading.Thread(target=self._loop, name=f"sweep-runner-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Ask running jobs to stop, wait up to STOP_WAIT_S, and put whatever this runner still holds back in the
        queue (a thread that finishes later cannot overwrite it: the store records only the holder's end)."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + STOP_WAIT_S
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(sqlite3.Error, OSError):  # a store that cannot be used: nothing to put back
            self.store.requeue(None, self.owner)
        _LIVE.discard(self.owner)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self.store.claim(self.owner, self.settings.sweeps_running)
            except Exception:
                log.exception("cannot read the sweep queue")
                job = None
            if job is None:
                self._wake.wait(POLL_S)
                self._wake.clear()
                continue
            try:
                self._run(job)
            except Exception:  # the store failed while recording: the runner itself carries on
                log.exception("sweep %s: cannot record its end", job.id)

    def _engine(self, name: str) -> Any:
        if name == "local":  # at least two worker processes: no task runs on the server's interpreter
            threads = self.settings.sweep_executor == "thread"
            return get_engine("local", workers=1 if threads else max(2, DEFAULT_WORKERS))
        return get_engine(name, self.settings.ray_address)

    def _run(self, job: Claimed) -> None:
        store = self.store
        try:
            base, scenarios = base_of(job.request), scenarios_of(job.request)
            with _RAY if job.engine == "ray" else contextlib.nullcontext(), self._engine(job.engine) as engine:
                result = run_sweep(base, scenarios, engine=engine,
                                   on_progress=lambda done, total: store.progress(job.id, self.owner, done, total),
                                   should_stop=_StopCheck(store, job.id, self._stopping))
        except EngineUnavailable as exc:
            store.finish(job.id, self.owner, "failed", error=str(exc))
            return
        except Exception as exc:  # recorded on the job (and logged), never lost
            log.exception("sweep %s failed", job.id)
            store.finish(job.id, self.owner, "failed", error=f"unexpected error: {type(exc).__name__}: {exc}")
            return
        if not result.complete and self._stopping.is_set():
            store.requeue(job.id, self.owner)  # the server is stopping: run it again after the restart
            return
        store.finish(job.id, self.owner, "done" if result.complete else "cancelled",
                     result=result.model_dump_json().encode())
        try:
            self.prune()
        except Exception:
            log.exception("cannot prune the sweep store")
