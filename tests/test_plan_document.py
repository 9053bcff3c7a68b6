"""The plan adds up (issue 17, item 5): a typed document, every workload's share of the shared nodes, hosts
and fees by the rule in `allocation.py`, rows that add up to the total to the cent, commitments to buy that
are exactly what the packed plan runs, owned commitments used or explained; the auditor checks all of it."""

import copy
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.portfolio.allocation import largest_remainder
from advisor.portfolio.plan import parse
from advisor.portfolio.validate import validate
from models.portfolio import PlanDocument


def _cents(usd: float) -> int:
    return round(usd * 100)


def _row(doc: dict, wid: str) -> dict:
    return next(p for p in doc["placements"] if p["workload_id"] == wid)


def test_largest_remainder_splits_to_the_cent_where_rounding_each_share_does_not():
    # a third of a dollar each: rounding each share gives 99 cents; the ties go to the first by name
    assert largest_remainder(100, {"b": Fraction(1), "a": Fraction(1), "c": Fraction(1)}) == {"a": 34, "b": 33, "c": 33}
    assert largest_remainder(22373, {"x": Fraction(18), "y": Fraction(26), "z": Fraction(39)}) == {
        "x": 4852, "y": 7008, "z": 10513}   # 4852.07, 7008.41, 10512.51: the cent left goes to z
    with pytest.raises(ValueError):
        largest_remainder(-1, {"a": Fraction(1)})


@given(st.integers(0, 10**9), st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 10**6),
                                              min_size=1, max_size=12))
def test_largest_remainder_adds_up_and_each_share_is_within_a_cent(total, raw):
    weights = {k: Fraction(v) for k, v in raw.items()}
    shares = largest_remainder(total, weights)
    assert sum(shares.values()) == total and set(shares) == set(weights)
    whole = sum(weights.values()) or None
    for k, n in shares.items():
        exact = total * weights[k] / whole if whole else Fraction(total, len(weights))
        assert exact - 1 < n < exact + 1 and n >= 0


def test_the_plan_is_a_typed_document_and_in_the_openapi(planned):
    assert PlanDocument.model_validate(planned).model_dump(mode="json") == planned
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app()) as client:
        schema = client.get("/openapi.json").json()
    ok = schema["paths"]["/v1/plans"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/PlanDocument"}
    row = schema["components"]["schemas"]["PlacementRow"]["properties"]
    assert {"monthly_usd", "shared_nodes_monthly_usd", "shared_hosts_monthly_usd", "shared_fees_monthly_usd",
            "alone_monthly_usd"} <= set(row)


def test_the_rows_add_up_to_the_total_to_the_cent_and_each_row_to_its_parts(planned):
    rows = planned["placements"]
    assert sum(_cents(r["monthly_usd"]) for r in rows) == _cents(planned["totals"]["monthly_usd"])
    assert sum(_cents(r["alone_monthly_usd"]) for r in rows) == _cents(planned["totals"]["alone_monthly_usd"])
    for r in rows:
        parts = (_cents(r["own_monthly_usd"]) + _cents(r["shared_nodes_monthly_usd"])
                 + _cents(r["shared_hosts_monthly_usd"]) + _cents(r["shared_fees_monthly_usd"])
                 - _cents(r["owned_commitments_monthly_usd"]))
        assert parts == _cents(r["monthly_usd"]), r["workload_id"]
    # each shared item's shares add up to its price
    for c in planned["shared"]["clusters"]:
        assert sum(_cents(_row(planned, w)["shared_nodes_monthly_usd"]) for w in c["members"]) == _cents(
            c["monthly_usd"])
    for f in planned["shared"]["fees"]:
        assert f["shared_by"]
    assert sum(_cents(r["shared_fees_monthly_usd"]) for r in rows) == _cents(
        planned["totals"]["shared_fees_monthly_usd"])


def test_shares_follow_the_rule_by_hand(planned, example):
    wl = {w["id"]: w for w in example["workloads"]}
    # Dedicated Hosts by hosts' worth of instances: each member's instances / the instances of its type a host
    # carries (erp-sql 2/8, erp-reports 1/8, pci-api 2/18, pci-worker 1/36: the dedicated workloads share the c5
    # host, which also spares them the $2/h regional fee of Dedicated Instances)
    host = planned["shared"]["hosts"][0]
    host_cents = host["host_count"] * _cents(host["monthly_usd_per_host"])
    worth = {w: Fraction(i["instance_count"], i["instances_per_host"]) for w, i in host["instances"].items()}
    assert worth["erp-sql"] == 2 * worth["erp-reports"] == Fraction(1, 4)
    assert sum(_cents(_row(planned, w)["shared_hosts_monthly_usd"]) for w in worth) == host_cents
    for w in worth:
        exact = host_cents * worth[w] / sum(worth.values())
        assert abs(_cents(_row(planned, w)["shared_hosts_monthly_usd"]) - exact) < 1, w
    assert all(_row(planned, w)["shared_fees_monthly_usd"] == 0.0 for w in ("pci-api", "pci-worker"))
    # a cluster's nodes by dominant share of what its members request (vCPU, memory)
    eks = next(c for c in planned["shared"]["clusters"] if set(c["members"]) == {"cart", "catalog", "search"})
    asked = {w: (Fraction(str(wl[w]["vcpu"])) * wl[w]["replicas"],
                 Fraction(str(wl[w]["memory_gib"])) * wl[w]["replicas"]) for w in eks["members"]}
    total = [sum(a[i] for a in asked.values()) for i in (0, 1)]
    weight = {w: max(a[0] / total[0], a[1] / total[1]) for w, a in asked.items()}   # 3/13, 1/3, 1/2
    assert weight == {"cart": Fraction(3, 13), "catalog": Fraction(1, 3), "search": Fraction(1, 2)}
    exact = {w: _cents(eks["monthly_usd"]) * weight[w] / sum(weight.values()) for w in weight}
    for w in weight:
        assert abs(_cents(_row(planned, w)["shared_nodes_monthly_usd"]) - exact[w]) < 1
    # the EKS control plane ($73.00) split three ways: 24.34 + 24.33 + 24.33
    assert [_row(planned, w)["shared_fees_monthly_usd"] for w in ("cart", "catalog", "search")] == [
        24.34, 24.33, 24.33]


def test_counts_say_what_they_count(planned):
    host = planned["shared"]["hosts"][0]
    assert {"host_count", "standalone_host_count"} <= set(host) and "count" not in host
    assert all("instance_count" in i for i in host["instances"].values())
    assert all("node_count" in g and "count" not in g for c in planned["shared"]["clusters"] for g in c["nodes"])


def test_commitments_to_buy_are_what_the_packed_plan_runs(planned):
    to_buy = planned["shared"]["commitments"]["to_buy"]
    # the Dedicated Hosts: one host reserved (the plan shares it), not one per workload
    hosts = [b for b in to_buy if b["kind"] == "host_reservation"]
    assert [(b["covers"], b["host_count"]) for b in hosts] == [("c5", planned["shared"]["hosts"][0]["host_count"])]
    assert planned["shared"]["hosts"][0]["host_count"] == 1
    # reserved instances and instance savings plans: each packed cluster's nodes, type by type (not its members'
    # own node groups)
    kinds = {"reserved": "reserved_instances", "savings_plan": "savings_plan"}
    packed = {}
    for c in planned["shared"]["clusters"]:
        if c["purchase_option"] in kinds:
            for g in c["nodes"]:
                key = (kinds[c["purchase_option"]], g["instance_type"], c["tenancy"], c["term"], c["payment"])
                packed[key] = packed.get(key, 0) + g["node_count"]
    listed = {(b["kind"], b["covers"], b["tenancy"], b["term"], b["payment"]): b["instance_count"]
              for b in to_buy if b["kind"] in kinds.values() and b["covers"] in
              {g["instance_type"] for c in planned["shared"]["clusters"] for g in c["nodes"]}}
    assert packed and listed == packed
    eks = next(c for c in planned["shared"]["clusters"] if set(c["members"]) == {"cart", "catalog", "search"})
    members_own = sum(_row(planned, w)["choice"]["count"] for w in eks["members"])
    assert sum(g["node_count"] for g in eks["nodes"]) < members_own   # packing used fewer nodes than 1 + 2 + 3


def test_owned_reserved_instances_unused_say_why(planned):
    owned = planned["shared"]["commitments"]["owned"]
    assert [(o["covers"], o["instance_count"], o["used_instance_count"]) for o in owned] == [("m6g.large", 2, 0)]
    # unused, and the plan says why: what owned RIs cover, and that the plan runs none of it (whether the type runs
    # only as a shared cluster's node, which this planner's owned RIs do not cover, or nowhere)
    reason = owned[0]["unused_reason"]
    assert reason.startswith("2 of 2 unused") and "outside shared clusters" in reason and "runs none there" in reason


@pytest.mark.parametrize("tamper, says", [
    ("move_a_cent", "by the allocation rule"),
    ("row_off_its_parts", "is not the sum of its parts"),
    ("row_and_part_moved", "the workloads' rows add up to"),
    ("one_more_node_reserved", "the plan runs"),
    ("drop_a_commitment", "does not list it among the commitments to buy"),
    ("owned_reason_dropped", "must say why"),
])
def test_the_auditor_checks_the_allocation_and_the_commitments(planned, example, catalog, tamper, says):
    doc = copy.deepcopy(planned)
    rows = {r["workload_id"]: r for r in doc["placements"]}
    if tamper == "move_a_cent":   # shares still add up to the cluster and the rows to the total
        for w, d in (("cart", -0.01), ("search", 0.01)):
            rows[w]["shared_nodes_monthly_usd"] = round(rows[w]["shared_nodes_monthly_usd"] + d, 2)
            rows[w]["monthly_usd"] = round(rows[w]["monthly_usd"] + d, 2)
    elif tamper == "row_off_its_parts":
        rows["thumbs"]["monthly_usd"] = round(rows["thumbs"]["monthly_usd"] + 1, 2)
    elif tamper == "row_and_part_moved":
        rows["thumbs"]["monthly_usd"] = round(rows["thumbs"]["monthly_usd"] + 1, 2)
        rows["thumbs"]["own_monthly_usd"] = round(rows["thumbs"]["own_monthly_usd"] + 1, 2)
    elif tamper == "one_more_node_reserved":
        next(b for b in doc["shared"]["commitments"]["to_buy"] if b.get("instance_count"))["instance_count"] += 1
    elif tamper == "drop_a_commitment":
        doc["shared"]["commitments"]["to_buy"].pop()
    elif tamper == "owned_reason_dropped":
        doc["shared"]["commitments"]["owned"][0]["unused_reason"] = None
    problems = validate(doc, parse(example), catalog)
    assert any(says in p for p in problems), problems
