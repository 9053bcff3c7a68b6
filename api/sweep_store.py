"""Sweep jobs and their results, kept in SQLite (stdlib `sqlite3`), so a restarted server loses nothing.

One table, one row per job: the request as posted (so a queued job still runs after a restart), status,
progress, times, and the result as the exact JSON bytes `run_sweep` produced. Every change is one short
transaction on its own connection (safe from any thread, and from several server processes sharing the file:
`advisor serve --workers N`): a job is claimed by one `UPDATE ... WHERE status = 'queued'`, so two runners
never take the same job, and at most `max_running` run at once across all processes.

A job's `owner` is the runner that claimed it (`pid:token`). When a server starts, a job still marked running
whose owner is gone (the process died: killed, out of memory) is marked failed, not re-queued: the sweep may
be what brought the server down, and running it again could bring it down again. A server that stops cleanly
puts its running jobs back in the queue instead (see api/sweeps.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from advisor.catalog.overlay import advisor_home

Status = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED: tuple[Status, ...] = ("done", "failed", "cancelled")
FINISHED_SQL = "('done', 'failed', 'cancelled')"
DB_FILE = "sweeps.sqlite3"
DIED = "the server stopped while this sweep ran (it was not re-run: post it again)"

SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    engine TEXT NOT NULL,
    scenarios INTEGER NOT NULL,
    request BLOB NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    owner TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    result BLOB
);
CREATE INDEX IF NOT EXISTS sweeps_status ON sweeps (status, seq);
"""

COLUMNS = ("id", "status", "kind", "engine", "scenarios", "done", "total", "created_at", "started_at",
           "finished_at", "cancel_requested", "error")


@dataclass(frozen=True)
class Job:
    """A job as stored; `result` is the SweepResult's JSON bytes (None until it finished with one)."""

    id: str
    status: Status
    kind: str
    engine: str
    scenarios: int
    done: int
    total: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    cancel_requested: bool
    error: str | None
    result: bytes | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True)
class Claimed:
    """A job a runner has taken: its id, engine and the request to run."""

    id: str
    engine: str
    request: dict[str, Any]


def database_path(url: str | None) -> Path:
    """`sqlite:///relative/or/absolute/path` (or `sqlite:////absolute`) to a path; None: under ADVISOR_HOME."""
    if not url:
        return advisor_home() / DB_FILE
    if not url.startswith("sqlite:///"):
        raise ValueError(f"ADVISOR_DATABASE_URL must be a sqlite:///path URL (got {url!r})")
    rest = url.removeprefix("sqlite:///")
    if not rest or rest == ":memory:":
        raise ValueError("ADVISOR_DATABASE_URL must name a file (jobs must outlive the process)")
    return Path(rest)


def now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """UTC, ISO 8601 to the millisecond, with Z: sorts as text in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process with that id: alive
        return True
    return True


class SweepStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE), so read-then-write steps are atomic."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- writes ------------------------------------------------------------------------------------------

    def submit(self, *, kind: str, engine: str, scenarios: int, total: int, request: dict[str, Any],
               max_queued: int) -> str | None:
        """A new queued job's id; None when `max_queued` jobs already wait (the caller answers busy)."""
        job_id = str(uuid.uuid4())
        with self._write() as db:
            (queued,) = db.execute("SELECT count(*) FROM sweeps WHERE status = 'queued'").fetchone()
            if queued >= max_queued:
                return None
            db.execute("INSERT INTO sweeps (id, status, kind, engine, scenarios, request, total, created_at) "
                       "VALUES (?, 'queued', ?, ?, ?, ?, ?, ?)",
                       (job_id, kind, engine, scenarios, json.dumps(request).encode(), total, stamp(now())))
        return job_id

    def claim(self, owner: str, max_running: int) -> Claimed | None:
        """The oldest queued job, now running for `owner`; None when none waits or `max_running` already run."""
        with self._write() as db:
            (running,) = db.execute("SELECT count(*) FROM sweeps WHERE status = 'running'").fetchone()
            if running >= max_running:
                return None
            row = db.execute("SELECT id, engine, request FROM sweeps WHERE status = 'queued' ORDER BY seq LIMIT 1"
                             ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE sweeps SET status = 'running', owner = ?, started_at = ?, done = 0 WHERE id = ?",
                       (owner, stamp(now()), row[0]))
        return Claimed(id=row[0], engine=row[1], request=json.loads(row[2]))

    def progress(self, job_id: str, owner: str, done: int, total: int) -> None:
        with self._connect() as db:
            db.execute("UPDATE sweeps SET done = ?, total = ? WHERE id = ? AND owner = ? AND status = 'running'",
                       (done, total, job_id, owner))

    def finish(self, job_id: str, owner: str, status: Status, *, result: bytes | None = None,
               error: str | None = None) -> bool:
        """Record the end of a running job (only while `owner` still holds it); True when recorded."""
        with self._connect() as db:
            changed = db.execute("UPDATE sweeps SET status = ?, result = ?, error = ?, finished_at = ? "
                                 "WHERE id = ? AND owner = ? AND status = 'running'",
                                 (status, result, error, stamp(now()), job_id, owner)).rowcount
        return changed == 1

    def requeue(self, job_id: str | None, owner: str) -> int:
        """Put a job `owner` was running (None: every one) back in the queue (the server is stopping cleanly)."""
        with self._connect() as db:
            return db.execute("UPDATE sweeps SET status = 'queued', owner = NULL, started_at = NULL, done = 0 "
                              "WHERE (? IS NULL OR id = ?) AND owner = ? AND status = 'running'",
                              (job_id, job_id, owner)).rowcount

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a job: a queued one is cancelled at once, a running one is asked to stop (its runner sees
        `cancel_requested`). None for an unknown id; the job as it now is otherwise."""
        with self._write() as db:
            db.execute("UPDATE sweeps SET status = 'cancelled', finished_at = ?, cancel_requested = 1 "
                       "WHERE id = ? AND status = 'queued'", (stamp(now()), job_id))
            db.execute("UPDATE sweeps SET cancel_requested = 1 WHERE id = ? AND status = 'running'", (job_id,))
        return self.get(job_id, with_result=False)

    def delete(self, job_id: str) -> bool:
        """Delete a finished job; False when there is none (unknown, or not finished)."""
        with self._connect() as db:
            return db.execute(f"DELETE FROM sweeps WHERE id = ? AND status IN {FINISHED_SQL}", (job_id,)).rowcount == 1

    def recover(self, live: Callable[[str], bool]) -> int:
        """Mark failed every running job whose owner is not live (`live(owner)`); how many."""
        with self._write() as db:
            rows = db.execute("SELECT id, owner FROM sweeps WHERE status = 'running'").fetchall()
            dead = [job_id for job_id, owner in rows if not live(owner or "")]
            for job_id in dead:
                db.execute("UPDATE sweeps SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
                           (DIED, stamp(now()), job_id))
        return len(dead)

    def prune(self, *, kept: int, max_age_days: float, moment: datetime | None = None) -> int:
        """Delete finished jobs older than `max_age_days`, then the oldest finished ones until at most `kept`
        jobs remain (queued and running jobs are never pruned); how many were deleted."""
        cutoff = stamp((moment or now()) - timedelta(days=max_age_days))
        with self._write() as db:
            aged = db.execute(f"DELETE FROM sweeps WHERE status IN {FINISHED_SQL} AND finished_at < ?",
                              (cutoff,)).rowcount
            (count,) = db.execute("SELECT count(*) FROM sweeps").fetchone()
            excess = max(0, count - kept)
            over = db.execute(f"DELETE FROM sweeps WHERE seq IN (SELECT seq FROM sweeps WHERE status IN {FINISHED_SQL} "
                              "ORDER BY finished_at, seq LIMIT ?)", (excess,)).rowcount if excess else 0
        return aged + over

    # --- reads -------------------------------------------------------------------------------------------

    def get(self, job_id: str, *, with_result: bool = True) -> Job | None:
        columns = ", ".join(COLUMNS) + (", result" if with_result else "")
        with self._connect() as db:
            row = db.execute(f"SELECT {columns} FROM sweeps WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def request_of(self, job_id: str) -> dict[str, Any] | None:
        """The request a job runs (the validated base and scenarios), None for an unknown id."""
        with self._connect() as db:
            row = db.execute("SELECT request FROM sweeps WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def cancel_requested(self, job_id: str) -> bool:
        with self._connect() as db:
            row = db.execute("SELECT cancel_requested FROM sweeps WHERE id = ?", (job_id,)).fetchone()
        return row is None or bool(row[0])  # a job deleted under its runner stops too

    def recent(self, limit: int, offset: int = 0) -> tuple[list[Job], int]:
        """The newest jobs first (no results), and how many there are in all."""
        with self._connect() as db:
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM sweeps ORDER BY seq DESC LIMIT ? OFFSET ?",
                              (limit, offset)).fetchall()
            (count,) = db.execute("SELECT count(*) FROM sweeps").fetchone()
        return [_job(r) for r in rows], count


def _job(row: tuple) -> Job:
    values = dict(zip(COLUMNS, row, strict=False))
    values["cancel_requested"] = bool(values["cancel_requested"])
    result = row[len(COLUMNS)] if len(row) > len(COLUMNS) else None
    return Job(**values, result=result)
