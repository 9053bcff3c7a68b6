"""The vectorized path with the services it prices beside EC2 and Lightsail (ECS/EKS on Fargate,
Lambda, Batch, Beanstalk) and request and job profiles: the same answer as recommend(),
every output field, on seeded random workloads (ADVISOR_AGREEMENT_N of them, default 300; the README
figure used 3,000; ADVISOR_AGREEMENT_SEED shifts every seed), with and without the free tier; and
each module's cheapest candidate per (service, purchase option) against the per-shape generator's.
"""

import os
import random

import polars as pl
import pytest

from advisor import estate
from advisor.batch import answer_row
from advisor.candidates.base import Context
from advisor.candidates.load import carrying
from advisor.candidates.registry import GENERATORS
from advisor.estate import fargate, lambda_
from advisor.estate.priced import COLUMNS
from advisor.recommend import recommend
from models.workload import Service, Workload

N = int(os.environ.get("ADVISOR_AGREEMENT_N", "300"))
SEED = int(os.environ.get("ADVISOR_AGREEMENT_SEED", "0"))  # another seed: other random workloads
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]
OTHERS = ["lightsail", "ecs_fargate", "eks_fargate", "lambda", "batch", "beanstalk"]


def random_workload(rng: random.Random, i: int) -> dict:
    """EC2 plus some of the services this path prices; sizes, schedules and profiles drawn widely."""
    d = {"id": f"s{i}", "region": rng.choice(REGIONS), "os": rng.choice(["linux", "linux", "windows"]),
         "arch": rng.choice(["any", "any", "x86_64", "arm64"]),
         "vcpu": max(0.25, round(rng.uniform(0.25, rng.choice([2, 8, 20])), rng.choice([0, 1, 2]))),
         "memory_gib": max(0.5, round(rng.uniform(0.5, rng.choice([4, 32, 130])), rng.choice([0, 1, 3]))),
         "replicas": rng.choice([1, 1, 2, 3, 7]), "hours_per_month": max(1.0, round(rng.uniform(1, 730), 2)),
         "horizon_months": rng.randint(1, 72), "cpu_utilization": max(0.05, round(rng.uniform(0.05, 1), 2)),
         "interruptible": rng.random() < 0.4, "stateful": rng.random() < 0.2,
         "capacity_guarantee": rng.random() < 0.05, "scratch_gib": rng.choice([0, 0, 0, 10, 50, 500]),
         "storage_gib": rng.choice([0, 0, 20, 100.5]), "egress_gib_month": rng.choice([0, 0, 5, 150, 20000]),
         "existing_cluster": rng.random() < 0.3, "ops": rng.choice(["balanced", "balanced", "managed", "control"]),
         "allowed_services": ["ec2", *rng.sample(OTHERS, rng.randint(1, 4))]}
    if rng.random() < 0.2:
        d["peak_replicas"] = d["replicas"] + rng.randint(0, 5)
    if rng.random() < 0.45:
        d.update(requests_per_month=rng.choice([0, 1e4, 2e6, 5e7, 3e9]) * rng.uniform(0.5, 1.5),
                 avg_duration_ms=round(rng.uniform(1, rng.choice([200, 5000, 1_200_000])), 1),
                 peak_factor=rng.choice([1, 1, 3]), requests_in_flight_per_vcpu=rng.choice([1, 1, 4, 0.1]))
        if rng.random() < 0.3:
            d["function_memory_mb"] = rng.choice([128, 512, 1769, 3000, 10240])
    elif rng.random() < 0.4:
        d.update(jobs_per_month=rng.choice([0, 1, 40, 3000]) * rng.uniform(0.5, 1.5),
                 job_duration_minutes=round(rng.uniform(0.1, 300), 1))
        if rng.random() < 0.5:
            d["deadline_hours"] = round(rng.uniform(1, 800), 1)
    if rng.random() < 0.15:
        d["max_monthly_usd"] = round(rng.uniform(5, 3000), 2)
    return d


@pytest.fixture(scope="module", params=[False, True], ids=["paid", "free_tier"])
def sample(request, catalog):
    rng = random.Random(SEED + 1818 + request.param)
    workloads = {i: Workload(**random_workload(rng, i)) for i in range(N)}
    covered = {i: w for i, w in workloads.items() if estate.covered(w)}
    return covered, estate.answer(covered, catalog, request.param), request.param


def test_every_answer_is_recommends_to_the_cent(sample, catalog):
    covered, got, free = sample
    assert len(covered) >= 0.6 * N, "the generator's workloads are mostly ones this path covers"
    assert got.frame.height >= 0.5 * len(covered), "most covered workloads are answered by the vectorized path"
    ok = got.frame.filter(pl.col("status") == "ok")
    won = set(ok["service"])
    assert {"ec2", "ecs_fargate", "lambda", "beanstalk"} <= won, won
    assert {"savings_plan", "spot", "on_demand"} <= set(ok["purchase_option"])
    for row in got.frame.to_dicts():
        w = covered[row.pop("idx")]
        expected = answer_row(recommend(w, catalog=catalog, include_free_tier=free))
        assert row == {k: expected.get(k) for k in row}, w.model_dump(exclude_defaults=True)


def test_request_and_job_profiles_are_answered(sample):
    covered, got, _ = sample
    answered = [covered[i] for i in got.frame["idx"].to_list()]
    assert sum(w.request_shaped for w in answered) >= 0.2 * len(answered)
    assert sum(w.job_shaped for w in answered) >= 0.05 * len(answered)


def _cheapest_per_option(frame: pl.DataFrame) -> dict[tuple[str, str], float]:
    best = frame.group_by("service", "purchase_option").agg(pl.col("monthly_usd").min())
    return {(s, o): m for s, o, m in best.iter_rows()}


def _generated(w: Workload, services: list[Service], catalog, free: bool) -> dict[tuple[str, str], float]:
    ctx = Context(catalog, include_free_tier=free)
    out: dict[tuple[str, str], float] = {}
    for s in services:
        for c in GENERATORS[s](w if s is Service.aws_lambda else carrying(w), ctx).candidates:
            key = (c.service, c.purchase_option)
            out[key] = min(out.get(key, c.monthly_usd), c.monthly_usd)
    return out


@pytest.mark.parametrize("free", [False, True])
def test_modules_cheapest_per_option_are_the_generators(catalog, free):
    rng = random.Random(SEED + 7 + free)
    workloads = {i: Workload(**random_workload(rng, i)) for i in range(max(N // 3, 80))}
    frames = {m: m.candidates(workloads, catalog, free).frame for m in (fargate, lambda_)}
    for m, frame in frames.items():
        assert frame.columns == COLUMNS
        assert not frame.is_empty(), m.__name__
    services = [Service.ecs_fargate, Service.eks_fargate, Service.aws_lambda]
    for i, w in workloads.items():
        got = {**_cheapest_per_option(frames[fargate].filter(pl.col("idx") == i)),
               **_cheapest_per_option(frames[lambda_].filter(pl.col("idx") == i))}
        assert got == _generated(w, services, catalog, free), w.model_dump(exclude_defaults=True)


def test_a_fargate_task_is_rounded_up_to_a_valid_size(catalog):
    """0.3 vCPU / 0.7 GiB runs as a 0.5 vCPU / 1 GB task (the smallest valid size that holds it): an
    implementation that prices the request as asked is cheaper than AWS bills."""
    w = Workload(id="t", vcpu=0.3, memory_gib=0.7, allowed_services=["ec2", "ecs_fargate"], arch="x86_64")
    got = fargate.candidates({0: w}, catalog, False).frame.filter(pl.col("purchase_option") == "on_demand")
    vcpu = catalog.facts.value("fargate.vcpu_usd_per_hour_x86", "us-east-1")
    gb = catalog.facts.value("fargate.gb_usd_per_hour_x86", "us-east-1")
    assert got["unit_size"].to_list() == [0.5]
    assert got["monthly_usd"].to_list() == [round((0.5 * vcpu + 1.0 * gb) * 730, 2)]


def test_eks_fargate_adds_the_pod_overhead_before_rounding(catalog):
    """1 vCPU / 2 GiB on EKS needs 2 GiB + 256 MiB: the next valid size is 1 vCPU / 3 GB."""
    w = Workload(id="t", vcpu=1, memory_gib=2, allowed_services=["ec2", "eks_fargate"], existing_cluster=True)
    got = fargate.candidates({0: w}, catalog, False).frame.filter(pl.col("purchase_option") == "on_demand")
    vcpu = catalog.facts.value("fargate.vcpu_usd_per_hour_x86", "us-east-1")
    gb = catalog.facts.value("fargate.gb_usd_per_hour_x86", "us-east-1")
    assert got["monthly_usd"].to_list() == [round((1 * vcpu + 3 * gb) * 730, 2)]


def test_lambda_counts_the_free_tier_only_when_asked(catalog):
    """500,000 requests of 100 ms at 128 MB are inside the free tier: $0 with it, the list price without."""
    w = Workload(id="f", vcpu=1, memory_gib=2, requests_per_month=500_000, avg_duration_ms=100,
                 function_memory_mb=128, allowed_services=["ec2", "lambda"], arch="x86_64")
    paid = lambda_.candidates({0: w}, catalog, False).frame.filter(pl.col("purchase_option") == "on_demand")
    free = lambda_.candidates({0: w}, catalog, True).frame.filter(pl.col("purchase_option") == "on_demand")
    request_price = catalog.facts.value("lambda.request_usd_per_million", "us-east-1")
    gb_s = 500_000 * 0.1 * 128 / 1024
    first_tier = catalog.facts.value("lambda.duration_tiers_x86", "us-east-1")[0]["usd_per_gb_second"]
    assert paid["monthly_usd"].to_list() == [round(round(0.5 * request_price, 2) + round(gb_s * first_tier, 2), 2)]
    assert free["monthly_usd"].to_list() == [0.0]


def test_lambda_over_its_limits_has_no_candidate(catalog):
    base = {"id": "l", "vcpu": 1, "memory_gib": 2, "allowed_services": ["ec2", "lambda"], "requests_per_month": 1e6}
    too_long = Workload(**base, avg_duration_ms=16 * 60 * 1000)      # over the 15-minute timeout
    stateful = Workload(**base, avg_duration_ms=50, stateful=True)
    fine = Workload(**base, avg_duration_ms=50)
    got = lambda_.candidates({0: too_long, 1: stateful, 2: fine}, catalog, False).frame
    assert set(got["idx"]) == {2}


def test_beanstalk_adds_its_own_lines_to_ec2s_instances(catalog):
    """Beanstalk's web tier balances max(replicas, peak) (a lone replica with a peak of 3 has an ALB,
    EC2 does not); its worker tier pays SQS; a workload with neither profile has no Beanstalk candidate."""
    from advisor.candidates import beanstalk as generator
    from advisor.candidates import costs, jobs
    from advisor.estate import beanstalk
    from advisor.pricing import money

    ctx = Context(catalog)
    base = {"id": "b", "vcpu": 1, "memory_gib": 2, "allowed_services": ["ec2", "beanstalk"], "egress_gib_month": 10}
    web = Workload(**base, requests_per_month=1e5, avg_duration_ms=20, peak_replicas=3)
    alb = sum(money(x.monthly_usd) for x in costs.load_balancer_lines(catalog, web))
    assert alb > 20 and beanstalk.extra_usd(web, ctx) == alb
    assert not costs.needs_load_balancer(web, web.replicas)  # EC2's own rule: one replica, no ALB
    worker = Workload(**base, jobs_per_month=100, job_duration_minutes=30)
    plan = jobs.plan(worker)
    sqs = generator._worker_lines(ctx, worker, plan.concurrency, plan.hours_each(plan.concurrency), plan.jobs)
    assert beanstalk.extra_usd(worker, ctx) == money(sqs[0].monthly_usd)
    assert beanstalk.extra_usd(Workload(**base), ctx) is None


def test_commitment_expr_is_commitment_cost_bit_for_bit():
    from advisor.pricing import TERM_MONTHS, commitment_cost, commitment_expr

    rng = random.Random(SEED + 2)
    cases = [(rng.uniform(0, 5) * rng.choice([1, 1e-4, 37.1]), rng.uniform(0, 9000) * rng.choice([0, 1]),
              rng.choice(["1yr", "3yr"]), rng.randint(1, 120), rng.randint(1, 400)) for _ in range(20_000)]
    frame = pl.DataFrame(cases, schema=["rate", "upfront", "term", "horizon", "count"], orient="row")
    monthly, upfront = commitment_expr(pl.col("rate"), pl.col("upfront"),
                                       pl.col("term").replace_strict(TERM_MONTHS, return_dtype=pl.Int64),
                                       pl.col("horizon"), pl.col("count"))
    got = frame.select(m=monthly, u=upfront)
    for (rate, up, term, horizon, count), m, u in zip(cases, got["m"], got["u"], strict=True):
        want = commitment_cost(rate, up, term, horizon, count)
        assert (m, u) == (want.monthly_usd, want.upfront_usd), (rate, up, term, horizon, count)


def test_batch_fargate_environments_are_the_generators(catalog):
    """Batch's FARGATE and FARGATE_SPOT candidates against batch.generate's, cheapest per option, on random
    job-shaped workloads; Batch's EC2 environments come from estate/nodes.py (compared whole in the
    agreement tests), so Batch leaves no workload to the per-shape path."""
    from advisor.candidates import batch as generator
    from advisor.estate import batch

    rng = random.Random(SEED + 11)
    workloads = {}
    for i in range(60):
        d = random_workload(rng, i)
        d.update(os="linux", allowed_services=["ec2", "batch"], jobs_per_month=rng.choice([1, 40, 3000]),
                 job_duration_minutes=round(rng.uniform(0.1, 300), 1))
        d.pop("requests_per_month", None), d.pop("avg_duration_ms", None), d.pop("function_memory_mb", None)
        workloads[i] = Workload(**d)
    priced = batch.candidates(workloads, catalog, False)
    got = priced.frame
    assert set(got["purchase_option"]) == {"on_demand", "spot", "savings_plan"}
    assert priced.fallback == set()
    assert all(estate.covered(w) for w in workloads.values())
    ctx = Context(catalog)
    for i, w in workloads.items():
        want: dict[tuple[str, str], float] = {}
        for c in generator.generate(w, ctx).candidates:
            if c.config["compute_environment"].startswith("FARGATE"):
                key = (c.service, c.purchase_option)
                want[key] = min(want.get(key, c.monthly_usd), c.monthly_usd)
        assert _cheapest_per_option(got.filter(pl.col("idx") == i)) == want, w.model_dump(exclude_defaults=True)


@pytest.fixture(scope="module")
def job_sample(catalog):
    """Job profiles where ECS/EKS on EC2 nodes and Batch's EC2 environments (waves of jobs over node
    groups, priced from the per-shape path's node frontiers) compete with EC2, Fargate and each other."""
    rng = random.Random(SEED + 2718)
    node_services = [["ecs_ec2"], ["eks_ec2"], ["batch"], ["ec2", "batch"], ["ecs_ec2", "eks_ec2", "batch"],
                     ["ec2", "ecs_ec2"], ["ec2", "ecs_ec2", "ecs_fargate", "batch", "lightsail"]]
    workloads = {}
    for i in range(max(N // 2, 150)):
        d = random_workload(rng, i)
        for k in ("requests_per_month", "avg_duration_ms", "function_memory_mb", "peak_factor",
                  "requests_in_flight_per_vcpu"):
            d.pop(k, None)
        d.update(jobs_per_month=rng.choice([1, 40, 3000, 50000]) * rng.uniform(0.5, 1.5),
                 job_duration_minutes=round(rng.uniform(0.1, 300), 1), allowed_services=rng.choice(node_services),
                 os=rng.choice(["linux", "linux", "windows"]), arch=rng.choice(["any", "x86_64"]))
        if rng.random() < 0.5:
            d["deadline_hours"] = round(rng.uniform(1, 800), 1)
        if rng.random() < 0.2:
            d["tenancy"] = "dedicated"
        workloads[i] = Workload(**d)
    covered = {i: w for i, w in workloads.items() if estate.covered(w)}
    return covered, estate.answer(covered, catalog, False)


def test_job_profiles_on_nodes_are_recommends_to_the_cent(job_sample, catalog):
    covered, got = job_sample
    assert got.frame.height >= 0.8 * len(covered)
    ok = got.frame.filter(pl.col("status") == "ok")
    assert {"ecs_ec2", "eks_ec2", "batch"} <= set(ok["service"])
    assert {"spot", "on_demand"} <= set(ok.filter(pl.col("service") == "batch")["purchase_option"])
    for row in got.frame.to_dicts():
        w = covered[row.pop("idx")]
        expected = answer_row(recommend(w, catalog=catalog))
        assert row == {k: expected.get(k) for k in row}, w.model_dump(exclude_defaults=True)
