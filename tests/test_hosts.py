"""Dedicated Host frontiers: host counts and rates from the facts, the prune, and many at once = one at a time."""

from __future__ import annotations

import math
import random

import polars as pl
import pytest

from advisor.candidates import ec2
from advisor.candidates.base import Context, Generated
from advisor.candidates.hosts import HostSpec, host_frontiers
from models.workload import Workload

WORKLOADS = [
    {"region": "us-east-1", "os": "linux", "vcpu": 2, "memory_gib": 8, "replicas": 5, "tenancy": "host"},
    {"region": "us-east-1", "os": "windows", "vcpu": 4, "memory_gib": 16, "replicas": 3, "tenancy": "dedicated",
     "horizon_months": 40},
    {"region": "us-east-1", "os": "windows", "vcpu": 7.5, "memory_gib": 30, "replicas": 1, "byol": True},
    {"region": "eu-west-1", "os": "linux", "vcpu": 1, "memory_gib": 2, "replicas": 60, "tenancy": "host",
     "max_upfront_usd": 1000},
    {"region": "eu-west-1", "os": "rhel", "vcpu": 16, "memory_gib": 64, "replicas": 2, "tenancy": "dedicated",
     "spread": "none", "scratch_gib": 400},
    {"region": "us-east-1", "os": "linux", "vcpu": 2, "memory_gib": 8, "replicas": 5, "tenancy": "host",
     "horizon_months": 7},
]


def spec_of(catalog, fields: dict, exhaustive: bool = False) -> HostSpec:
    w = Workload.model_validate({"id": "w", **fields})
    types = ec2.fitting_types(Context(catalog), w, Generated(), "ec2")
    count, _ = ec2.usage(w)
    return ec2.host_spec(w, types, count, exhaustive)


@pytest.fixture(scope="module")
def specs(catalog):
    return [spec_of(catalog, f, exhaustive) for f in WORKLOADS for exhaustive in (False, True)]


def test_many_frontiers_at_once_are_each_computed_alone(catalog, specs):
    together = host_frontiers(catalog, specs)
    for spec in specs:
        alone = host_frontiers(catalog, [spec])[spec]
        assert not alone.is_empty()
        assert together[spec].equals(alone)  # same rows, same order, same costs


def test_hosts_and_rates_follow_the_facts(catalog, specs):
    """hosts = max(ceil(instances / per host), the spread's fewest); on-demand host rate = the family's largest
    size's on-demand rate (Linux for BYOL) x the rule's multiplier; compute = rate x 730 h x hosts."""
    facts = [*catalog.facts.value("tenancy.dedicated_host_capacity"), catalog.facts.value(
        "tenancy.dedicated_host_capacity_r5")]
    capacity = {}
    for c in facts:
        capacity.setdefault(c["family"], c["instances"])
    multiplier = catalog.facts.value("tenancy.dedicated_host_price_rule")["multiplier"]
    od = catalog.on_demand
    checked = 0
    for spec in specs:
        rows = host_frontiers(catalog, [spec])[spec].filter(pl.col("purchase_option") == "on_demand")
        for row in rows.iter_rows(named=True):
            sizes = capacity[row["host_family"]]
            largest = min(sizes, key=sizes.get)
            price = od.filter((pl.col("instance_type") == f"{row['host_family']}.{largest}")
                              & (pl.col("region") == spec.instance.region)
                              & (pl.col("os") == ("linux" if spec.byol else spec.instance.os)))["usd_per_hour"].item()
            per_host = sizes[row["instance_type"].split(".", 1)[1]]
            assert row["per_host"] == per_host
            assert row["hosts"] == max(math.ceil(spec.count / per_host), spec.fewest)
            assert row["usd_per_hour"] == pytest.approx(round(price * multiplier, 6), abs=1e-9)
            assert row["compute_monthly"] == pytest.approx(row["usd_per_hour"] * 730 * row["hosts"], rel=1e-12)
            checked += 1
    assert checked > 20


def test_the_prune_keeps_each_option_groups_rows_within_a_cent(catalog, specs):
    """Without an upfront cap, the pruned frontier is, per purchase option, every row of the exhaustive one
    within a cent of that option's cheapest (ties reach the tie-break)."""
    for spec, every in zip(specs[::2], specs[1::2], strict=True):  # (pruned, exhaustive) of each workload
        if spec.instance.frontier:
            continue
        full = host_frontiers(catalog, [every])[every]
        expected = full.filter(pl.col("monthly_total") <= pl.col("monthly_total").min().over("option_id") + 0.01)
        got = host_frontiers(catalog, [spec])[spec]
        key = ["option_id", "instance_type"]
        assert sorted(got.select(key).iter_rows()) == sorted(expected.select(key).iter_rows())
        assert got.height < full.height


def test_the_estates_fleets_are_the_fitting_types_a_host_holds(catalog):
    """estate/hosts.fleets (one array comparison for many workloads) gives each workload the rows
    spec_fleets gets from its own `fitting_types`: same types, order and columns. Workloads differ in
    size, architecture, generation setting, instances and spread; some fit nothing. (The facts' host
    families are all current-generation and x86, so the generation setting changes nothing here.)"""
    from advisor.candidates.hosts import host_sizes, spec_fleets
    from advisor.candidates.instances import offered
    from advisor.estate.hosts import NO_TYPES, fleets

    rng = random.Random(7)
    for region, os in (("us-east-1", "linux"), ("eu-west-1", "windows"), ("ap-south-1", "rhel")):
        fields = [{"region": region, "os": os, "tenancy": "dedicated", "vcpu": rng.choice([0.5, 1, 2, 3, 7.5, 16, 48]),
                   "memory_gib": rng.choice([0.5, 2, 7, 30, 100, 380]), "replicas": rng.randint(1, 40),
                   "arch": rng.choice(["any", "x86_64", "arm64"]), "allow_previous_generation": rng.random() < 0.3,
                   "spread": rng.choice(["none", "node", "az"])} for _ in range(40)]
        fields.append({"region": region, "os": os, "tenancy": "dedicated", "vcpu": 900, "memory_gib": 1})
        expected, given = [], []
        for f in fields:
            w = Workload.model_validate({"id": "w", **f})
            types = ec2.fitting_types(Context(catalog), w, Generated(), "ec2")
            count, _ = ec2.usage(w)
            expected.append(ec2.host_spec(w, offered(catalog, region, os).clear() if types is None else types, count,
                                          False))
            given.append(ec2.host_spec(w, NO_TYPES, count, False))
        want = spec_fleets(expected, host_sizes(catalog, region, os))
        got = fleets(catalog, region, os, given)
        assert got["spec_id"].max() < len(fields) - 1  # the last fits nothing
        assert got.height > 200
        assert got.equals(want.select(got.columns))
        assert set(got.columns) == set(want.columns)
