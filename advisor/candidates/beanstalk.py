"""Elastic Beanstalk: the web tier (instances + an Application Load Balancer, or a single instance)
and the worker tier (instances + the SQS queue its daemon polls). Beanstalk adds no fee.

Instances are EC2 instances, so every EC2 purchase option applies to them. The ALB's LCUs and the
worker's SQS requests are estimated from the workload's profile, and labelled estimates.
"""

from __future__ import annotations

import math

from advisor.candidates import costs, jobs
from advisor.candidates.applicability import gate
from advisor.candidates.base import Context, Generated, Line
from advisor.candidates.ec2 import (
    _reject_options,
    allowed_options,
    fitting_types,
    instance_candidates,
)
from advisor.candidates.regional import regional
from models.workload import Service, Workload

SERVICE = Service.beanstalk
# sqsd long-polls with a 20 s wait: 3 receive calls a minute per instance when the queue is empty.
IDLE_RECEIVES_PER_INSTANCE_HOUR = 180
REQUESTS_PER_JOB = 3  # send, receive, delete


def generate(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    g = Generated()
    if (rejection := gate(SERVICE, w)) is not None:
        return g.reject(rejection.service, rejection.option, rejection.reason, rejection.message)
    if w.gpus > 0 or not (w.request_shaped or w.job_shaped):
        # Beanstalk's web tier serves requests behind a load balancer and its worker tier runs jobs from
        # a queue; GPU work and services with neither profile have no tier whose shape fits.
        what = "GPU work" if w.gpus > 0 else "a service with neither a request nor a job profile"
        return g.reject(SERVICE.value, None, "workload_shape_mismatch",
                        f"Elastic Beanstalk's web tier serves requests and its worker tier runs queued jobs; "
                        f"{what} fits neither: run it on EC2, ECS or EKS")
    types = fitting_types(ctx, w, g, SERVICE.value)
    if types is None:
        return g
    _reject_options(w, g, SERVICE.value)
    if w.job_shaped:
        plan = jobs.plan(w)
        if isinstance(plan, str):
            return g.reject(SERVICE.value, None, "job_longer_than_deadline", plan)
        # The worker environment scales on queue depth: instances run while the month's jobs run.
        count = max(plan.concurrency, 1)
        hours = plan.hours_each(count)
        extra = _worker_lines(ctx, w, count, hours, plan.jobs)
        cfg = {"tier": "worker", "queue": "sqs", "scaling": "on queue depth"}
    else:
        count, hours = w.replicas, w.hours_per_month
        balanced = costs.needs_load_balancer(w, max(w.replicas, w.peak))
        extra = costs.load_balancer_lines(ctx.catalog, w) if balanced else []
        cfg = {"tier": "web", "load_balancer": "alb" if balanced else "none (single instance)"}
    return instance_candidates(SERVICE.value, w, ctx, g, types, count, hours, allowed_options(w),
                               ops_effort="low", exhaustive=exhaustive, extra_lines=extra, config=cfg)


def _worker_lines(ctx: Context, w: Workload, instances: int, hours: float, job_count: int) -> list[Line]:
    catalog = ctx.catalog
    rate = regional(catalog, "beanstalk.sqs_standard_usd_per_million", w.region)
    requests = job_count * REQUESTS_PER_JOB + instances * IDLE_RECEIVES_PER_INSTANCE_HOUR * hours
    free = catalog.facts.value("beanstalk.sqs_free_requests_per_month") if ctx.include_free_tier else 0
    billable = max(0.0, requests - free)
    note = f" - {free:,.0f} free" if free else ""
    return [Line(f"SQS {math.ceil(requests):,} requests{note} x ${rate.value:g}/M (jobs x3 + idle long polls)",
                 billable / 1e6 * rate.value, True)]
