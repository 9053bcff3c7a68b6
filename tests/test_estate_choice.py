"""The estate's choice reads only the rows `leading` keeps: the same answers from them as from all rows."""

from __future__ import annotations

import random

import polars as pl
import pytest

from advisor.estate.choice import choose, leading
from advisor.estate.ec2 import CHOICE

SERVICES = {"ec2": "high", "ecs_ec2": "medium", "eks_ec2": "medium", "ecs_fargate": "low", "lambda": "low",
            "beanstalk": "low", "lightsail": "medium"}
OPTIONS = [("on_demand", None, None), ("spot", None, None), ("capacity_reservation", None, None),
           ("reserved", "1yr", "no_upfront"), ("reserved", "3yr", "all_upfront"), ("savings_plan", "1yr", "no_upfront")]


def _candidates(seed: int, workloads: int) -> pl.DataFrame:
    """Candidate rows as the estate builds them, priced from a few cent values so that costs tie often
    across types, options and services; some workloads have a monthly cap, a capacity guarantee, or no EC2."""
    rng = random.Random(seed)
    rows = []
    for idx in range(workloads):
        cap = rng.choice([None, None, 10.0, 25.5, 40.0])
        guarantee, ec2, ops = rng.random() < 0.2, rng.random() < 0.8, rng.choice(["balanced", "managed", "control"])
        for service in rng.sample(sorted(SERVICES), rng.randint(1, 5)):
            for _ in range(rng.randint(1, 9)):
                option, term, payment = rng.choice(OPTIONS)
                tenancy = rng.choice(["shared", "shared", "dedicated", "host"]) if service == "ec2" else "shared"
                size = rng.choice([1, 2, 4])
                rows.append({
                    "idx": idx, "service": service, "instance_type": f"m{rng.randint(5, 7)}.{size}x",
                    "unit_size": float(size), "count": rng.randint(1, 3), "purchase_option": option, "term": term,
                    "offering_class": "standard" if option == "reserved" else None,
                    "plan_type": "compute" if option == "savings_plan" else None, "payment": payment,
                    "tenancy": tenancy, "monthly_usd": rng.choice([9.99, 10.0, 12.5, 25.5, 30.0, 30.01, 44.0]),
                    "upfront_usd": 0.0, "ops_effort": SERVICES[service], "region": "us-east-1", "os": "linux",
                    "replicas": 1, "capacity_guarantee": guarantee, "max_monthly_usd": cap, "ops": ops,
                    "lb_usd": 0.0, "beanstalk_usd": None, "ec2": ec2})
    # One row per service, type and option, as in the estate (a type's option has one price).
    key = ["idx", "service", "instance_type", "purchase_option", "term", "payment", "tenancy"]
    return pl.DataFrame(rows, infer_schema_length=None).unique(key, keep="first", maintain_order=True)


@pytest.mark.parametrize("seed", range(8))
def test_the_choice_from_the_leading_rows_is_the_choice_from_all(catalog, seed):
    """Choice, alternative, baseline, savings and over-budget answers: each a wrong `leading` changes (one
    row per service loses the alternative; no baseline rows lose a capacity guarantee's or a host's)."""
    rows = _candidates(seed, 300)
    risk = pl.DataFrame(schema={"instance_type": pl.String, "interruption_label": pl.String, "region": pl.String,
                                "os": pl.String})
    kept = leading(rows, CHOICE)  # the workload's columns, as the EC2 rows carry them
    assert kept.height < rows.height
    assert choose(kept, catalog, risk).equals(choose(rows, catalog, risk))
