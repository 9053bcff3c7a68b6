"""The services the vectorized path prices beside EC2 and Lightsail, precomputed for a chunk of
workloads: ECS/EKS on Fargate (fargate.py), Lambda (lambda_.py), Batch (batch.py). Beanstalk's rows
come from the EC2 rows (beanstalk.py), so ec2._answer_batch adds them itself."""

from __future__ import annotations

import polars as pl

from advisor.catalog.store import Catalog
from advisor.estate import batch, fargate, lambda_
from advisor.estate.priced import Priced
from models.workload import Workload

MODULES = (fargate, lambda_, batch)


def candidates(workloads: dict[int, Workload], catalog: Catalog, include_free_tier: bool) -> Priced:
    """Every module's candidate rows, and the union of the workloads they leave to the per-shape path."""
    got = [m.candidates(workloads, catalog, include_free_tier) for m in MODULES]
    fallback = set().union(*(p.fallback for p in got))
    frame = pl.concat([p.frame for p in got])
    return Priced(frame.filter(~pl.col("idx").is_in(list(fallback))), fallback)
