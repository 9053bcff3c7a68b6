"""The engine protocol: run a module-level task over payloads, results in payload order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from advisor.errors import AdvisorError

# A task is a module-level function `task(shared, payload) -> result` on plain data (bytes, dicts, lists,
# Arrow IPC): `shared` is sent once per map (the estate, the portfolio), `payload` once per task. Tasks build
# their models (OR-Tools, polars) inside; nothing unpicklable crosses.
Task = Callable[[Any, Any], Any]
Progress = Callable[[int, int], None]
ShouldStop = Callable[[], bool]


class EngineUnavailable(AdvisorError):
    """The engine cannot be used here (the extra is not installed, the cluster cannot be reached)."""


class Stopped(Exception):  # noqa: N818 - a normal outcome when asked to stop, not an error
    """`should_stop` said stop: `partial[i]` is task i's result, or None when it did not run."""

    def __init__(self, partial: list[Any]):
        super().__init__("stopped before every task ran")
        self.partial = partial


class Engine(Protocol):
    name: str

    def map(self, task: Task, payloads: Sequence[Any], *, shared: Any = None,
            on_progress: Progress | None = None, should_stop: ShouldStop | None = None) -> list[Any]:
        """task(shared, p) for every payload p, results in payload order; Stopped when should_stop() says so."""
        ...

    def workers(self) -> int:
        """How many tasks run at once."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc: object) -> None: ...
