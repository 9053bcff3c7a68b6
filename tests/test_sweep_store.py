"""The sweep job store (SQLite): claiming, bounds, cancelling, recovery after a crash and pruning."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import Settings
from api.sweep_store import DIED, SweepStore, database_path, now

REQUEST = {"base": {"kind": "estate"}, "scenarios": {"scenarios": [{"name": "a"}]}}


@pytest.fixture
def store(tmp_path: Path) -> SweepStore:
    return SweepStore(tmp_path / "jobs" / "sweeps.sqlite3")


def submit(store: SweepStore, max_queued: int = 100) -> str | None:
    return store.submit(kind="estate", engine="local", scenarios=1, total=2, request=REQUEST, max_queued=max_queued)


def finished(store: SweepStore, n: int, status: str = "done") -> list[str]:
    ids = []
    for _ in range(n):
        job_id = submit(store)
        claimed = store.claim("1:t", max_running=1)
        assert claimed is not None and claimed.id == job_id
        assert store.finish(job_id, "1:t", status, result=b'{"x":1}')
        ids.append(job_id)
    return ids


def test_database_url_is_a_sqlite_file(tmp_path, monkeypatch):
    assert database_path(f"sqlite:///{tmp_path}/a.db") == tmp_path / "a.db"
    assert database_path("sqlite:///rel/a.db") == Path("rel/a.db")
    monkeypatch.setenv("ADVISOR_HOME", str(tmp_path))
    assert database_path(None) == tmp_path / "sweeps.sqlite3"
    for bad in ("postgresql://host/db", "sqlite:///:memory:", "sqlite:///"):
        with pytest.raises(ValidationError, match="database_url"):
            Settings(database_url=bad)


def test_a_job_is_claimed_once_in_order_and_keeps_its_request(store):
    first, second = submit(store), submit(store)
    got = store.claim("1:a", max_running=2)
    assert got is not None and got.id == first and got.request == REQUEST and got.engine == "local"
    again = store.claim("2:b", max_running=2)
    assert again is not None and again.id == second       # never the same job twice
    assert store.claim("3:c", max_running=5) is None      # nothing left queued
    job = store.get(first)
    assert job.status == "running" and job.started_at and job.done == 0 and job.total == 2


def test_at_most_max_running_run_at_once_across_runners(store):
    submit(store), submit(store)
    assert store.claim("1:a", max_running=1) is not None
    assert store.claim("2:b", max_running=1) is None      # another process's runner waits too


def test_the_queue_is_bounded(store):
    assert submit(store, max_queued=2) and submit(store, max_queued=2)
    assert submit(store, max_queued=2) is None
    store.claim("1:a", max_running=1)                     # running jobs do not count as waiting
    assert submit(store, max_queued=2) is not None


def test_only_the_owner_records_progress_and_the_end(store):
    job_id = submit(store)
    store.claim("1:a", max_running=1)
    store.progress(job_id, "9:other", 2, 2)
    assert not store.finish(job_id, "9:other", "done", result=b"{}")
    store.progress(job_id, "1:a", 1, 2)
    assert store.get(job_id).done == 1
    assert store.finish(job_id, "1:a", "done", result=b'{"kind":"estate"}')
    job = store.get(job_id)
    assert (job.status, job.result, job.finished) == ("done", b'{"kind":"estate"}', True)
    assert store.get(job_id, with_result=False).result is None


def test_cancel_a_queued_job_at_once_and_a_running_one_by_its_flag(store):
    running, queued = submit(store), submit(store)
    assert store.claim("1:a", max_running=1).id == running
    assert store.cancel(queued).status == "cancelled"
    assert not store.cancel_requested(running)
    job = store.cancel(running)
    assert job.status == "running" and job.cancel_requested and store.cancel_requested(running)
    assert store.cancel("no-such-id") is None
    assert not store.delete(running)                     # running: not deleted
    assert store.delete(queued) and store.get(queued) is None
    assert store.cancel_requested(queued)                # deleted under its runner: it stops too


def test_a_job_whose_server_died_is_marked_failed_a_live_ones_job_is_kept(store):
    dead, live = submit(store), submit(store)
    store.claim("111:dead", max_running=2)
    store.claim("222:live", max_running=2)
    assert store.recover(lambda owner: owner == "222:live") == 1
    failed = store.get(dead)
    assert failed.status == "failed" and failed.error == DIED and failed.finished_at
    assert store.get(live).status == "running"


def test_requeue_puts_a_running_job_back_for_a_later_run(store):
    job_id = submit(store)
    store.claim("1:a", max_running=1)
    store.progress(job_id, "1:a", 1, 2)
    store.requeue(job_id, "1:a")
    job = store.get(job_id)
    assert (job.status, job.done, job.started_at) == ("queued", 0, None)
    assert not store.finish(job_id, "1:a", "done", result=b"{}")   # a straggler cannot overwrite it
    assert store.claim("2:b", max_running=1).id == job_id
    other = submit(store)
    store.claim("2:b", max_running=2)
    assert store.requeue(None, "2:b") == 2 and store.get(other).status == "queued"   # all the owner holds


def test_prune_deletes_the_oldest_finished_first_and_never_waiting_or_running_jobs(store):
    old = finished(store, 3)
    newer = finished(store, 2, status="failed")
    running, waiting = submit(store), submit(store)
    store.claim("1:t", max_running=1)
    assert store.get(running).status == "running" and store.get(waiting).status == "queued"
    assert store.prune(kept=4, max_age_days=30) == 3
    assert all(store.get(i) is None for i in old)
    assert all(store.get(i) is not None for i in [waiting, *newer, running])
    _, count = store.recent(100)
    assert count == 4
    # nothing finished left to prune: the bound cannot delete live jobs
    assert store.prune(kept=1, max_age_days=30) == 2
    assert {j.id for j in store.recent(100)[0]} == {waiting, running}


def test_prune_by_age(store):
    ids = finished(store, 2)
    assert store.prune(kept=100, max_age_days=30) == 0
    assert store.prune(kept=100, max_age_days=30, moment=now() + timedelta(days=31)) == 2
    assert all(store.get(i) is None for i in ids)


def test_recent_lists_newest_first_with_the_count(store):
    ids = [submit(store) for _ in range(5)]
    page, count = store.recent(2, offset=1)
    assert count == 5 and [j.id for j in page] == [ids[3], ids[2]]


def test_the_store_survives_reopening(tmp_path):
    path = tmp_path / "s.db"
    first = SweepStore(path)
    job_id = first.submit(kind="portfolio", engine="ray", scenarios=3, total=4, request=REQUEST, max_queued=5)
    again = SweepStore(path).get(job_id)
    assert (again.kind, again.engine, again.scenarios, again.total, again.status) == ("portfolio", "ray", 3, 4,
                                                                                      "queued")
