"""Lightsail candidates: bundle fit (including the CPU baseline), exact prices, transfer overage, rejections."""

from __future__ import annotations

import pytest

from advisor.candidates import lightsail
from advisor.candidates.base import Context, Generated
from advisor.catalog.store import load_catalog
from models.workload import Service, Workload

QUIET = dict(vcpu=1, memory_gib=1, cpu_utilization=0.05, storage_gib=20)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def run(catalog, exhaustive: bool = False, **fields) -> Generated:
    fields.setdefault("id", "site")
    return lightsail.generate(Workload(**fields), Context(catalog), exhaustive=exhaustive)


def reasons(g: Generated) -> set[str]:
    return {r.reason for r in g.rejections}


def by_bundle(g: Generated) -> dict:
    return {c.instance_type: c for c in g.candidates}


# ------------------------------------------------------------------ fit and price


def test_quiet_website_gets_cheapest_fitting_bundle(catalog):
    g = run(catalog, **QUIET)
    assert not g.rejections
    best = g.candidates[0]
    # $5 bundle has 0.5 GB of memory; $7 (2 vCPU, 1 GB, 40 GB, 10 % baseline = 0.2 vCPU >= 0.05) fits
    assert best.instance_type == "linux_general_2vcpu_1gb"
    assert best.monthly_usd == 7.00
    assert best.count == 1
    assert (best.service, best.purchase_option, best.ops_effort, best.interruption_risk) == \
        ("lightsail", "on_demand", "medium", "none")
    assert best.config["bundle_id"] == "linux_general_2vcpu_1gb" and best.config["ipv4"] is True
    assert best.unit_size == 2.0
    assert best.estimates == ()
    assert "$7/month" in best.lines[0].item


def test_generator_identity():
    assert lightsail.SERVICE is Service.lightsail


def test_replicas_multiply_and_schedule_does_not_reduce(catalog):
    c = run(catalog, replicas=3, hours_per_month=100, **QUIET).candidates[0]
    assert c.count == 3
    assert c.monthly_usd == 21.00
    assert "x3" in c.lines[0].item and "billed while stopped" in c.lines[0].item


def test_disk_counts_storage_and_scratch(catalog):
    # 50 + 20 = 70 GiB: the 40 GB and 60 GB bundles are too small; the $24 bundle has 80 GB
    c = run(catalog, vcpu=1, memory_gib=1, cpu_utilization=0.05, storage_gib=50, scratch_gib=20).candidates[0]
    assert c.instance_type == "linux_general_2vcpu_4gb" and c.monthly_usd == 24.00


def test_windows_bundle_price(catalog):
    c = run(catalog, os="windows", **QUIET).candidates[0]
    assert c.instance_type == "windows_general_2vcpu_1gb"
    assert c.monthly_usd == 14.00
    smallest = run(catalog, os="windows", vcpu=1, memory_gib=0.5, cpu_utilization=0.01).candidates[0]
    assert smallest.instance_type == "windows_general_2vcpu_0.5gb" and smallest.monthly_usd == 9.50


def test_baseline_excludes_small_bundles_for_a_busy_two_vcpu(catalog):
    # 2 vCPU at 100 % = 2 vCPU sustained. 2-vCPU bundles sustain at most 30 % x 2 = 0.6 vCPU and the
    # 4 vCPU bundle 40 % x 4 = 1.6; the 8 vCPU bundle sustains 40 % x 8 = 3.2 vCPU, so it is the answer.
    g = run(catalog, exhaustive=True, vcpu=2, memory_gib=1, cpu_utilization=1.0)
    bundles = by_bundle(g)
    assert not [b for b in bundles if "_2vcpu_" in b or "_4vcpu_" in b]
    assert g.candidates[0].instance_type == "linux_general_8vcpu_32gb"
    assert g.candidates[0].monthly_usd == 164.00


def test_busy_workload_rejected_on_baseline(catalog):
    # 8 vCPU at 100 %: the best published baseline is 40 % x 16 = 6.4 vCPU; larger bundles publish none
    g = run(catalog, vcpu=8, memory_gib=8, cpu_utilization=1.0)
    assert not g.candidates
    assert reasons(g) == {"lightsail_cpu_baseline"}
    msg = g.rejections[0].message
    assert "8 vCPU sustained" in msg and "6.4 vCPU" in msg and "EC2" in msg


def test_baseline_bound_is_inclusive(catalog):
    # the $44 bundle sustains 30 % x 2 = 0.6 vCPU: 2 vCPU at 30 % fits, at 31 % it does not
    g = run(catalog, exhaustive=True, vcpu=2, memory_gib=1, cpu_utilization=0.31)
    assert "linux_general_2vcpu_8gb" not in by_bundle(g)  # 30 % x 2 = 0.6 < 0.62
    ok = run(catalog, exhaustive=True, vcpu=2, memory_gib=1, cpu_utilization=0.30)
    assert "linux_general_2vcpu_8gb" in by_bundle(ok)     # 0.6 <= 0.6


def test_null_baseline_bundles_not_offered(catalog):
    g = run(catalog, exhaustive=True, vcpu=2, memory_gib=16, cpu_utilization=0.05)
    kinds = {c.config["kind"] for c in g.candidates}
    assert kinds == {"general"}  # memory-/compute-optimized plans publish no baseline
    assert all(c.config["cpu_baseline_share"] is not None for c in g.candidates)


def test_bundle_documented_without_burst_accrual_counts_as_full_baseline(catalog, monkeypatch):
    real = lightsail.bundles
    extra = {"id": "linux_compute_test", "os": "linux", "kind": "compute", "usd_per_month_ipv4": 30,
             "vcpu": 2, "memory_gib": 4, "ssd_gib": 80, "transfer_tib": 4, "cpu_baseline_share": None,
             "accrues_burst": False}
    monkeypatch.setattr(lightsail, "bundles", lambda ctx, os: [*real(ctx, os), extra])
    g = run(catalog, vcpu=2, memory_gib=2, cpu_utilization=1.0)
    assert g.candidates[0].instance_type == "linux_compute_test"
    assert g.candidates[0].monthly_usd == 30.00


# ------------------------------------------------------------------ selection


def test_useful_keeps_cheapest_and_cheapest_per_kind(catalog, monkeypatch):
    real = lightsail.bundles
    extra = [{"id": f"linux_memory_test{i}", "os": "linux", "kind": "memory", "usd_per_month_ipv4": 50 + i,
              "vcpu": 2, "memory_gib": 16, "ssd_gib": 160, "transfer_tib": 5, "cpu_baseline_share": 0.5}
             for i in range(3)]
    monkeypatch.setattr(lightsail, "bundles", lambda ctx, os: [*real(ctx, os), *extra])
    g = run(catalog, **QUIET)
    assert [c.instance_type for c in g.candidates] == ["linux_general_2vcpu_1gb", "linux_memory_test0"]
    every = run(catalog, exhaustive=True, **QUIET)
    assert len(every.candidates) > len(g.candidates)
    assert {"linux_memory_test0", "linux_memory_test1", "linux_memory_test2"} <= set(by_bundle(every))


def test_exhaustive_lists_every_fitting_bundle(catalog):
    every = run(catalog, exhaustive=True, **QUIET)
    # every general Linux bundle with >= 1 GB and a published baseline >= 0.05 vCPU: $7 ... $384
    assert sorted(c.monthly_usd for c in every.candidates) == [7, 12, 24, 44, 84, 164, 384]
    assert [c.monthly_usd for c in every.candidates] == sorted(c.monthly_usd for c in every.candidates)


# ------------------------------------------------------------------ transfer overage


def test_overage_exact(catalog):
    # 2,500 GB out: the $7 bundle's 2 TB = 2,048 GB allowance leaves 452 GB x $0.09 = $40.68
    every = by_bundle(run(catalog, exhaustive=True, egress_gib_month=2500, **QUIET))
    small = every["linux_general_2vcpu_1gb"]
    assert small.lines[1].monthly_usd == pytest.approx(452 * 0.09)
    assert small.monthly_usd == 47.68
    assert "452 GB x $0.09/GB" in small.lines[1].item and "1 TB = 1024 GB" in small.lines[1].item
    assert len(every["linux_general_2vcpu_2gb"].lines) == 1  # 3 TB covers it
    # so the cheapest is the $12 bundle, whose larger allowance avoids the overage
    best = run(catalog, egress_gib_month=2500, **QUIET).candidates[0]
    assert best.instance_type == "linux_general_2vcpu_2gb" and best.monthly_usd == 12.00


def test_overage_pools_replicas_and_uses_regional_rate(catalog):
    # 2 x 2,048 GB = 4,096 GB allowance; 5,000 GB out leaves 904 GB at Sydney's $0.17
    every = by_bundle(run(catalog, exhaustive=True, region="ap-southeast-2", replicas=2, egress_gib_month=5000,
                          **QUIET))
    c = every["linux_general_2vcpu_1gb"]
    assert c.lines[1].monthly_usd == pytest.approx(904 * 0.17)
    assert not c.lines[1].estimate
    assert c.monthly_usd == pytest.approx(14 + 153.68)
    assert any("inbound" in n for n in c.config["notes"])


# ------------------------------------------------------------------ regions


def test_region_outside_us_east_1_is_an_estimate(catalog):
    c = run(catalog, region="eu-west-1", **QUIET).candidates[0]
    assert c.monthly_usd == 7.00
    assert c.lines[0].estimate and c.estimates
    assert not any("not among" in n for n in c.config["notes"])


def test_region_without_lightsail_is_noted(catalog):
    c = run(catalog, region="sa-east-1", **QUIET).candidates[0]
    assert any("not among the Lightsail regions" in n for n in c.config["notes"])


def test_region_without_any_price(catalog):
    g = run(catalog, region="xx-nowhere-1", **QUIET)
    assert not g.candidates and reasons(g) == {"price_missing"}


# ------------------------------------------------------------------ rejections


def test_arm64_rejected(catalog):
    g = run(catalog, arch="arm64", **QUIET)
    assert not g.candidates and reasons(g) == {"arch_unavailable"}
    assert "x86_64" in g.rejections[0].message


def test_x86_and_any_accepted(catalog):
    assert run(catalog, arch="x86_64", **QUIET).candidates
    assert run(catalog, arch="any", **QUIET).candidates


def test_gpu_rejected(catalog):
    g = run(catalog, gpus=1, **QUIET)
    assert not g.candidates and reasons(g) == {"gpu_unsupported"}


@pytest.mark.parametrize(("fields", "word"), [
    ({"vcpu": 100, "memory_gib": 1}, "100 vCPU"),
    ({"vcpu": 1, "memory_gib": 1000}, "1000 GiB of memory"),
    ({"vcpu": 1, "memory_gib": 1, "storage_gib": 2000}, "2000 GiB of SSD"),
])
def test_no_fit_names_the_requirement(catalog, fields, word):
    g = run(catalog, cpu_utilization=0.01, **fields)
    assert not g.candidates
    assert reasons(g) == {"lightsail_no_fit"}
    assert word in g.rejections[0].message


def test_gate_runs_first(catalog):
    g = run(catalog, os="rhel", **QUIET)
    assert reasons(g) == {"os_unsupported"}
    g = run(catalog, tenancy="dedicated", **QUIET)
    assert reasons(g) == {"tenancy_unsupported"}
