"""Lambda candidates: AWS's worked example, hand-computed costs, tiers, memory rules and every rejection."""

from __future__ import annotations

import pytest

from advisor.candidates import aws_lambda
from advisor.candidates.base import Context, Generated
from advisor.catalog.store import load_catalog
from models.workload import Service, Workload

X86_T1 = 0.0000166667
X86_T2 = 0.000015
ARM_T1 = 0.0000133334
ARM_T2 = 0.0000120001
EPHEMERAL = 0.0000000309


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def run(catalog, free: bool = False, exhaustive: bool = False, **fields) -> Generated:
    fields.setdefault("id", "fn")
    return aws_lambda.generate(Workload(**fields), Context(catalog, include_free_tier=free), exhaustive=exhaustive)


def only(g: Generated, arch: str | None = None):
    cands = [c for c in g.candidates if (arch is None or c.config["arch"] == arch)
             and c.purchase_option == "on_demand"]
    assert len(cands) == 1, (g.candidates, g.rejections)
    return cands[0]


def reasons(g: Generated) -> set[str]:
    return {r.reason for r in g.rejections}


def line(c, prefix: str):
    found = [ln for ln in c.lines if ln.item.startswith(prefix)]
    assert len(found) == 1, c.lines
    return found[0]


EXAMPLE = dict(function_memory_mb=512, requests_per_month=3_000_000, avg_duration_ms=1000)


# ------------------------------------------------------------------ AWS's worked example and exact costs


def test_aws_pricing_page_example_with_free_tier(catalog):
    g = run(catalog, free=True, arch="x86_64", **EXAMPLE)
    c = only(g)
    assert not g.rejections
    assert 18.73 <= c.monthly_usd <= 18.74
    assert line(c, "Lambda requests").monthly_usd == pytest.approx(0.40)
    duration = line(c, "Lambda duration x86_64")
    assert duration.monthly_usd == pytest.approx(1_100_000 * X86_T1)
    assert "1,500,000 GB-s" in duration.item and "400,000 free" in duration.item
    assert "1,100,000 GB-s x $0.0000166667" in duration.item
    assert "1,000,000 free" in line(c, "Lambda requests").item
    assert any("free tier" in n for n in c.config["notes"])


def test_example_without_free_tier_is_exact(catalog):
    c = only(run(catalog, arch="x86_64", **EXAMPLE))
    assert line(c, "Lambda requests").monthly_usd == pytest.approx(3 * 0.20)
    assert line(c, "Lambda duration").monthly_usd == pytest.approx(1_500_000 * X86_T1)  # 25.00005
    assert c.monthly_usd == 25.60
    assert "free" not in " ".join(ln.item for ln in c.lines)
    assert c.config["notes"] == []


def test_second_aws_example_128mb_200ms(catalog):
    c = only(run(catalog, free=True, arch="x86_64", function_memory_mb=128, requests_per_month=30_000_000,
                 avg_duration_ms=200))
    # 30M x 0.2 s x 0.125 GB = 750,000 GB-s; -400,000 free; requests (30M - 1M) x $0.20/M
    assert line(c, "Lambda duration").monthly_usd == pytest.approx(350_000 * X86_T1)
    assert line(c, "Lambda requests").monthly_usd == pytest.approx(5.80)
    assert c.monthly_usd == pytest.approx(5.83 + 5.80)


def test_free_tier_covers_small_workload(catalog):
    c = only(run(catalog, free=True, arch="x86_64", function_memory_mb=128, requests_per_month=500_000,
                 avg_duration_ms=100))
    assert c.monthly_usd == 0.0


def test_arm64_cheaper_by_exactly_the_tier_price_ratio(catalog):
    g = run(catalog, **EXAMPLE)
    x86, arm = only(g, "x86_64"), only(g, "arm64")
    ratio = line(arm, "Lambda duration").monthly_usd / line(x86, "Lambda duration").monthly_usd
    assert ratio == pytest.approx(ARM_T1 / X86_T1, rel=1e-12)
    assert line(arm, "Lambda requests").monthly_usd == line(x86, "Lambda requests").monthly_usd
    assert arm.monthly_usd < x86.monthly_usd
    assert line(arm, "Lambda duration").monthly_usd == pytest.approx(1_500_000 * ARM_T1)


def test_tier_crossing_7_billion_gb_seconds(catalog):
    # 7e9 requests x 1 s x 1 GB = 7e9 GB-s: x86 tier 1 up to 6e9, the rest at tier 2
    g = run(catalog, function_memory_mb=1024, requests_per_month=7e9, avg_duration_ms=1000)
    x86, arm = only(g, "x86_64"), only(g, "arm64")
    duration = line(x86, "Lambda duration")
    assert duration.monthly_usd == pytest.approx(6e9 * X86_T1 + 1e9 * X86_T2)  # 115,000.20
    assert "6,000,000,000 GB-s x $0.0000166667 + 1,000,000,000 GB-s x $0.000015" in duration.item
    assert line(x86, "Lambda requests").monthly_usd == pytest.approx(1400.0)
    # arm64 tier 1 runs to 7.5e9 GB-s: all of it at tier 1
    assert line(arm, "Lambda duration").monthly_usd == pytest.approx(7e9 * ARM_T1)


def test_arm64_tier_crossing(catalog):
    c = only(run(catalog, arch="arm64", function_memory_mb=1024, requests_per_month=8e9, avg_duration_ms=1000))
    assert line(c, "Lambda duration").monthly_usd == pytest.approx(7.5e9 * ARM_T1 + 0.5e9 * ARM_T2)


def test_duration_billed_per_whole_ms(catalog):
    c = only(run(catalog, arch="x86_64", function_memory_mb=1024, requests_per_month=1_000_000,
                 avg_duration_ms=100.2))
    assert c.config["billed_duration_ms"] == 101
    assert line(c, "Lambda duration").monthly_usd == pytest.approx(1_000_000 * 0.101 * X86_T1)


def test_ephemeral_storage_above_512_mb(catalog):
    c = only(run(catalog, arch="x86_64", function_memory_mb=512, requests_per_month=1_000_000,
                 avg_duration_ms=2000, scratch_gib=2))
    eph = line(c, "Lambda ephemeral storage")
    # (2048 - 512) / 1024 = 1.5 GB x 1M x 2 s = 3,000,000 GB-s
    assert eph.monthly_usd == pytest.approx(3_000_000 * EPHEMERAL)
    assert "3,000,000 GB-s" in eph.item
    assert c.config["ephemeral_storage_mb"] == 2048


def test_no_ephemeral_line_within_512_mb(catalog):
    c = only(run(catalog, arch="x86_64", requests_per_month=1000, avg_duration_ms=10, scratch_gib=0.5))
    assert not [ln for ln in c.lines if "ephemeral" in ln.item]


def test_egress_line_added(catalog):
    c = only(run(catalog, arch="x86_64", requests_per_month=1000, avg_duration_ms=10, egress_gib_month=200))
    egress = line(c, "data transfer out")
    assert egress.monthly_usd == pytest.approx(200 * 0.09)


# ------------------------------------------------------------------ memory, arch, candidate shape


@pytest.mark.parametrize(("fields", "memory", "source"), [
    ({"function_memory_mb": 300, "memory_gib": 4, "vcpu": 2}, 300, "function_memory_mb"),
    # The load model: one request in flight per vCPU, so an invocation gets 1 vCPU = 1,769 MB; the replica's
    # memory_gib is not an invocation's (a replica serves several requests at once).
    ({"memory_gib": 1.5}, 1769, "load_model"),
    ({"vcpu": 2, "memory_gib": 8}, 1769, "load_model"),
    ({"requests_in_flight_per_vcpu": 2}, 885, "load_model"),      # half a vCPU: ceil(884.5)
    ({"requests_in_flight_per_vcpu": 20}, 128, "minimum"),        # 89 MB is below Lambda's 128 MB
    ({}, 1769, "load_model"),
    ({"requests_in_flight_per_vcpu": 1 / 6}, 10240, "load_model"),  # 6 vCPU is documented at 10,240 MB
])
def test_memory_per_invocation(catalog, fields, memory, source):
    c = only(run(catalog, arch="x86_64", requests_per_month=1000, avg_duration_ms=10, **fields))
    assert c.config["memory_mb"] == memory
    assert c.config["memory_source"] == source
    assert c.config["memory_derived"] is (source != "function_memory_mb")


def on_demand(g: Generated) -> list:
    return [c for c in g.candidates if c.purchase_option == "on_demand"]


def test_arch_variants(catalog):
    both = run(catalog, requests_per_month=1000, avg_duration_ms=10)
    assert sorted(c.config["arch"] for c in on_demand(both)) == ["arm64", "x86_64"]
    assert [c.config["arch"] for c in on_demand(run(catalog, arch="arm64", requests_per_month=1,
                                                    avg_duration_ms=1))] == ["arm64"]
    assert [c.config["arch"] for c in on_demand(run(catalog, arch="x86_64", requests_per_month=1,
                                                    avg_duration_ms=1))] == ["x86_64"]
    assert len(on_demand(run(catalog, exhaustive=True, requests_per_month=1, avg_duration_ms=1))) == 2


def test_every_compute_savings_plan_is_priced(catalog):
    """Compute Savings Plans cover Lambda duration: 2 terms x 3 payments per arch, never above 17 % off."""
    g = run(catalog, arch="x86_64", **EXAMPLE)
    plans = [c for c in g.candidates if c.purchase_option == "savings_plan"]
    assert sorted((c.term, c.payment) for c in plans) == sorted(
        (t, p) for t in ("1yr", "3yr") for p in ("all_upfront", "no_upfront", "partial_upfront"))
    od = only(g)
    requests = line(od, "Lambda requests").monthly_usd
    duration = line(od, "Lambda duration").monthly_usd
    nu1 = next(c for c in plans if (c.term, c.payment) == ("1yr", "no_upfront"))
    # 1yr no upfront: the fixture's ratio 0.89 on duration, 12 months paid over a 12-month horizon
    assert line(nu1, "Lambda duration").monthly_usd == pytest.approx(duration * 0.89, abs=0.01)
    assert line(nu1, "Lambda requests").monthly_usd == requests
    for c in plans:
        assert line(c, "Lambda duration").monthly_usd >= duration * (1 - 0.17) - 0.01
        assert c.upfront_usd >= 0


def test_candidate_shape(catalog):
    c = only(run(catalog, arch="x86_64", **EXAMPLE))
    assert c.service == "lambda" == aws_lambda.SERVICE.value
    assert aws_lambda.SERVICE is Service.aws_lambda
    assert (c.purchase_option, c.ops_effort, c.interruption_risk) == ("on_demand", "low", "none")
    assert c.instance_type is None and c.count == 1 and c.upfront_usd == 0
    assert c.unit_size == pytest.approx(512 / 1769)
    assert c.estimates == ()
    assert c.config["arch"] == "x86_64"


def test_concurrency_quota_note(catalog):
    # 3e9 requests x 1 s / (730 x 3600 s) = 1,141.6 concurrent on average: kept, with a note
    c = only(run(catalog, arch="x86_64", function_memory_mb=128, requests_per_month=3e9, avg_duration_ms=1000))
    assert c.config["avg_concurrency"] == pytest.approx(3e9 / 2_628_000, abs=1e-3)
    assert any("needs a concurrency quota increase" in n for n in c.config["notes"])
    quiet = only(run(catalog, arch="x86_64", **EXAMPLE))
    assert not any("concurrency" in n for n in quiet.config["notes"])


def test_region_estimates(catalog):
    g = run(catalog, region="eu-west-1", **EXAMPLE)
    assert only(g, "x86_64").estimates == ()            # listed for eu-west-1
    assert only(g, "arm64").estimates == ()             # Lambda's one price table covers eu-west-1
    opt_in = run(catalog, region="af-south-1", **EXAMPLE)  # an opt-in region, priced higher: scaled, an estimate
    assert "Lambda duration arm64" in only(opt_in, "arm64").estimates
    assert any(ln.estimate for ln in only(opt_in, "arm64").lines)


# ------------------------------------------------------------------ rejections


def test_not_request_shaped(catalog):
    g = run(catalog, vcpu=1, memory_gib=2)
    assert not g.candidates
    assert reasons(g) == {"no_request_profile"}
    assert "requests_per_month" in g.rejections[0].message


def test_twenty_minute_request_rejected(catalog):
    g = run(catalog, requests_per_month=1000, avg_duration_ms=20 * 60 * 1000)
    assert not g.candidates
    assert reasons(g) == {"lambda_timeout_exceeded"}
    msg = g.rejections[0].message
    assert "1,200 s" in msg and "900 s" in msg and "Fargate" in msg and "Batch" in msg


def test_exactly_900_seconds_allowed(catalog):
    assert run(catalog, requests_per_month=1000, avg_duration_ms=900_000).candidates


@pytest.mark.parametrize(("fields", "reason"), [
    ({"requests_in_flight_per_vcpu": 0.1}, "lambda_vcpu_exceeded"),
    ({"gpus": 1}, "gpu_unsupported"),
    ({"stateful": True}, "stateful_unsupported"),
    ({"storage_gib": 10}, "no_block_storage"),
    ({"scratch_gib": 11}, "lambda_scratch_exceeded"),
    ({"region": "xx-nowhere-1"}, "price_missing"),
    ({"packaging": "vm"}, "packaging_mismatch"),
    ({"os": "windows"}, "os_unsupported"),
    ({"allowed_services": "ec2"}, "service_not_allowed"),
])
def test_each_rejection_reason(catalog, fields, reason):
    g = run(catalog, requests_per_month=1000, avg_duration_ms=100, **fields)
    assert not g.candidates
    assert reason in reasons(g)
    assert all(r.service == "lambda" and r.message for r in g.rejections)


def test_replica_vcpu_is_not_an_invocations(catalog):
    """An 8-vCPU replica serves 8 requests at once (one per vCPU): each invocation needs 1 vCPU, not 8."""
    g = run(catalog, requests_per_month=1000, avg_duration_ms=100, vcpu=8, memory_gib=12)
    assert "lambda_vcpu_exceeded" not in reasons(g) and g.candidates
    assert run(catalog, requests_per_month=1000, avg_duration_ms=100, requests_in_flight_per_vcpu=1 / 6.5
               ).rejections[0].reason == "lambda_vcpu_exceeded"


def test_every_broken_limit_is_reported(catalog):
    g = run(catalog, requests_per_month=1000, avg_duration_ms=1_000_000, requests_in_flight_per_vcpu=0.1,
            stateful=True, storage_gib=5)
    assert reasons(g) == {"lambda_timeout_exceeded", "lambda_vcpu_exceeded", "stateful_unsupported",
                          "no_block_storage"}


def test_gpu_is_a_whole_service_rule(catalog):
    """GPUs are rejected by the one rule table (rules.py) before Lambda's own limits are checked."""
    g = run(catalog, requests_per_month=1000, avg_duration_ms=100, gpus=1)
    assert reasons(g) == {"gpu_unsupported"}
