"""Both engines give the same bytes: a real local Ray cluster on 127.0.0.1, started once for this module
(skipped, with the reason, only when the ray extra is not installed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.engines import LocalEngine, get_engine
from advisor.sweep.base import EstateBase, PortfolioBase
from advisor.sweep.run import run_sweep
from advisor.sweep.scenarios import load_scenarios, parse_scenarios

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray on loopback only (see ray_engine.py)
ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")

EXAMPLES = Path("data/examples")
runner = CliRunner()


def _both(base, scenarios) -> tuple[str, str]:
    local = run_sweep(base, scenarios, engine=LocalEngine(workers=1)).model_dump_json()
    with get_engine("ray") as engine:
        remote = run_sweep(base, scenarios, engine=engine).model_dump_json()
    return local, remote


def test_the_example_estate_evaluates_to_the_same_bytes_on_both_engines(ray_cluster):
    local = runner.invoke(app, ["evaluate", str(EXAMPLES / "workloads.csv")])
    remote = runner.invoke(app, ["evaluate", str(EXAMPLES / "workloads.csv"), "--engine", "ray"])
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert local.stdout == remote.stdout and local.stdout.count("\n") == 56


def test_a_sharded_estate_matches_with_a_duplicate_id_across_shards(ray_cluster, tmp_path):
    """2,500 rows in three chunks; a duplicate of line 2 sits in the third chunk and names line 2 on both."""
    lines = (EXAMPLES / "workloads.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    body = [f"r{i}," + rows[i % len(rows)].split(",", 1)[1] for i in range(2500)]
    body[2400] = "r0," + body[2400].split(",", 1)[1]
    path = tmp_path / "estate.csv"
    path.write_text("\n".join([header, *body]) + "\n")
    args = ["evaluate", str(path), "--chunk-rows", "1000", "--format", "csv", "--workers", "1"]
    local = runner.invoke(app, args)
    remote = runner.invoke(app, [*args, "--engine", "ray"])
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert local.stdout == remote.stdout
    assert "id: duplicate of line 2 (got 'r0')" in remote.stdout


def test_the_example_scenarios_sweep_the_estate_to_the_same_bytes(ray_cluster):
    lines = (EXAMPLES / "workloads.csv").read_text().splitlines()
    rows = lines[:25] + [line for line in lines if line.startswith("crawler,")]  # 25 rows keep the test short
    local, remote = _both(EstateBase(csv=("\n".join(rows) + "\n").encode()),
                          load_scenarios(EXAMPLES / "scenarios.yaml"))
    assert local == remote
    for answer, scenario in zip(json.loads(local)["scenarios"], load_scenarios(EXAMPLES / "scenarios.yaml").scenarios,
                                strict=True):
        if scenario.changes.constraints:  # portfolio constraints: an estate says it has none
            assert answer["status"] == "error" and answer["error"].startswith("constraints:")
        else:
            assert answer["status"] == "ok", answer


def test_a_portfolio_sweep_is_the_same_on_both_engines(ray_cluster):
    portfolio = {"workloads": [
        {"id": "api", "vcpu": 2, "memory_gib": 4, "replicas": 2},
        {"id": "jobs", "vcpu": 2, "memory_gib": 4, "replicas": 2, "interruptible": True,
         "allowed_services": ["ec2"]}], "constraints": {"max_spot_share": 0.5}}
    scenarios = parse_scenarios({"scenarios": [
        {"name": "spot +30%", "changes": {"prices": {"purchase_options": {"spot": 1.3}}}},
        {"name": "no spot", "changes": {"constraints": {"max_spot_share": 0}}},
        {"name": "bad family", "changes": {"prices": {"families": {"zz9": 2}}}}]})
    local, remote = _both(PortfolioBase(portfolio=portfolio, time_limit_s=0.3), scenarios)
    assert [a["status"] for a in json.loads(remote)["scenarios"]] == ["ok", "ok", "error"]
    if _reproducible(local) and _reproducible(remote):  # else the planner's wall safety net tripped (it says so)
        assert local == remote


def _reproducible(sweep: str) -> bool:
    doc = json.loads(sweep)
    return all(a["reproducible"] is not False for a in [doc["base"], *doc["scenarios"]])


def test_many_portfolios_are_planned_in_order_on_ray(ray_cluster, tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps({"workloads": [{"id": "a", "vcpu": 1, "memory_gib": 2}]}))
    second.write_text(json.dumps({"workloads": [{"id": "b", "vcpu": 4, "memory_gib": 16, "replicas": 3}]}))
    args = ["plan", str(first), str(second), "--format", "json", "--time-limit", "0.3"]
    local = runner.invoke(app, args)
    remote = runner.invoke(app, [*args, "--engine", "ray"])
    assert local.exit_code == remote.exit_code == 0, remote.output

    def answers(text: str) -> list:
        docs = json.loads(text)
        for d in docs:
            for wall in ("seconds", "timings", "work"):  # wall timings
                d["plan"]["solver"].pop(wall)
            d["plan"]["solver"]["relaxation"].pop("seconds")
        return docs

    reproducible = all(d["plan"]["solver"]["work"]["reproducible"]
                       for d in json.loads(local.stdout) + json.loads(remote.stdout))
    if reproducible:  # else the planner's wall safety net tripped on a busy machine (and the plans say so)
        assert answers(local.stdout) == answers(remote.stdout)
    assert [d["plan"]["placements"][0]["workload_id"] for d in json.loads(remote.stdout)] == ["a", "b"]
