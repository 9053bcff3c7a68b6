"""The vectorized estate path gives the same answer as recommend(), to the cent, field by field.

Random workloads come from a seeded generator (continuous sizes, hours, horizons, OSes, regions,
architectures, caps, storage, scratch, egress, replicas, Spot and capacity settings). Every answer
the vectorized path gives is compared with the batch columns of recommend() for the same workload;
the workloads it leaves to the per-shape path are counted, not compared (they are answered by
recommend() itself). ADVISOR_AGREEMENT_N sets how many (default 300; the README figure used 3,000);
ADVISOR_AGREEMENT_SEED shifts every seed, for other workloads than CI's.
"""

import math
import os
import random

import polars as pl
import pytest

from advisor import batch, estate
from advisor.batch import OUTPUT_SCHEMA, answer_row, answer_vectorized, evaluate_frame
from advisor.pricing import cents_expr, money, money_expr, tiered, tiered_expr
from advisor.recommend import recommend
from models.workload import Service, Workload

N = int(os.environ.get("ADVISOR_AGREEMENT_N", "300"))
SEED = int(os.environ.get("ADVISOR_AGREEMENT_SEED", "0"))  # another seed: other random workloads
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]
# ECS and EKS on EC2 nodes alone, together, with plain EC2 and with Lightsail; Lightsail alone (without
# EC2 the baseline is the cheapest on-demand candidate of the services allowed)
NODE_SETTINGS = [{"allowed_services": s} for s in (
    ["ecs_ec2"], ["eks_ec2"], ["ecs_ec2", "eks_ec2"], ["ec2", "ecs_ec2"], ["ec2", "eks_ec2", "lightsail"],
    ["ecs_ec2", "lightsail"], ["lightsail"])]


def random_workload(rng: random.Random, i: int) -> dict:
    d = {"id": f"w{i}", "region": rng.choice(REGIONS), "os": rng.choice(["rhel", "suse", "linux", "windows"]),
         "arch": rng.choice(["any", "any", "x86_64", "arm64"]),
         "vcpu": max(0.25, round(rng.uniform(0.25, rng.choice([4, 48])), rng.choice([0, 1, 2]))),
         "memory_gib": max(0.5, round(rng.uniform(0.5, rng.choice([16, 256])), rng.choice([0, 1, 3]))),
         "replicas": rng.choice([1, 1, 2, 3, 7]), "hours_per_month": max(1.0, round(rng.uniform(1, 730), 2)),
         "horizon_months": rng.randint(1, 72), "cpu_utilization": max(0.05, round(rng.uniform(0.05, 1), 2)),
         "interruptible": rng.random() < 0.3, "stateful": rng.random() < 0.2,
         "capacity_guarantee": rng.random() < 0.1, "scratch_gib": rng.choice([0, 0, 0, 0, 50, 500]),
         "storage_gib": rng.choice([0, 20, 100.5]), "egress_gib_month": rng.choice([0, 0, 5, 150, 20000, 600000]),
         "allow_previous_generation": rng.random() < 0.1,
         "ops": rng.choice(["balanced", "balanced", "managed", "control"])}
    if d["os"] in ("linux", "windows"):  # every other service passes the rules unless pinned or packaged away
        d.update(rng.choice([{"allowed_services": ["ec2"]}, {"packaging": "vm"},
                             {"allowed_services": ["ec2", "lightsail"]}, *NODE_SETTINGS]))
    if rng.random() < 0.3:
        d.update(spread=rng.choice(["none", "node"]), existing_cluster=rng.random() < 0.5)
    if rng.random() < 0.15:
        d["max_monthly_usd"] = round(rng.uniform(5, 3000), 2)
    return d


@pytest.fixture(scope="module")
def sample(catalog):
    rng = random.Random(SEED + 18)
    workloads = {i: Workload(**random_workload(rng, i)) for i in range(N)}
    covered = {i: w for i, w in workloads.items() if estate.covered(w)}
    return covered, estate.answer(covered, catalog, False)


def test_every_vectorized_answer_is_recommends_to_the_cent(sample, catalog):
    covered, got = sample
    assert got.frame.height >= 0.6 * len(covered), "most covered workloads are answered by the vectorized path"
    ok = got.frame.filter(pl.col("status") == "ok")
    assert set(ok["service"]) == {"ec2", "lightsail", "ecs_ec2", "eks_ec2"}, "every service wins somewhere"
    assert got.frame.filter(pl.col("error").str.contains("over_budget")).height > 0, "caps rule every option out"
    assert got.frame.filter(pl.col("alternative_service") == "lightsail").height > 0
    assert any(Service.ec2 not in estate.served(covered[i]) for i in ok["idx"]), "EC2 not allowed: answered too"
    for row in got.frame.to_dicts():
        w = covered[row.pop("idx")]
        expected = answer_row(recommend(w, catalog=catalog))
        assert row == {k: expected.get(k) for k in row}, w.model_dump(exclude_defaults=True)


@pytest.fixture(scope="module")
def dedicated_sample(catalog):
    """Dedicated tenancy: Dedicated Instances (their rates, the per-region fee, no Spot), Dedicated Hosts
    (whole fleets, billed every hour) and dedicated ECS/EKS nodes (the fee on every node group) compete."""
    rng = random.Random(SEED + 41)
    workloads = {}
    for i in range(N):
        d = random_workload(rng, i) | {"tenancy": "dedicated"}
        d.pop("packaging", None)
        d.update(os=rng.choice(["linux", "windows", "rhel", "suse"]), allowed_services=rng.choice(
            [None, ["ec2"], ["ecs_ec2"], ["eks_ec2"], ["ec2", "ecs_ec2"], ["ecs_ec2", "eks_ec2"]]))
        d.update(replicas=rng.choice([1, 2, 3, 7, 30, 48]), capacity_guarantee=rng.random() < 0.3)
        workloads[i] = Workload(**d)
    covered = {i: w for i, w in workloads.items() if estate.covered(w)}
    return covered, estate.answer(covered, catalog, False)


def test_dedicated_tenancy_answers_are_recommends_to_the_cent(dedicated_sample, catalog):
    covered, got = dedicated_sample
    assert got.frame.height >= 0.8 * len(covered)
    ok = got.frame.filter(pl.col("status") == "ok")
    assert set(ok["tenancy"]) == {"dedicated", "host"}, "instances and hosts each win somewhere"
    assert {"ec2", "ecs_ec2", "eks_ec2"} <= set(ok["service"]), "and dedicated nodes"
    assert {"on_demand", "reserved", "capacity_reservation"} <= set(ok["purchase_option"])
    for row in got.frame.to_dicts():
        w = covered[row.pop("idx")]
        expected = answer_row(recommend(w, catalog=catalog))
        assert row == {k: expected.get(k) for k in row}, w.model_dump(exclude_defaults=True)


def test_answered_and_left_over_partition_the_covered(sample):
    covered, got = sample
    answered = set(got.frame["idx"].to_list())
    assert answered.isdisjoint(got.fallback)
    assert answered | set(got.fallback) == set(covered)


def test_workloads_only_priced_services_can_serve_are_covered():
    base = {"id": "x", "vcpu": 2, "memory_gib": 8}
    assert estate.covered(Workload(**base, os="rhel"))
    assert estate.covered(Workload(**base, allowed_services=["ec2"]))
    assert estate.covered(Workload(**base, packaging="vm"))                      # EC2 and Lightsail
    assert estate.covered(Workload(**base, allowed_services=["lightsail"]))      # the baseline is Lightsail's
    assert estate.covered(Workload(**base, allowed_services=["ecs_ec2"]))        # ... or the nodes'
    assert estate.covered(Workload(**base, allowed_services=["eks_ec2", "ec2"]))
    assert estate.covered(Workload(**base, allowed_services=["eks_ec2", "eks_fargate"]))
    assert estate.covered(Workload(**base, orchestrator="kubernetes"))           # EKS on EC2 and on Fargate
    assert estate.covered(Workload(**base, packaging="vm", requests_per_month=1e6, avg_duration_ms=50))  # load
    assert estate.covered(Workload(**base, allowed_services=["ec2", "ecs_fargate", "lambda", "beanstalk"]))
    assert estate.covered(Workload(**base))                                      # every service, Batch without jobs
    assert estate.covered(Workload(**base, allowed_services=["ec2", "batch"], jobs_per_month=9,
                                   job_duration_minutes=5))                     # Batch's EC2 and Fargate environments
    assert estate.covered(Workload(**base, jobs_per_month=9, job_duration_minutes=5))  # jobs on every service
    assert estate.covered(Workload(**base, os="rhel", tenancy="dedicated"))      # Dedicated Instances and Hosts
    assert estate.covered(Workload(**base, tenancy="dedicated", allowed_services=["ec2"]))
    assert estate.covered(Workload(**base, tenancy="dedicated"))                 # ... and dedicated ECS/EKS nodes
    assert not estate.covered(Workload(**base, os="rhel", tenancy="host"))
    assert not estate.covered(Workload(**base, os="rhel", max_upfront_usd=0))    # frontier, not cheapest
    assert not estate.covered(Workload(**base, os="rhel", gpus=1))


def test_a_workload_plain_ec2_is_not_allowed_for_gets_no_ec2_row_and_the_other_services_baseline(catalog):
    """ECS on EC2 nodes only: the choice is a node group, and the baseline is the cheapest on-demand
    candidate of the services allowed (recommend._baseline), not on-demand EC2 (which costs less here:
    one 2 vCPU type holds the replica, while an ECS node must also fit the agent's memory share)."""
    w = Workload(id="n", vcpu=2, memory_gib=8, allowed_services=["ecs_ec2"], region="us-east-1")
    got = estate.answer({0: w}, catalog, False).frame.to_dicts()[0]
    assert got["service"] == "ecs_ec2"
    expected = answer_row(recommend(w, catalog=catalog))
    assert got["baseline_monthly_usd"] == expected["baseline_monthly_usd"]
    plain = answer_row(recommend(Workload(id="p", vcpu=2, memory_gib=8, packaging="vm"), catalog=catalog))
    assert got["baseline_monthly_usd"] > plain["baseline_monthly_usd"], "an EC2 baseline would be wrong here"


def test_the_agreement_check_catches_eks_nodes_priced_without_the_kubelets_reservations(catalog, monkeypatch):
    """A wrong implementation (EKS nodes given ECS's allocatable capacity) disagrees with recommend()."""
    from advisor.estate import nodes

    def wrong(catalog, service, region, os):
        return real(catalog, "ecs_ec2", region, os)

    real = nodes.node_types
    monkeypatch.setattr(nodes, "node_types", wrong)
    monkeypatch.setattr(nodes, "_INDEXES", type(nodes._INDEXES)())
    rng = random.Random(SEED + 3)
    workloads = {i: Workload(id=f"e{i}", region="us-east-1", vcpu=round(rng.uniform(0.5, 8), 2),
                             memory_gib=round(rng.uniform(1, 60), 1), replicas=rng.choice([1, 3, 6]),
                             allowed_services=["eks_ec2"]) for i in range(40)}
    got = estate.answer(workloads, catalog, False).frame
    wrong_rows = [row for row in got.to_dicts()
                  if answer_row(recommend(workloads[row["idx"]], catalog=catalog))["monthly_usd"] != row["monthly_usd"]]
    assert wrong_rows, "the reservations change some answer, so leaving them out is caught"


def random_settings(rng: random.Random, i: int) -> dict:
    """A workload whose services, packaging, orchestrator, OS, tenancy, architecture, GPUs and capacity
    vary over every value the hard rules read (many leave no service at all)."""
    services = ["ec2", "ecs_ec2", "ecs_fargate", "eks_ec2", "eks_fargate", "lambda", "batch", "lightsail",
                "beanstalk"]
    d = {"id": f"g{i}", "region": rng.choice(REGIONS), "os": rng.choice(["rhel", "suse", "linux", "windows"]),
         "arch": rng.choice(["any", "x86_64", "arm64"]),
         "packaging": rng.choice(["any", "vm", "container", "function"]),
         "orchestrator": rng.choice(["none", "ecs", "kubernetes"]),
         "tenancy": rng.choice(["shared", "shared", "dedicated", "host"]), "byol": rng.random() < 0.1,
         "capacity_guarantee": rng.random() < 0.2, "gpus": rng.choice([0, 0, 0, 1]),
         "hours_per_month": max(1.0, round(rng.uniform(1, 730), 2))}
    if rng.random() < 0.6:
        d["allowed_services"] = rng.sample(services, rng.randint(1, 3))
    if rng.random() < 0.3:
        d.update(requests_per_month=rng.randint(10_000, 50_000_000), avg_duration_ms=round(rng.uniform(5, 900), 1))
    elif rng.random() < 0.1:
        d.update(jobs_per_month=rng.randint(10, 2000), job_duration_minutes=round(rng.uniform(1, 120), 1))
    if "requests_per_month" not in d or rng.random() < 0.7:  # no replica shape: only request-shaped work
        d.update(vcpu=max(0.25, round(rng.uniform(0.25, 16), 2)), memory_gib=max(0.5, round(rng.uniform(0.5, 64), 1)))
    return d


def test_a_workload_no_service_can_serve_is_answered_as_recommend_answers_it(catalog):
    """`unplaceable` (the hard rules' reason codes) and the row the batch path writes for it agree
    with recommend() on random settings; the workloads some service passes are not claimed."""
    rng = random.Random(SEED + 81)
    keys, expected, claimed = [], {}, 0
    for i in range(max(N // 2, 150)):
        w = Workload.model_validate(random_settings(rng, i))
        rec = answer_row(recommend(w, catalog=catalog))
        if estate.unplaceable(w) is None:
            continue
        claimed += 1
        key = tuple((k, tuple(v) if isinstance(v, list) else v)
                    for k, v in w.model_dump(mode="json", exclude={"id"}).items())
        keys.append(key)
        expected[key] = rec
    assert claimed >= 20, "the generator reaches workloads no service can serve"
    got = answer_vectorized(keys, catalog, False)
    for key in keys:
        assert got[key]["status"] == "error" and "rejections: " in got[key]["error"], key
        assert {k: got[key].get(k) for k in OUTPUT_SCHEMA} == {k: expected[key].get(k) for k in OUTPUT_SCHEMA}, key


def test_a_csv_answers_the_same_with_and_without_the_vectorized_path(catalog, monkeypatch):
    monkeypatch.setattr(batch, "VECTOR_MIN_SHAPES", 1)  # every region and OS of this small sample is vectorized
    rng = random.Random(SEED + 5)
    rows = [random_workload(rng, i) for i in range(60)]
    rows += [{"id": "lin", "vcpu": 2, "memory_gib": 8}, {"id": "bad", "vcpu": -1, "memory_gib": 8, "os": "rhel"},
             {"id": "cap", "vcpu": 2, "memory_gib": 8, "os": "rhel", "max_monthly_usd": 1},
             {"id": "huge", "vcpu": 900, "memory_gib": 8, "os": "rhel"},
             {"id": "none", "vcpu": 2, "memory_gib": 8, "orchestrator": "ecs", "allowed_services": ["ec2"]},
             {"id": "nowhere", "vcpu": 2, "memory_gib": 8, "region": "xx-nowhere-1", "os": "rhel",
              "packaging": "function"}]
    text = [{k: ";".join(v) if isinstance(v, list) else str(v) for k, v in r.items()} for r in rows]
    frame = pl.DataFrame(text, infer_schema_length=None)
    fast, fast_summary = evaluate_frame(frame, catalog=catalog)
    slow, slow_summary = evaluate_frame(frame, catalog=catalog, vectorized=False)
    assert fast.select(list(OUTPUT_SCHEMA)).equals(slow.select(list(OUTPUT_SCHEMA)))
    assert fast_summary == slow_summary
    assert fast.filter(pl.col("id") == "cap")["status"].item() == "error"
    assert "orchestrator_mismatch" in fast.filter(pl.col("id") == "none")["error"].item()
    assert "region" in fast.filter(pl.col("id") == "nowhere")["error"].item()


def test_money_expr_is_money_bit_for_bit():
    rng = random.Random(SEED + 1)
    xs = [rng.uniform(-5e3, 5e3) * rng.choice([1, 1e-3, 0.37, 1e-5, 1e4]) for _ in range(50_000)]
    xs += [k / 200 for k in range(-2000, 2000)] + [2.675, 1.005, 0.015, 1234.565, 0.0, -0.0, -0.004]
    got = pl.DataFrame({"x": xs}).select(m=money_expr(pl.col("x")), c=cents_expr(pl.col("x")))
    for x, m, c in zip(xs, got["m"], got["c"], strict=True):
        assert m == money(x) and math.copysign(1, m) == math.copysign(1, money(x)), x
        assert c == round(x * 100), x


def test_tiered_expr_is_tiered():
    tiers = [{"up_to_gb": 10240, "usd_per_gb": 0.09}, {"up_to_gb": 51200, "usd_per_gb": 0.085},
             {"up_to_gb": 153600, "usd_per_gb": 0.07}, {"up_to_gb": None, "usd_per_gb": 0.05}]
    qs = [0.0, 1.0, 10240.0, 10240.5, 51200.0, 99999.9, 153600.0, 1e6, 3.3]
    got = pl.DataFrame({"q": qs}).select(tiered_expr(pl.col("q"), tiers, "up_to_gb", "usd_per_gb"))
    assert got.to_series().to_list() == [tiered(q, tiers, "up_to_gb", "usd_per_gb") for q in qs]


def test_a_region_and_os_with_few_new_shapes_is_left_to_the_per_shape_path(catalog):
    """Each region and OS the vectorized path answers builds an index (~0.1 s): below
    VECTOR_MIN_SHAPES covered shapes there, the per-shape path is cheaper and answers them."""
    def keys(n: int, os: str) -> list[tuple]:
        return [(("region", "us-east-1"), ("os", os), ("vcpu", str(1 + k)), ("memory_gib", "8")) for k in range(n)]
    few, many = keys(batch.VECTOR_MIN_SHAPES - 1, "rhel"), keys(batch.VECTOR_MIN_SHAPES, "suse")
    got = answer_vectorized(few + many, catalog, False)
    assert set(got) == set(many)


def test_every_node_candidate_row_is_node_generates(catalog):
    """Not only the choice: the node rows this path keeps that the choice can read (choice.leading: per
    service the two cheapest, per baseline option its cheapest; the other options are not costed) are
    exactly those of containers.node_generate's candidates (type, nodes, option, monthly, upfront),
    request profiles (carried replicas, a load balancer) included."""
    from advisor.candidates.base import Context
    from advisor.candidates.containers import node_generate
    from advisor.candidates.load import carrying
    from advisor.estate import nodes
    from advisor.estate.choice import leading
    from advisor.estate.priced import CANDIDATE_SCHEMA

    rng = random.Random(SEED + 11)
    workloads = {}
    for i in range(max(N // 3, 100)):
        pinned = rng.choice([["ecs_ec2"], ["eks_ec2"], ["ecs_ec2", "eks_ec2"]])
        d = random_workload(rng, i) | {"os": rng.choice(["linux", "windows"]), "packaging": "any",
                                        "allowed_services": pinned}
        if rng.random() < 0.5:
            d.update(requests_per_month=rng.randint(10_000, 500_000_000), avg_duration_ms=round(rng.uniform(5, 900), 1))
        workloads[i] = Workload(**d)
    got_rows = nodes.price(workloads, catalog, False)
    rows, unsure = got_rows.frame, got_rows.fallback
    fields = ["service", "instance_type", "count", "purchase_option", "term", "offering_class", "plan_type", "payment",
              "tenancy", "monthly_usd", "upfront_usd"]
    assert len(unsure) < len(workloads) / 10 and any(w.request_shaped for w in workloads.values())
    expected_rows = pl.DataFrame(
        [{"idx": i, **{f: getattr(c, f) for f in fields}} for i, w in workloads.items() if i not in unsure
         for s in (Service.ecs_ec2, Service.eks_ec2) if s in estate.served(w)
         for c in node_generate(s, carrying(w), Context(catalog)).candidates],
        schema={f: CANDIDATE_SCHEMA[f] for f in ["idx", *fields]})

    def by_workload(frame: pl.DataFrame) -> dict[int, set]:
        out: dict[int, set] = {}
        for row in leading(frame).to_dicts():
            out.setdefault(row["idx"], set()).add(tuple(row[f] for f in fields))
        return out

    got, expected = by_workload(rows), by_workload(expected_rows)
    assert expected and sum(map(len, expected.values())) > 2 * len(expected)
    for i, w in workloads.items():
        if i not in unsure:
            assert got.get(i, set()) == expected.get(i, set()), w.model_dump(exclude_defaults=True)
