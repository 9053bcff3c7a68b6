"""The API as it runs: `advisor serve` in its own process on a free 127.0.0.1 port, with the real worker
processes (solves and evaluations), so errors must cross a process boundary the way they do in production."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

WAIT_S = 90.0
WORKLOAD = {"id": "w1", "vcpu": 2, "memory_gib": 8}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "ADVISOR_HOME": str(tmp_path_factory.mktemp("home")), "ADVISOR_SOLVER_WORKERS": "1",
           "ADVISOR_SOLVER_EXECUTOR": "process", "ADVISOR_EVALUATION_EXECUTOR": "process",
           "ADVISOR_MAX_SOLVER_SECONDS": "5", "ADVISOR_LOG_LEVEL": "WARNING"}
    log = tmp_path_factory.mktemp("log") / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-c", "from advisor.cli import main; main()", "serve",
                                   "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, cwd=Path(__file__).parent.parent)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def test_an_infeasible_portfolio_is_422_naming_the_conflicting_constraints(live):
    body = {"workloads": [WORKLOAD, {**WORKLOAD, "id": "w2"}],
            "constraints": {"max_monthly_usd": 1, "max_spot_share": 0}}
    response = httpx.post(f"{live}/v1/plans", json=body, timeout=60)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "invalid_input" and "max_monthly_usd" in error["message"]
    assert "constraints.max_monthly_usd" in {e["field"] for e in error["errors"]}
    # the worker pool survived: the next plan is answered by the same processes
    again = httpx.post(f"{live}/v1/plans", json={"workloads": [WORKLOAD]}, timeout=60)
    assert again.status_code == 200, again.text


def test_a_workload_no_placement_fits_is_422_naming_it(live):
    body = {"workloads": [WORKLOAD, {"id": "huge", "vcpu": 64, "memory_gib": 8, "allowed_services": ["lambda"]}]}
    response = httpx.post(f"{live}/v1/plans", json=body, timeout=60)
    assert response.status_code == 422, response.text
    assert "workloads.huge" in {e["field"] for e in response.json()["errors"]}


GPU_MODELS = ["A100(", "[", "(?P<x>", "a{1,", "\\", "{0}", "%s%d", "{workload}", ".*", "a100)|(", "$(rm -rf)",
              "{{}}", "^$", "a+++"]


@pytest.mark.parametrize("gpu_model", GPU_MODELS)
def test_gpu_models_full_of_metacharacters_never_answer_500(live, gpu_model):
    workload = {**WORKLOAD, "gpus": 1, "gpu_model": gpu_model}
    one = httpx.post(f"{live}/v1/recommendations", json={"workload": workload}, timeout=60)
    assert one.status_code in (200, 422), one.text
    many = httpx.post(f"{live}/v1/evaluations", json={"workloads": [workload, {**WORKLOAD, "id": "w2"}]}, timeout=60)
    assert many.status_code in (200, 422), many.text
    planned = httpx.post(f"{live}/v1/plans", json={"workloads": [workload]}, timeout=60)
    assert planned.status_code in (200, 422), planned.text
    if many.status_code == 200:   # the other row is answered whatever the first one asks
        assert json.loads(many.text)["rows"][1]["status"] == "ok"
