"""The node frontier's lower bound (candidates/bounds.py): it may only skip rows the prune would drop."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from advisor.candidates.frontiers import NodeSpec, OptionRules, node_frontiers
from advisor.candidates.instances import cost_columns, prune, rank_key, rank_multiplier
from advisor.catalog import rates


def test_rank_key_times_its_multiplier_is_the_compute_cost_columns_gives(catalog):
    """The bound's product against cost_columns on every option of a region's rate table: a multiplier
    off by a term (horizon 13 buys two 1-year terms) or by the reservation's always-on hours fails."""
    table = rates.rate_table(catalog, "eu-west-1", "linux", "shared").filter(pl.col("usd_per_hour") > 0)
    rng = np.random.default_rng(7)
    frame = table.with_columns(count=pl.Series(rng.integers(1, 40, table.height)),
                               hours=pl.Series(rng.uniform(1, 730, table.height)),
                               horizon=pl.Series(rng.choice([1, 11, 12, 13, 36, 37, 60], table.height)))
    got = np.concatenate([
        part.select(rank_key()).to_series().to_numpy()
        * rank_multiplier(option, term, part["count"].to_numpy().astype(float), part["hours"].to_numpy(),
                          part["horizon"].to_numpy().astype(float))
        for (option, term), part in frame.partition_by("purchase_option", "term", as_dict=True).items()])
    want = pl.concat([p for p in frame.partition_by("purchase_option", "term")]).pipe(cost_columns)["compute_monthly"]
    assert set(frame["purchase_option"]) >= {"on_demand", "spot", "capacity_reservation", "reserved", "savings_plan"}
    np.testing.assert_allclose(got, want.to_numpy(), rtol=1e-12)


def _specs(seed: int, n: int) -> list[NodeSpec]:
    """Random node specs of one service, region, OS and tenancy (one chunk): replicas and jobs, scratch
    disks (EBS where a node's store is short, an extra the bound leaves out), public nodes, every option rule."""
    rng = random.Random(seed)
    service = rng.choice(["ecs_ec2", "eks_ec2", "batch"])
    tenancy = rng.choice(["shared", "shared", "dedicated"])
    rules = [OptionRules(), OptionRules(spot=True), OptionRules(spot=True, no_capacity_reservation=True),
             OptionRules(reservation_only=True), OptionRules(usage_only=True, spot=True)]
    specs = []
    for _ in range(n):
        job = rng.random() < 0.6
        units = rng.randint(1, 60)
        specs.append(NodeSpec(
            service=service, region="us-east-1", os="linux", arch=rng.choice(["any", "x86_64", "arm64"]),
            tenancy=tenancy, vcpu=rng.choice([0.25, 0.5, 1, 1.7, 2, 3.3, 4, 8]),
            memory_gib=rng.choice([0.5, 1, 2.2, 4, 7.5, 16, 30]), gpus=0, gpu_model=None, units=units,
            replicas=units, hours=rng.uniform(5, 730), jobs=rng.randint(1, 5000) if job else None,
            job_hours=rng.uniform(0.05, 6) if job else None, scratch_gib=rng.choice([0, 0, 50, 400, 2000]),
            horizon=rng.choice([1, 12, 13, 36, 40]), options=rng.choice(rules), frontier=False,
            public=rng.random() < 0.5, exhaustive=False, max_per_node=rng.choice([0, 0, 2, 5])))
    return specs


@pytest.mark.parametrize("seed", range(6))
def test_bounded_frontiers_are_the_prune_of_every_row(catalog, seed):
    """Against brute force: every (type, option) row costed (exhaustive specs keep them all), then each
    option group's rows within a cent of its cheapest; the bounded frontier must be exactly those rows."""
    specs = _specs(seed, 12)
    got = node_frontiers(catalog, specs)
    everything = node_frontiers(catalog, [replace(s, exhaustive=True) for s in specs])
    for spec in specs:
        want = prune(everything[replace(spec, exhaustive=True)], ["option_id"], frontier=False)
        key = ["option_id", "instance_type"]
        assert got[spec].select(*key, "monthly_total").sort(key).equals(
            want.select(*key, "monthly_total").sort(key)), spec
