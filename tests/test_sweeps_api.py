"""/v1/sweeps end to end: jobs posted, run in the background, answered, cancelled, kept across restarts
(in-process and with a real server process), and the sweep's review page."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from advisor.engines import LocalEngine
from advisor.sweep.base import EstateBase
from advisor.sweep.run import run_sweep
from advisor.sweep.scenarios import load_scenarios
from api import sweep_jobs
from api.app import create_app
from api.settings import Settings
from api.sweep_store import DIED, SweepStore, database_path

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 180.0
# Two rows of the example estate, and two scenarios that move them (Spot dearer; a 1-month horizon, so no
# commitment pays off): small enough to run in a second or two.
CSV = "\n".join((ROOT / "data/examples/workloads.csv").read_text().splitlines()[:3]) + "\n"
SCENARIOS = """scenarios:
  - name: spot +30%
    description: Spot prices rise by 30 %
    changes:
      prices:
        purchase_options: {spot: 1.3}
  - name: one month
    description: every workload kept one month
    changes:
      workloads:
        set: {horizon_months: 1}
"""
BODY = {"base": {"kind": "estate", "csv": CSV}, "scenarios": SCENARIOS}


def settings(tmp_path: Path, **overrides) -> Settings:
    return Settings(warm_up=False, evaluation_executor="thread", solver_executor="thread", sweep_executor="thread",
                    database_url=f"sqlite:///{tmp_path}/sweeps.sqlite3", **overrides)


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    with TestClient(create_app(settings(tmp_path))) as c:
        yield c


def wait_finished(get, location: str) -> dict:
    deadline = time.monotonic() + WAIT_S
    while True:
        job = get(location).json()
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def expected_bytes() -> bytes:
    """The same sweep run directly, as the CLI runs it."""
    result = run_sweep(EstateBase(csv=CSV.encode()), load_scenarios(SCENARIOS), engine=LocalEngine(workers=1))
    return result.model_dump_json().encode()


def assert_error(response: httpx.Response, status: int, field: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert field in {e["field"] for e in body["errors"]}, body
    return body


# --- the jobs API in-process -------------------------------------------------------------------------------

def test_a_sweep_is_a_job_whose_result_is_run_sweeps_bytes(client):
    posted = client.post("/v1/sweeps", json=BODY)
    assert posted.status_code == 202, posted.text
    job_id = posted.json()["id"]
    assert posted.json() == {"id": job_id, "status": "queued"}
    assert posted.headers["location"] == f"/v1/sweeps/{job_id}"
    job = wait_finished(client.get, posted.headers["location"])
    assert job["status"] == "done", job
    assert job["progress"] == {"done": 3, "total": 3}      # the base and two scenarios, one shard each
    assert job["kind"] == "estate" and job["engine"] == "local" and job["scenarios"] == 2
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]
    assert job["error"] is None and not job["cancel_requested"]
    expected = expected_bytes()
    assert client.get(f"/v1/sweeps/{job_id}/result").content == expected
    assert job["result"] == json.loads(expected)
    names = [s["name"] for s in job["result"]["scenarios"]]
    assert names == ["spot +30%", "one month"] and job["result"]["complete"]


def test_the_scenarios_may_be_json_and_the_result_is_the_same(client):
    doc = {"scenarios": [{"name": "spot +30%", "description": "Spot prices rise by 30 %",
                          "changes": {"prices": {"purchase_options": {"spot": 1.3}}}},
                         {"name": "one month", "description": "every workload kept one month",
                          "changes": {"workloads": {"set": {"horizon_months": 1}}}}]}
    posted = client.post("/v1/sweeps", json={**BODY, "scenarios": doc})
    assert posted.status_code == 202, posted.text
    assert wait_finished(client.get, posted.headers["location"])["status"] == "done"
    assert client.get(f"{posted.headers['location']}/result").content == expected_bytes()


def test_unknown_jobs_are_404(client):
    for method, path in (("GET", "/v1/sweeps/nope"), ("GET", "/v1/sweeps/nope/result"),
                         ("DELETE", "/v1/sweeps/nope")):
        response = client.request(method, path)
        assert response.status_code == 404 and response.json()["code"] == "not_found", (method, path)
    assert client.get("/review/sweeps/nope").status_code == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"scenarios": "scenarios:\n  - name: x\n    changes: {prices: {purchase_options: {spott: 2}}}"},
     "scenarios.0.changes.prices.purchase_options.spott.[key]"),
    ({"scenarios": "scenarios:\n  - name: x\n    changes: {workloads: {set: {vcpu: -1}}}"},
     "scenarios.0.changes.workloads.set"),
    ({"scenarios": {"scenarios": [{"name": "a"}, {"name": "a"}]}}, "scenarios"),
    ({"scenarios": "scenarios: [unclosed"}, "scenarios"),
    ({"scenarios": "/etc/passwd"}, "scenarios"),   # text is text: never read as a path on the server
    ({"scenarios": "a: &x [1]\nscenarios: *x"}, "scenarios"),
    ({"base": {"kind": "estate", "csv": "id,vcpu\n"}}, "base.csv"),
    ({"base": {"kind": "estate", "csv": "\x00\x01"}}, "base.csv"),
    ({"base": {"kind": "portfolio", "portfolio": {"workloads": [{"id": "a", "vcpu": 0, "memory_gib": 4}]}}},
     "base.portfolio.workloads.0.vcpu"),
    ({"base": {"kind": "portfolio", "portfolio": {"workloads": [{"id": "a", "vcpu": 2, "memory_gib": 4,
                                                                 "region": "mars-east-1"}]}}},
     "base.portfolio.workloads.0.region"),
    ({"base": {"kind": "portfolio", "portfolio": {"workloads": [{"id": "a", "vcpu": 2, "memory_gib": 4}]},
               "time_limit_s": 500}}, "base.time_limit_s"),
    ({"base": {"kind": "lake"}}, "base"),
    ({"engine": "ray"}, "engine"),
    ({"engine": "spark"}, "engine"),
])
def test_bad_input_is_422_naming_the_field_and_makes_no_job(client, change, field):
    response = client.post("/v1/sweeps", json={**BODY, **change})
    body = assert_error(response, 422, field) if field != "base" else response.json()
    assert response.status_code == 422, response.text
    assert body["code"] == "invalid_input"
    assert client.get("/v1/sweeps").json()["total"] == 0


def test_the_bounds_scenarios_rows_and_body(tmp_path):
    with TestClient(create_app(settings(tmp_path, max_sweep_scenarios=2, max_rows=1, max_body_bytes=4096))) as c:
        many = {"scenarios": [{"name": f"s{i}"} for i in range(3)]}
        assert_error(c.post("/v1/sweeps", json={**BODY, "scenarios": many}), 413, "scenarios")
        assert_error(c.post("/v1/sweeps", json=BODY), 413, "base.csv")   # two rows, the limit is one
        big = c.post("/v1/sweeps", json={**BODY, "scenarios": SCENARIOS + "#" * 5000})
        assert big.status_code == 413 and big.json()["code"] == "body_too_large"
        assert c.get("/v1/sweeps").json()["total"] == 0


def test_a_queued_job_is_cancelled_then_deleted_and_the_queue_is_bounded(tmp_path):
    app = create_app(settings(tmp_path, max_queued_sweeps=1))
    c = TestClient(app)   # no lifespan: no runner, so jobs wait in the queue
    first = c.post("/v1/sweeps", json=BODY)
    assert first.status_code == 202
    busy = c.post("/v1/sweeps", json=BODY)
    assert busy.status_code == 503 and busy.json()["code"] == "busy" and busy.headers["retry-after"]
    location = first.headers["location"]
    cancelled = c.delete(location)
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["result"] is None
    assert c.get(f"{location}/result").status_code == 409
    assert c.delete(location).status_code == 204     # finished: deleted
    assert c.get(location).status_code == 404
    assert c.post("/v1/sweeps", json=BODY).status_code == 202   # the queue has room again


def test_a_running_job_is_cancelled_between_tasks_keeping_what_was_answered(client, monkeypatch):
    real = sweep_jobs.run_sweep

    def held(base, scenarios, *, engine, on_progress, should_stop):
        def progress(done, total):  # after the first task, wait until the test has asked to cancel
            on_progress(done, total)
            deadline = time.monotonic() + WAIT_S
            while done == 1 and not should_stop() and time.monotonic() < deadline:
                time.sleep(0.05)

        return real(base, scenarios, engine=engine, on_progress=progress, should_stop=should_stop)

    monkeypatch.setattr(sweep_jobs, "run_sweep", held)
    location = client.post("/v1/sweeps", json=BODY).headers["location"]
    deadline = time.monotonic() + WAIT_S
    while client.get(location).json()["progress"]["done"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    asked = client.delete(location)
    assert asked.status_code == 202 and asked.json()["status"] == "running" and asked.json()["cancel_requested"]
    job = wait_finished(client.get, location)
    assert job["status"] == "cancelled" and job["result"]["complete"] is False
    assert job["result"]["base"]["status"] == "ok"          # answered before the cancel: kept
    assert [s["error"] for s in job["result"]["scenarios"]] == [
        "not run: the sweep was stopped before this scenario"] * 2


def test_the_list_is_newest_first_and_bounded(client):
    ids = [client.post("/v1/sweeps", json=BODY).json()["id"] for _ in range(3)]
    page = client.get("/v1/sweeps", params={"limit": 2}).json()
    assert [j["id"] for j in page["sweeps"]] == ids[::-1][:2] and page["total"] == 3
    assert all(j["result"] is None for j in page["sweeps"])
    assert client.get("/v1/sweeps", params={"limit": 101}).status_code == 422
    for job_id in ids:
        wait_finished(client.get, f"/v1/sweeps/{job_id}")


def test_finished_jobs_are_pruned_to_the_bound(tmp_path):
    with TestClient(create_app(settings(tmp_path, sweeps_kept=2))) as c:
        ids = []
        for _ in range(3):
            ids.append(c.post("/v1/sweeps", json=BODY).json()["id"])
            assert wait_finished(c.get, f"/v1/sweeps/{ids[-1]}")["status"] == "done"
        assert c.get(f"/v1/sweeps/{ids[0]}").status_code == 404    # the oldest finished went first
        assert [j["id"] for j in c.get("/v1/sweeps").json()["sweeps"]] == ids[:0:-1]


# --- restarts --------------------------------------------------------------------------------------------

def test_a_restarted_app_answers_finished_jobs_fails_dead_ones_and_runs_queued_ones(tmp_path):
    with TestClient(create_app(settings(tmp_path))) as c:
        location = c.post("/v1/sweeps", json=BODY).headers["location"]
        assert wait_finished(c.get, location)["status"] == "done"
        before = c.get(location).content
    # a job whose server was killed while it ran: claimed by a process that no longer exists
    store = SweepStore(database_path(settings(tmp_path).database_url))
    dead = store.submit(kind="estate", engine="local", scenarios=2, total=3, max_queued=10,
                        request=sweep_jobs.stored_request(EstateBase(csv=CSV.encode()), load_scenarios(SCENARIOS)))
    assert store.claim("999999999:gone", max_running=5).id == dead
    queued = TestClient(create_app(settings(tmp_path))).post("/v1/sweeps", json=BODY).headers["location"]
    with TestClient(create_app(settings(tmp_path))) as c:
        assert c.get(location).content == before
        died = c.get(f"/v1/sweeps/{dead}").json()
        assert died["status"] == "failed" and died["error"] == DIED
        assert wait_finished(c.get, queued)["status"] == "done"   # posted before the restart, run after it


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    with open(log, "ab") as out:
        server = subprocess.Popen([sys.executable, "-c", "from advisor.cli import main; main()", "serve",
                                   "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            _stop(server)
            pytest.fail(f"the server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(5)


def test_a_job_survives_a_real_server_restart(tmp_path):
    """`advisor serve` as it runs (worker processes for the sweep's tasks), stopped and started again on the
    same database: the finished job is answered with the same bytes."""
    env = {**os.environ, "ADVISOR_HOME": str(tmp_path / "home"), "ADVISOR_WARM_UP": "false",
           "ADVISOR_LOG_LEVEL": "WARNING", "ADVISOR_DATABASE_URL": f"sqlite:///{tmp_path}/jobs/sweeps.sqlite3",
           "ADVISOR_ENGINE": "local", "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                                os.environ.get("PYTHONPATH")]))}
    log = tmp_path / "server.log"
    server, url = _serve(env, log)
    try:
        posted = httpx.post(f"{url}/v1/sweeps", json=BODY, timeout=60)
        assert posted.status_code == 202, posted.text
        location = url + posted.headers["location"]
        job = wait_finished(lambda u: httpx.get(u, timeout=30), location)
        assert job["status"] == "done", (job, log.read_text()[-2000:])
        first = httpx.get(location, timeout=30).content
    finally:
        _stop(server)
    server, url = _serve(env, log)
    try:
        again = httpx.get(url + posted.headers["location"], timeout=30)
        assert again.status_code == 200 and again.content == first
        assert httpx.get(f"{url}{posted.headers['location']}/result", timeout=30).content == expected_bytes()
    finally:
        _stop(server)


# --- the review page -------------------------------------------------------------------------------------

def test_the_review_page_shows_the_comparison_in_words_with_a_chart(client):
    job_id = client.post("/v1/sweeps", json=BODY).json()["id"]
    result = wait_finished(client.get, f"/v1/sweeps/{job_id}")["result"]
    page = client.get(f"/review/sweeps/{job_id}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    table = html[html.index('<table id="scenarios">'):html.index("</table>", html.index('<table id="scenarios">'))]
    rows = re.findall(r"<tr class=\"[^\"]*\">\s*<th scope=\"row\">([^<]+)", table)
    assert rows == ["base", "spot +30%", "one month"]
    for answer in [result["base"], *result["scenarios"]]:
        assert f"${answer['monthly_usd']:,.2f}" in table and f"${answer['upfront_usd']:,.2f}" in table
    saving = result["scenarios"][1]["saving_monthly_usd"]
    assert (f"costs ${-saving:,.2f}" if saving < 0 else f"saves ${saving:,.2f}") in table
    assert 'id="chart-scenario-costs"' in html and "<svg" in html and 'role="img"' in html
    assert "Monthly cost by scenario" in html
    assert "Spot prices ×1.3 (+30 %)" in table and "horizon set to 1 month on every workload" in table
    for raw in ("saving_monthly_usd", "purchase_option", "monthly_usd", "{'", '{"'):
        assert raw not in table, raw
    assert "http-equiv=\"refresh\"" not in html        # finished: no reload


def test_the_review_page_of_a_waiting_job_says_so_and_reloads(tmp_path):
    c = TestClient(create_app(settings(tmp_path)))   # no runner: the job waits
    job_id = c.post("/v1/sweeps", json=BODY).json()["id"]
    html = c.get(f"/review/sweeps/{job_id}").text
    assert "waiting to run" in html and "0 of 3 tasks" in html and 'http-equiv="refresh"' in html
    assert '<table id="scenarios">' not in html


def test_a_clean_stop_puts_a_running_job_back_in_the_queue_and_the_next_start_runs_it(tmp_path, monkeypatch):
    real = sweep_jobs.run_sweep

    def held(base, scenarios, *, engine, on_progress, should_stop):
        def progress(done, total):  # hold after the first task until the server stops
            on_progress(done, total)
            while done == 1 and not should_stop():
                time.sleep(0.05)

        return real(base, scenarios, engine=engine, on_progress=progress, should_stop=should_stop)

    monkeypatch.setattr(sweep_jobs, "run_sweep", held)
    with TestClient(create_app(settings(tmp_path))) as c:
        location = c.post("/v1/sweeps", json=BODY).headers["location"]
        deadline = time.monotonic() + WAIT_S
        while c.get(location).json()["progress"]["done"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    store = SweepStore(database_path(settings(tmp_path).database_url))
    job = store.get(location.rsplit("/", 1)[1])
    assert (job.status, job.done, job.started_at) == ("queued", 0, None)
    monkeypatch.setattr(sweep_jobs, "run_sweep", real)
    with TestClient(create_app(settings(tmp_path))) as c:
        assert wait_finished(c.get, location)["status"] == "done"
        assert c.get(f"{location}/result").content == expected_bytes()


def test_the_page_puts_a_portfolio_sweep_into_words():
    from advisor.review import render, sweep_view
    from models.sweep import BindingConstraint, Move, ScenarioAnswer, SweepResult

    def answer(name, monthly, **extra):
        return ScenarioAnswer(name=name, description=f"{name} described", status="ok", changes=extra.pop("changes", []),
                              multipliers=[], monthly_usd=monthly, upfront_usd=100.0, **extra)

    result = SweepResult(kind="portfolio", base=answer("base", 1640.5), scenarios=[
        answer("budget $1,600", 1599.99, saving_monthly_usd=40.51, saving_pct=2.47, moved=2,
               changes=["constraint max_monthly_usd = 1600"],
               moves=[Move(field="service", from_value="ec2", to_value="lambda", count=1),
                      Move(field="purchase_option", from_value="on_demand", to_value="savings_plan", count=2)],
               binding_constraints=[BindingConstraint(constraint="max_monthly_usd", message="the budget binds",
                                                      costs_monthly_usd=12.5)],
               solver_status="OPTIMAL", reproducible=False),
        ScenarioAnswer(name="eu", description="", status="error", error="no price for m7g.large in eu-west-1",
                       changes=["region = 'eu-west-1' on every workload"], multipliers=[])])
    job = sweep_view.JobView(id="j1", status="done", kind="portfolio", scenarios=2, done=3, total=3,
                             created_at="2026-12-07T03:30:00.000Z", finished_at="2026-12-07T03:31:00.000Z")
    html = render.sweep_page(sweep_view.sweep_context(job, result))
    assert "1 workload: service EC2 → Lambda" in html
    assert "2 workloads: purchase option on-demand → savings plan" in html
    assert "saves $40.51 (2.47 %)" in html and "2 workloads moved" in html
    assert "the budget binds (it costs $12.50 a month)" in html
    assert '<span class="tag bad">no answer</span> no price for m7g.large in eu-west-1' in html
    assert "may differ between runs" in html and "plan: optimal" in html
    assert "1 scenario without an answer is left out" in html          # the chart's caption
    assert "The cheapest is “budget $1,600” at $1,599.99 a month ($40.51 less than the base)" in html
    assert "1 could not be answered" in html
    assert "constraint max_monthly_usd = 1600" in html   # without the scenarios file: the result's own words


def test_each_change_is_said_in_words_never_by_key():
    from advisor.review.sweep_view import change_words
    from advisor.sweep.scenarios import Changes

    changes = Changes.model_validate({
        "prices": {"purchase_options": {"spot": 1.3}, "services": {"fargate": 1.05}, "families": {"m7g": 0.9},
                   "regions": {"eu-west-1": 1.1}},
        "constraints": {"max_monthly_usd": 1600, "max_spot_share": 0.25, "max_upfront_usd": None},
        "workloads": {"ids": ["crawler"], "set": {"horizon_months": 36, "allowed_services": ["ec2", "lambda"],
                                                  "interruptible": True}}})
    assert change_words(changes) == [
        "Spot prices ×1.3 (+30 %)", "Fargate prices ×1.05 (+5 %)", "m7g instance prices ×0.9 (−10 %)",
        "EC2 prices in eu-west-1 ×1.1 (+10 %)", "the monthly budget set to $1,600.00",
        "the most of the vCPU on Spot set to 25 %", "the upfront cap removed",
        "horizon set to 36 months on workload crawler", "allowed services set to EC2, Lambda on workload crawler",
        "interruptible set to yes on workload crawler"]


# --- on Ray ----------------------------------------------------------------------------------------------

def test_a_job_on_ray_gives_the_local_bytes_and_survives_a_restart(tmp_path, ray_cluster):
    on_ray = {"engine": "ray", "ray_address": ray_cluster}
    with TestClient(create_app(settings(tmp_path, **on_ray))) as c:
        posted = c.post("/v1/sweeps", json=BODY)
        assert posted.status_code == 202, posted.text
        location = posted.headers["location"]
        job = wait_finished(c.get, location)
        assert job["status"] == "done" and job["engine"] == "ray", job
        first = c.get(location).content
    with TestClient(create_app(settings(tmp_path, **on_ray))) as c:
        assert c.get(location).content == first
        assert c.get(f"{location}/result").content == expected_bytes()


def test_a_store_that_cannot_be_used_is_503_saying_why_and_the_server_still_starts(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    broken = Settings(warm_up=False, evaluation_executor="thread", solver_executor="thread",
                      database_url=f"sqlite:///{tmp_path}/a-file/sweeps.sqlite3")
    with TestClient(create_app(broken)) as c:
        assert c.get("/healthz").status_code == 200
        for response in (c.post("/v1/sweeps", json=BODY), c.get("/v1/sweeps/x"), c.get("/v1/sweeps"),
                         c.delete("/v1/sweeps/x")):
            assert response.status_code == 503 and response.json()["code"] == "store_unavailable", response.text
        page = c.get("/review/sweeps/x")
        assert page.status_code == 503 and "sweep jobs cannot be read or kept" in page.text


def test_a_ray_server_without_the_extra_says_so_before_making_a_job(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with TestClient(create_app(settings(tmp_path, engine="ray"))) as c:
        response = c.post("/v1/sweeps", json=BODY)
        assert response.status_code == 503 and response.json()["code"] == "engine_unavailable"
        assert "pip install" in response.json()["message"]
        assert c.post("/v1/sweeps", json={**BODY, "engine": "local"}).status_code == 202   # local is allowed
        assert c.get("/v1/sweeps").json()["total"] == 1


def test_the_openapi_document_describes_the_sweeps_routes_with_no_dangling_reference(tmp_path):
    spec = create_app(settings(tmp_path)).openapi()
    text = json.dumps(spec)
    names = set(spec["components"]["schemas"])
    assert all(ref.rsplit("/", 1)[1] in names for ref in re.findall(r'"\$ref": "(#/components/schemas/[^"]+)"', text))
    assert "#/$defs/" not in text
    post = spec["paths"]["/v1/sweeps"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"base", "scenarios"}
    assert {"202", "422", "503"} <= set(post["responses"]) and "Location" in post["responses"]["202"]["headers"]
    assert {"202", "204", "404"} <= set(spec["paths"]["/v1/sweeps/{job_id}"]["delete"]["responses"])
