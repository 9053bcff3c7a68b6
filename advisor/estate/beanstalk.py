"""Elastic Beanstalk for many workloads: its candidates are the EC2 rows the grid path already costs.

Beanstalk runs one replica per EC2 instance with every EC2 purchase option (beanstalk.generate calls
the same fitting_types, allowed_options and instance_candidates as EC2, on the same instance spec),
so its kept rows are EC2's, for the same instances and hours: the web tier for a request profile
(replicas x schedule), the worker tier for jobs (the concurrency the deadline needs, whole waves),
as ec2.usage gives them. Only its ops effort (low) and its own lines differ: the web tier's load
balancer when `needs_load_balancer` holds for max(replicas, peak), the worker tier's SQS requests.
A workload with neither profile, or GPUs, has no Beanstalk candidate (workload_shape_mismatch).
"""

from __future__ import annotations

import polars as pl

from advisor.candidates import beanstalk, costs, jobs
from advisor.candidates.base import Context
from advisor.errors import FactMissing
from advisor.estate.gates import served
from advisor.estate.priced import rounded_sum
from advisor.pricing import money_expr
from models.workload import Service, Workload

OPS_EFFORT = "low"  # beanstalk.generate's


def extra_usd(w: Workload, ctx: Context) -> float | None:
    """The rounded sum of the lines Beanstalk adds to its instances for `w` (the workload the load model
    carried), or None when it has no candidate."""
    if Service.beanstalk not in served(w) or w.gpus > 0 or not (w.request_shaped or w.job_shaped):
        return None
    try:
        if w.job_shaped:
            plan = jobs.plan(w)
            if isinstance(plan, str):
                return None
            count = max(plan.concurrency, 1)
            return rounded_sum(beanstalk._worker_lines(ctx, w, count, plan.hours_each(count), plan.jobs))
        balanced = costs.needs_load_balancer(w, max(w.replicas, w.peak))
        return rounded_sum(costs.load_balancer_lines(ctx.catalog, w) if balanced else [])
    except FactMissing:
        return None  # the registry's price_missing: no Beanstalk candidate


def from_ec2_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Beanstalk's rows from the EC2 candidate rows (columns of ec2._lines, with `lb_usd`, the EC2
    candidate's load balancer lines, and `beanstalk_usd`, extra_usd or null)."""
    return (rows.filter(pl.col("beanstalk_usd").is_not_null())
            .with_columns(service=pl.lit(Service.beanstalk.value), ops_effort=pl.lit(OPS_EFFORT),
                          monthly_usd=money_expr(pl.col("monthly_usd") - pl.col("lb_usd") + pl.col("beanstalk_usd"))))
