"""Where the work of a sweep, a sharded evaluation or many plans runs: `local` (processes on this machine,
the default) or `ray` (a Ray cluster; the `ray` extra). Both run the same module-level tasks on plain data
and give the results in the order asked, so an answer is the same bytes on either."""

from __future__ import annotations

from advisor.engines.base import Engine, EngineUnavailable, Stopped, Task
from advisor.engines.local import LocalEngine

ENGINES = ("local", "ray")


def get_engine(name: str = "local", address: str | None = None, *, workers: int | None = None) -> Engine:
    """The engine called `name`; `address` is a Ray cluster's (else RAY_ADDRESS, else a local Ray for the run)."""
    if name == "local":
        return LocalEngine(workers=workers)
    if name == "ray":
        from advisor.engines.ray_engine import RayEngine

        return RayEngine(address=address, workers=workers)
    raise ValueError(f"unknown engine {name!r}; use {' or '.join(ENGINES)}")


__all__ = ["ENGINES", "Engine", "EngineUnavailable", "LocalEngine", "Stopped", "Task", "get_engine"]
