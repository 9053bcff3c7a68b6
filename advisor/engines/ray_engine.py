"""The Ray engine: tasks on long-lived Ray actors (one per CPU of the cluster, up to the tasks at hand), which
keep the catalog loaded between tasks. Imported only when asked for: Ray is the `ray` extra.

The cluster is `address` (`--ray-address`), else RAY_ADDRESS, else a local Ray started for the run on
127.0.0.1 and shut down after it. Every node must have this package installed at the same version (and the
same data/), since tasks import it there; answers then match the local engine's byte for byte.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Any

from advisor.engines.base import EngineUnavailable, Progress, ShouldStop, Stopped, Task

POLL_S = 0.2
# Ray maps 127.0.0.1 to the machine's address unless told this is a single machine (its switch for that is
# named after Windows and macOS, where it is the default): a local Ray for the run listens on loopback only.
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
INSTALL_HINT = "the Ray engine needs the ray extra: pip install -e '.[ray]' (or pip install 'ray[default]>=2.40')"


def _ray():
    try:
        import ray
    except ImportError:
        raise EngineUnavailable(INSTALL_HINT) from None
    return ray


class _Worker:
    """One actor: runs tasks one at a time; whatever a task caches (the catalog) stays for the next."""

    def run(self, task: Task, shared: Any, payload: Any) -> Any:
        return task(shared, payload)


class RayEngine:
    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None):
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self._workers = workers
        if not self.address:
            os.environ.setdefault(LOOPBACK_ONLY, "0")  # read when ray is imported
        self._ray = _ray()
        self._owned = False       # we connected (or started a local Ray): we disconnect (and stop it) at close
        self._actors: list[Any] = []

    def _connect(self) -> None:
        ray = self._ray
        if ray.is_initialized():
            return
        try:
            if self.address:
                ray.init(address=self.address, logging_level="ERROR", log_to_driver=False)
            else:
                ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False,
                         num_cpus=self._workers or os.cpu_count() or 1, logging_level="ERROR", log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise EngineUnavailable(f"cannot reach the Ray cluster at {self.address or 'a new local Ray'}: "
                                    f"{exc}") from None
        self._owned = True

    def _worker_env(self) -> dict[str, str]:
        """The workers' environment: this catalog's version pinned (a node whose catalog differs refuses to
        answer rather than answering from other prices); on this machine also ADVISOR_HOME and PYTHONPATH."""
        from advisor.catalog.overlay import PIN_VARIABLE
        from advisor.catalog.store import compute_version

        env = {PIN_VARIABLE: os.environ.get(PIN_VARIABLE) or compute_version()}
        if not self.address or self.address.split(":")[0] in ("127.0.0.1", "localhost"):
            env.update({k: v for k, v in os.environ.items() if k.startswith("ADVISOR_") or k == "PYTHONPATH"})
        return env

    def workers(self) -> int:
        self._connect()
        if self._workers:
            return self._workers
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def _pool(self, size: int) -> list[Any]:
        ray = self._ray
        if len(self._actors) < size:
            actor = ray.remote(num_cpus=1, runtime_env={"env_vars": self._worker_env()})(_Worker)
            self._actors += [actor.remote() for _ in range(size - len(self._actors))]
        return self._actors[:size]

    def map(self, task: Task, payloads: Sequence[Any], *, shared: Any = None,
            on_progress: Progress | None = None, should_stop: ShouldStop | None = None) -> list[Any]:
        total = len(payloads)
        results: list[Any] = [None] * total
        if not total:
            return results
        ray = self._ray
        actors = self._pool(min(self.workers(), total))
        shared_ref = ray.put(shared)
        queue = list(enumerate(payloads))
        running: dict[Any, tuple[int, Any]] = {}
        idle = list(actors)
        done_count = 0
        try:
            while queue or running:
                while idle and queue:
                    index, payload = queue.pop(0)
                    actor = idle.pop(0)
                    running[actor.run.remote(task, shared_ref, payload)] = (index, actor)
                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    index, actor = running.pop(ref)
                    results[index] = ray.get(ref)
                    idle.append(actor)
                    done_count += 1
                    if on_progress:
                        on_progress(done_count, total)
                if (queue or running) and should_stop and should_stop():
                    for ref in running:  # best effort: the actors are killed at close anyway
                        with contextlib.suppress(Exception):
                            ray.cancel(ref)
                    raise Stopped(results)
        except ray.exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None
        return results

    def close(self) -> None:
        ray = self._ray
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._owned and ray.is_initialized():
            ray.shutdown()
        self._owned = False

    def __enter__(self) -> RayEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
