"""Invariants of recommend() on random workloads (hypothesis): optimal, additive, deterministic.

* the chosen cost equals the minimum found by brute force over the same candidates (independent of
  the CP-SAT model), and over *every* candidate without pruning on a smaller sample;
* every answer's cost lines add up to its monthly_usd;
* the same input gives the same answer, byte for byte.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.candidates.base import Context
from advisor.candidates.registry import generate_all
from advisor.optimize.choose import OPS_WEIGHTS, cents, within_caps
from advisor.reasons import REASONS
from advisor.recommend import recommend
from models.workload import Workload

SERVICES = ["ec2", "ecs_ec2", "ecs_fargate", "eks_ec2", "eks_fargate", "lambda", "batch", "lightsail", "beanstalk"]


@st.composite
def workloads(draw):
    vcpu = draw(st.sampled_from([0.25, 0.5, 1, 2, 4, 8, 16]))
    data = {
        "id": "w",
        "vcpu": vcpu,
        "memory_gib": vcpu * draw(st.sampled_from([1, 2, 4, 8])),
        "replicas": draw(st.integers(1, 6)),
        "hours_per_month": draw(st.sampled_from([50, 200, 400, 730])),
        "horizon_months": draw(st.sampled_from([1, 6, 12, 24, 36, 60])),
        "cpu_utilization": draw(st.sampled_from([0.05, 0.3, 1.0])),
        "interruptible": draw(st.booleans()),
        "stateful": draw(st.booleans()),
        "os": draw(st.sampled_from(["linux", "linux", "windows", "rhel"])),
        "arch": draw(st.sampled_from(["any", "x86_64", "arm64"])),
        "region": draw(st.sampled_from(["us-east-1", "us-east-1", "eu-west-1", "ap-southeast-2"])),
        "tenancy": draw(st.sampled_from(["shared", "shared", "shared", "dedicated", "host"])),
        "capacity_guarantee": draw(st.booleans()),
        "ops": draw(st.sampled_from(["balanced", "managed", "control"])),
        "storage_gib": draw(st.sampled_from([0, 0, 20, 500])),
        "scratch_gib": draw(st.sampled_from([0, 0, 50, 300])),
        "egress_gib_month": draw(st.sampled_from([0, 0, 10, 5000])),
        "existing_cluster": draw(st.booleans()),
    }
    if draw(st.booleans()):
        data["requests_per_month"] = draw(st.sampled_from([0, 1e5, 3e6, 1e9]))
        data["avg_duration_ms"] = draw(st.sampled_from([5, 120, 1000, 60_000]))
    if draw(st.integers(0, 3)) == 0:
        data["jobs_per_month"] = draw(st.sampled_from([1, 100, 5000]))
        data["job_duration_minutes"] = draw(st.sampled_from([1, 30, 240]))
        if draw(st.booleans()):
            data["deadline_hours"] = draw(st.sampled_from([2, 24, 200]))
    if draw(st.integers(0, 3)) == 0:
        data["max_monthly_usd"] = draw(st.sampled_from([5, 50, 500, 5000]))
    if draw(st.integers(0, 3)) == 0:
        data["max_upfront_usd"] = draw(st.sampled_from([0, 100, 10_000]))
    if draw(st.integers(0, 2)) == 0:
        data["allowed_services"] = draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=4, unique=True))
    return Workload(**data)


def brute_force_best(candidates, w):
    feasible = [c for c in candidates if within_caps(c, w.max_monthly_usd, w.max_upfront_usd)]
    if not feasible:
        return None
    weights = OPS_WEIGHTS[w.ops.value]
    return min(feasible, key=lambda c: (cents(c.monthly_usd) * weights[c.ops_effort], c.sort_key))


FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(workloads())
def test_choice_is_the_brute_force_minimum_and_lines_add_up(catalog_for_properties, w):
    rec = recommend(w, catalog=catalog_for_properties)
    generated = generate_all(w, Context(catalog_for_properties))
    best = brute_force_best(generated.candidates, w)
    if best is None:
        assert rec.choice is None
    else:
        assert rec.choice is not None
        assert rec.choice.monthly_usd == best.monthly_usd
        assert (rec.choice.service, rec.choice.purchase_option, rec.choice.instance_type) == (
            best.service, best.purchase_option, best.instance_type)
    for option in ([rec.choice] if rec.choice else []) + rec.alternatives:
        assert option.monthly_usd == round(sum(x.monthly_usd for x in option.cost_lines), 2)
        assert option.monthly_usd > 0 or option.cost_lines
    assert all(r.reason in REASONS for r in rec.rejected)
    assert recommend(w, catalog=catalog_for_properties).model_dump_json() == rec.model_dump_json()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])   # exhaustive: ~1 s each
@given(workloads())
def test_pruning_loses_nothing_against_every_candidate(catalog_for_properties, w):
    ctx = Context(catalog_for_properties)
    pruned = brute_force_best(generate_all(w, ctx).candidates, w)
    everything = brute_force_best(generate_all(w, ctx, exhaustive=True).candidates, w)
    assert (pruned is None) == (everything is None)
    if pruned is not None:
        assert pruned.monthly_usd == everything.monthly_usd, w.model_dump_json()
