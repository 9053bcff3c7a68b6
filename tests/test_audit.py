"""The auditor (`validate.py`) recomputes every price from the catalog and every total from its parts: a plan
tampered with anywhere, even with its sums kept consistent, fails with a message naming what is wrong."""

import copy
import json

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.portfolio.plan import parse
from advisor.portfolio.validate import audit, validate

runner = CliRunner()


@pytest.fixture()
def tampered(planned):
    return copy.deepcopy(planned)


def _shift_totals(doc: dict, usd: float, upfront: float = 0.0) -> None:
    """Keep the plan's own sums consistent after a tampered part: totals and objective move with it."""
    doc["totals"]["monthly_usd"] = round(doc["totals"]["monthly_usd"] + usd, 2)
    doc["solver"]["objective_monthly_usd"] = doc["totals"]["monthly_usd"]
    doc["totals"]["upfront_usd"] = round(doc["totals"]["upfront_usd"] + upfront, 2)


def _packed(doc: dict) -> dict:
    return next(c for c in doc["shared"]["clusters"] if c["status"] in ("OPTIMAL", "FEASIBLE"))


def test_the_planned_example_audits_clean_and_its_figures_are_the_totals(planned, example, catalog):
    problems, figures = audit(planned, parse(example), catalog)
    assert problems == []
    assert figures.monthly_cents == round(planned["totals"]["monthly_usd"] * 100)
    assert figures.upfront_cents == round(planned["totals"]["upfront_usd"] * 100)
    # recomputed from its parts by hand: clusters' nodes, hosts, fees, placements outside them
    clusters = sum(round(sum(g["node_count"] * g["monthly_usd_per_node"] for g in c["nodes"]), 2)
                   for c in planned["shared"]["clusters"])
    hosts = sum(h["host_count"] * h["monthly_usd_per_host"] for h in planned["shared"]["hosts"])
    fees = sum(f["monthly_usd"] for f in planned["shared"]["fees"])
    shared = {w for c in planned["shared"]["clusters"] for w in c["members"]} | {
        w for h in planned["shared"]["hosts"] for w in h["instances"]}
    own = sum(line["monthly_usd"] for p in planned["placements"] if p["workload_id"] not in shared
              for line in p["choice"]["cost_lines"] if not line["item"].startswith(("EKS", "dedicated")))
    assert clusters + hosts + fees + own == pytest.approx(planned["totals"]["monthly_usd"], abs=0.011)


def test_a_total_lowered_by_100_dollars_fails(tampered, example, catalog):
    _shift_totals(tampered, -100)
    problems = validate(tampered, parse(example), catalog)
    assert any(p.startswith("totals.monthly_usd") for p in problems)
    assert any(p.startswith("solver.objective_monthly_usd") for p in problems)


def test_a_node_priced_at_a_cent_with_its_sums_kept_consistent_fails(tampered, example, catalog):
    cluster = _packed(tampered)
    group = cluster["nodes"][0]
    cut = group["node_count"] * (group["monthly_usd_per_node"] - 0.01)
    group["monthly_usd_per_node"] = 0.01
    cluster["monthly_usd"] = round(cluster["monthly_usd"] - cut, 2)
    _shift_totals(tampered, -cut)
    problems = validate(tampered, parse(example), catalog)
    assert any(f"a {group['instance_type']} node costs" in p and "not $0.010000" in p for p in problems)


def test_a_node_upfront_lowered_with_its_sums_kept_consistent_fails(tampered, example, catalog):
    cluster = next(c for c in tampered["shared"]["clusters"] if c["upfront_usd"] > 0)
    group = cluster["nodes"][0]
    cut = group["node_count"] * group["upfront_usd_per_node"]
    group["upfront_usd_per_node"] = 0.0
    cluster["upfront_usd"] = round(cluster["upfront_usd"] - cut, 2)
    _shift_totals(tampered, 0, -cut)
    problems = validate(tampered, parse(example), catalog)
    assert any("upfront in the catalog" in p for p in problems)


def test_a_cheaper_host_with_its_sums_kept_consistent_fails(tampered, example, catalog):
    host = tampered["shared"]["hosts"][0]
    cut = host["host_count"] * 100
    host["monthly_usd_per_host"] -= 100
    _shift_totals(tampered, -cut)
    problems = validate(tampered, parse(example), catalog)
    assert any(p.startswith(host["id"]) and "monthly_usd_per_host" in p for p in problems)


def test_too_few_hosts_fail(tampered, example, catalog):
    host = tampered["shared"]["hosts"][0]
    saved = host["monthly_usd_per_host"]
    host["host_count"] -= 1
    _shift_totals(tampered, -saved)
    assert any("hosts for" in p for p in validate(tampered, parse(example), catalog))


def test_a_cheaper_fee_or_a_fee_left_out_fails(tampered, example, catalog):
    fee = tampered["shared"]["fees"][0]
    fee["monthly_usd"] -= 10
    tampered["totals"]["shared_fees_monthly_usd"] -= 10
    _shift_totals(tampered, -10)
    problems = validate(tampered, parse(example), catalog)
    assert any(p.startswith(f"the fee {fee['fee']}") and "in the catalog" in p for p in problems)
    dropped = tampered["shared"]["fees"].pop(0)
    problems = validate(tampered, parse(example), catalog)
    assert any(p.startswith(f"the fee {dropped['fee']}") and "not paid" in p for p in problems)


def test_a_placement_price_or_cost_line_changed_fails(tampered, example, catalog):
    p = next(p for p in tampered["placements"] if p["choice"]["service"] == "lambda")
    p["choice"]["cost_lines"][0]["monthly_usd"] -= 1
    p["choice"]["monthly_usd"] -= 1
    _shift_totals(tampered, -1)
    problems = validate(tampered, parse(example), catalog)
    assert f"{p['workload_id']}: its cost lines are not the catalog's" in problems
    assert any(x.startswith(f"{p['workload_id']}: monthly_usd") for x in problems)


def test_a_choice_the_catalog_does_not_offer_fails(tampered, example, catalog):
    p = next(p for p in tampered["placements"] if p["choice"]["service"] == "lambda")
    p["choice"]["config"]["memory_mb"] = 128
    problems = validate(tampered, parse(example), catalog)
    assert any("is not a placement the catalog offers" in x for x in problems)


def test_a_node_over_capacity_or_replicas_missing_fails(tampered, example, catalog):
    cluster = _packed(tampered)
    group = cluster["nodes"][0]
    w = next(iter(group["replicas_per_node"]))
    group["replicas_per_node"][w] += 100
    problems = validate(tampered, parse(example), catalog)
    assert any("over capacity" in p for p in problems)
    group["replicas_per_node"][w] -= 100
    group["node_count"] -= 1
    assert any("replicas placed" in p for p in validate(tampered, parse(example), catalog))


def test_owned_commitments_claimed_where_they_cannot_cover_fail(tampered, example, catalog):
    spot = next(p for p in tampered["placements"] if p["choice"]["purchase_option"] == "spot")
    spot["covered_by_owned_reserved"] = 1
    problems = validate(tampered, parse(example), catalog)
    assert any(p.startswith(f"{spot['workload_id']}: 1 owned reserved") for p in problems)


def test_the_budget_is_checked_against_the_recomputed_total(planned, example, catalog):
    """A budget just under the plan's real cost, and the plan's total lowered under it: both caught."""
    tight = {**example, "constraints": {**example["constraints"],
                                        "max_monthly_usd": planned["totals"]["monthly_usd"] - 1}}
    doc = copy.deepcopy(planned)
    _shift_totals(doc, -2)
    problems = validate(doc, parse(tight), catalog)
    assert any(p.startswith("monthly $") and "over max_monthly_usd" in p for p in problems)


def test_a_malformed_document_is_reported_not_raised(example, catalog):
    problems = validate({"placements": [{"workload_id": "x"}], "shared": {}, "totals": {}}, parse(example), catalog)
    assert problems and "malformed" in problems[0]


def test_advisor_validate_exits_0_clean_and_1_naming_each_discrepancy(planned, tmp_path):
    clean = tmp_path / "plan.json"
    clean.write_text(json.dumps(planned))
    result = runner.invoke(app, ["validate", str(clean), "data/examples/portfolio.json"])
    assert result.exit_code == 0, result.output
    assert "checks out" in result.output
    bad = copy.deepcopy(planned)
    _shift_totals(bad, -100)
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    result = runner.invoke(app, ["validate", str(tmp_path / "bad.json"), "data/examples/portfolio.json"])
    assert result.exit_code == 1
    assert "totals.monthly_usd is" in result.output and "2 discrepancies" in result.output
