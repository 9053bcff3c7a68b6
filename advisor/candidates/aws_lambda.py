"""AWS Lambda: a request-shaped workload priced per request and per GB-second, x86_64 and arm64.

Only workloads with `requests_per_month` and `avg_duration_ms` are candidates. Hard limits come from
data/facts/lambda.json: 900 s timeout, 128-10,240 MB memory, 6 vCPU, 10,240 MB ephemeral /tmp, no GPU,
no block storage, no state kept between invocations.

Memory of one invocation (MB), in this order:
  1. `function_memory_mb` when given (the contract's "memory one invocation needs");
  2. otherwise the load model's share of a vCPU per request in flight (README "The load model"): an
     instance option gives each request in flight 1 / requests_in_flight_per_vcpu vCPU, so a function
     gets the same CPU: ceil(1,769 MB x that share) (Lambda gives one vCPU per 1,769 MB), at least
     128 MB. The replica's memory_gib is not an invocation's: a replica serves several requests at once.
     More than 6 vCPU per request is `lambda_vcpu_exceeded`.
  The candidate's config says which input decided it (`memory_source`) and whether it was derived.

Compute Savings Plans cover Lambda duration (not requests): every term and payment is priced as its
own candidate (service_plans.py; the discount is capped at AWS's "up to 17 percent").

Cost per month (us-east-1 list; other regions through `regional`, labelled estimates where scaled):
  requests x $0.20 per 1M
  + GB-seconds = requests x billed seconds x memory_mb / 1024, over the architecture's cumulative tiers
  + ephemeral storage configured above the free 512 MB: (scratch_mb - 512) / 1024 GB x billed seconds
    x requests x the ephemeral GB-second price
  + data transfer out (costs.egress_line).
Billing is per 1 ms: the average duration is rounded up to a whole ms and taken as every request's
billed duration (an approximation: real durations vary around the average).
The always-free allowance (1M requests, 400,000 GB-s a month, x86 and arm64 combined) is subtracted
before the tiers only when `ctx.include_free_tier`; each architecture's candidate is an alternative,
so each is priced with the whole allowance.

Average concurrency = requests / (730 x 3,600 s) x billed seconds. Above the default regional limit
(1,000) the candidate is kept, with a note that it needs a concurrency quota increase; peaks above the
average need headroom too.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from advisor.candidates import costs
from advisor.candidates.applicability import gate
from advisor.candidates.base import Candidate, Compute, Context, Generated, Line, RunsOn
from advisor.candidates.regional import regional
from advisor.candidates.service_plans import compute_plan_rates
from advisor.errors import FactMissing
from advisor.pricing import HOURS_PER_MONTH, commitment_cost, money, tiered
from models.workload import Arch, Service, Workload

SERVICE = Service.aws_lambda
NAME = SERVICE.value
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
TIER_FACT = {"x86_64": "lambda.duration_tiers_x86", "arm64": "lambda.duration_tiers_arm64"}
ALTERNATIVES = "run it as a container on ECS/EKS with Fargate or EC2, or as an AWS Batch job"


@dataclass(frozen=True)
class Sizing:
    """What one invocation is configured with and billed for."""

    memory_mb: int
    memory_source: str     # function_memory_mb | load_model | minimum
    billed_ms: int         # avg_duration_ms rounded up to the 1-ms billing granularity
    ephemeral_mb: int      # configured /tmp, at least the free 512 MB

    @property
    def memory_derived(self) -> bool:
        return self.memory_source != "function_memory_mb"


def generate(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    """Priced Lambda candidates (one per allowed architecture) or the reasons Lambda cannot serve `w`.

    `exhaustive` changes nothing: the two architectures are the only variants, and both are kept.
    """
    g = Generated()
    if (rejection := gate(SERVICE, w)) is not None:
        g.rejections.append(rejection)
        return g
    if not w.request_shaped:
        return g.reject(NAME, None, "no_request_profile",
                        "Lambda is priced per request: give requests_per_month and avg_duration_ms to compare it")
    size = sizing(w, ctx)
    _reject_limits(w, ctx, size, g)
    if g.rejections:
        return g
    for arch in architectures(w):
        try:
            on_demand = candidate(w, ctx, size, arch)
            g.candidates.append(on_demand)
            g.candidates.extend(plan_candidates(w, ctx, on_demand, arch))
        except FactMissing as exc:
            g.reject(NAME, None, "price_missing",
                     f"no Lambda {arch} price for {w.region} and no estimate ({exc}); "
                     f"import the region's Lambda prices or choose a region with them")
    return g


def architectures(w: Workload) -> list[str]:
    """x86_64 where the software runs on any or x86_64; arm64 where it runs on any or arm64."""
    out = []
    if w.arch in (Arch.any, Arch.x86_64):
        out.append("x86_64")
    if w.arch in (Arch.any, Arch.arm64):
        out.append("arm64")
    return out


def _ceil(x: float) -> int:
    """Ceiling that ignores float noise (1024 x 0.1 x 10 is not above 1024)."""
    return math.ceil(round(x, 6))


def sizing(w: Workload, ctx: Context) -> Sizing:
    facts = ctx.catalog.facts
    min_mb = int(facts.value("lambda.min_memory_mb"))
    max_mb = int(facts.value("lambda.max_memory_mb"))
    mb_per_vcpu = float(facts.value("lambda.mb_per_vcpu"))
    max_vcpu = float(facts.value("lambda.max_vcpu"))
    if w.function_memory_mb is not None:
        memory, source = int(w.function_memory_mb), "function_memory_mb"
    else:
        share = request_vcpu(w)
        by_cpu = _ceil(share * mb_per_vcpu)
        if share <= max_vcpu:
            by_cpu = min(by_cpu, max_mb)  # 10,240 MB is documented as 6 vCPU
        memory, source = max((min_mb, "minimum"), (by_cpu, "load_model"), key=lambda o: o[0])
    included = int(facts.value("lambda.ephemeral_included_mb"))
    scratch_mb = _ceil(w.scratch_gib * 1024) if w.scratch_gib else 0
    return Sizing(memory_mb=memory, memory_source=source, billed_ms=_ceil(w.avg_duration_ms or 0.0),
                  ephemeral_mb=max(included, scratch_mb))


def request_vcpu(w: Workload) -> float:
    """vCPU one request in flight uses, as the load model gives it on instances."""
    return 1.0 / w.requests_in_flight_per_vcpu


def _reject_limits(w: Workload, ctx: Context, size: Sizing, g: Generated) -> None:
    """Every hard limit the workload breaks, each with its own reason (not only the first)."""
    facts = ctx.catalog.facts
    max_s = float(facts.value("lambda.max_timeout_seconds"))
    duration_s = (w.avg_duration_ms or 0.0) / 1000
    if duration_s > max_s:
        g.reject(NAME, None, "lambda_timeout_exceeded",
                 f"an average request takes {_num(duration_s)} s ({_num(duration_s / 60)} min), above Lambda's "
                 f"{max_s:g} s ({max_s / 60:g} min) maximum timeout; {ALTERNATIVES}, "
                 "or split the work into steps under 15 minutes")
    max_mb = int(facts.value("lambda.max_memory_mb"))
    if size.memory_mb > max_mb and size.memory_source != "load_model":  # else lambda_vcpu_exceeded says why
        g.reject(NAME, None, "lambda_memory_exceeded",
                 f"one invocation needs {size.memory_mb:,} MB (from {size.memory_source}), above Lambda's "
                 f"{max_mb:,} MB maximum; {ALTERNATIVES}")
    max_vcpu = float(facts.value("lambda.max_vcpu"))
    if w.function_memory_mb is None and request_vcpu(w) > max_vcpu:
        g.reject(NAME, None, "lambda_vcpu_exceeded",
                 f"{request_vcpu(w):g} vCPU per request (1 / requests_in_flight_per_vcpu) is above Lambda's "
                 f"{max_vcpu:g} vCPU (at {max_mb:,} MB); {ALTERNATIVES}")
    if w.gpus > 0:
        g.reject(NAME, None, "gpu_unsupported",
                 "Lambda functions have no GPUs; use EC2 GPU instances (directly, or under ECS, EKS or Batch)")
    if w.stateful:
        g.reject(NAME, None, "stateful_unsupported",
                 "Lambda keeps no state between invocations; keep state in a database or S3 (stateful=false), "
                 "or run on EC2 or containers")
    if w.storage_gib > 0:
        g.reject(NAME, None, "no_block_storage",
                 f"Lambda cannot attach {w.storage_gib:g} GiB of block storage (EBS); keep the data in S3, "
                 "DynamoDB or EFS (storage_gib=0), or run on EC2 or containers")
    eph_max = int(facts.value("lambda.ephemeral_max_mb"))
    if size.ephemeral_mb > eph_max:
        g.reject(NAME, None, "lambda_scratch_exceeded",
                 f"{w.scratch_gib:g} GiB of scratch ({size.ephemeral_mb:,} MB) is above Lambda's {eph_max:,} MB "
                 f"ephemeral /tmp maximum; mount EFS, stream through S3, or {ALTERNATIVES}")


def candidate(w: Workload, ctx: Context, size: Sizing, arch: str) -> Candidate:
    """One architecture's priced candidate (FactMissing when the region has no price and no estimate)."""
    catalog, facts = ctx.catalog, ctx.catalog.facts
    requests = float(w.requests_per_month or 0.0)
    seconds = size.billed_ms / 1000
    gb_seconds = requests * seconds * size.memory_mb / 1024
    free = ctx.include_free_tier
    free_requests = float(facts.value("lambda.free_tier_requests")) if free else 0.0
    free_gbs = float(facts.value("lambda.free_tier_gb_seconds")) if free else 0.0

    request_price = regional(catalog, "lambda.request_usd_per_million", w.region)
    tiers = regional(catalog, TIER_FACT[arch], w.region)
    billable_requests = max(0.0, requests - free_requests)
    billable_gbs = max(0.0, gb_seconds - free_gbs)

    free_req_words = f" - {_num(free_requests)} free tier = {_num(billable_requests)}" if free else ""
    lines = [Line(f"Lambda requests: {_num(requests)}{free_req_words} x ${request_price.value:.2f} per 1M",
                  billable_requests / 1e6 * request_price.value, request_price.estimate)]
    free_gbs_words = f" - {_num(free_gbs)} free tier = {_num(billable_gbs)} GB-s" if free else ""
    lines.append(Line(
        f"Lambda duration {arch}: {_num(gb_seconds)} GB-s ({_num(requests)} x {size.billed_ms:,} ms x "
        f"{size.memory_mb:,} MB / 1024){free_gbs_words}{_tier_words(billable_gbs, tiers.value)}",
        _tiered(billable_gbs, tiers.value), tiers.estimate))

    included = int(facts.value("lambda.ephemeral_included_mb"))
    if size.ephemeral_mb > included:
        eph_price = regional(catalog, "lambda.ephemeral_storage_usd_per_gb_second", w.region)
        extra_gb = (size.ephemeral_mb - included) / 1024
        eph_gbs = extra_gb * requests * seconds
        lines.append(Line(
            f"Lambda ephemeral storage: ({size.ephemeral_mb:,} - {included} MB) / 1024 = {_num(extra_gb)} GB x "
            f"{_num(requests * seconds)} s = {_num(eph_gbs)} GB-s x ${_price(eph_price.value)}",
            eph_gbs * eph_price.value, eph_price.estimate))

    egress = costs.egress_line(catalog, w.region, w.egress_gib_month, free)
    if egress is not None:
        lines.append(egress)

    concurrency = requests / SECONDS_PER_MONTH * seconds
    limit = float(facts.value("lambda.default_concurrency_limit"))
    notes = []
    if concurrency > limit:
        notes.append(f"needs a concurrency quota increase: {concurrency:,.1f} concurrent executions on average, "
                     f"above the default {limit:,.0f} per region (peaks need more)")
    if free:
        notes.append("free tier counted (1M requests and 400,000 GB-s a month, shared by all functions "
                     "of the account)")
    config = {
        "memory_mb": size.memory_mb, "arch": arch, "memory_derived": size.memory_derived,
        "memory_source": size.memory_source, "billed_duration_ms": size.billed_ms,
        "ephemeral_storage_mb": size.ephemeral_mb, "avg_concurrency": round(concurrency, 3), "notes": notes,
    }
    estimates = tuple(sorted({ln.item.split(":")[0] for ln in lines if ln.estimate}))
    mb_per_vcpu = float(facts.value("lambda.mb_per_vcpu"))
    return Candidate(service=NAME, purchase_option="on_demand", lines=tuple(lines), instance_type=None, count=1,
                     interruption_risk="none", ops_effort="low", config=config, estimates=estimates,
                     unit_size=size.memory_mb / mb_per_vcpu, compute=Compute(RunsOn.FUNCTIONS, 0.0))


def plan_candidates(w: Workload, ctx: Context, on_demand: Candidate, arch: str) -> list[Candidate]:
    """The same function with its duration covered by each Compute Savings Plan (requests stay on demand).

    The plan commits the duration's average hourly cost x the plan's ratio, every hour of its term."""
    facts = ctx.catalog.facts
    duration = next(ln for ln in on_demand.lines if ln.item.startswith("Lambda duration"))
    if duration.monthly_usd <= 0:
        return []
    ratio_key = "lambda.compute_savings_plan_ratio" + ("_arm64" if arch == "arm64" else "")
    hourly_usage = duration.monthly_usd / HOURS_PER_MONTH
    out = []
    for plan in compute_plan_rates(ctx.catalog, facts.value(ratio_key),
                                   facts.value("lambda.compute_savings_plan_max_discount")):
        upfront = plan.upfront_usd(hourly_usage)
        cost = commitment_cost(hourly_usage * plan.hourly_ratio, upfront, plan.term, w.horizon_months, 1)
        upfront_words = f" + ${upfront:,.2f} upfront" if upfront else ""
        line = Line(f"Lambda duration {arch} on a {plan.words()}: ${hourly_usage:.6g}/h of usage x "
                    f"{plan.hourly_ratio:g} x 730 h{upfront_words}, every hour of {plan.term} terms, averaged over "
                    f"{w.horizon_months} months", cost.monthly_usd, True)
        lines = tuple(line if ln is duration else ln for ln in on_demand.lines)
        out.append(dataclasses.replace(
            on_demand, purchase_option="savings_plan", lines=lines, upfront_usd=money(cost.upfront_usd),
            term=plan.term, plan_type="compute", payment=plan.payment,
            estimates=tuple(sorted({*on_demand.estimates, ratio_key, "savings_plans.ratios"}))))
    return out


def _tiered(quantity: float, tiers: list[dict]) -> float:
    return tiered(quantity, tiers, "up_to_gb_seconds", "usd_per_gb_second")


def _tier_words(quantity: float, tiers: list[dict]) -> str:
    """' x $0.0000166667' within the first tier, else the tiers used:
    ' at 6,000,000,000 GB-s x $0.0000166667 + 1,000,000,000 GB-s x $0.000015'."""
    parts, lower = [], 0.0
    for tier in tiers:
        upper = tier["up_to_gb_seconds"]
        portion = max(0.0, (quantity if upper is None else min(quantity, upper)) - lower)
        parts.append(f"{_num(portion)} GB-s x ${_price(tier['usd_per_gb_second'])}")
        if upper is None or quantity <= upper:
            break
        lower = upper
    if len(parts) == 1:
        return f" x ${_price(tiers[0]['usd_per_gb_second'])}"
    return " at " + " + ".join(parts)


def _num(x: float) -> str:
    """1,500,000 or 0.375: thousands separators, no float noise."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.10g}"


def _price(p: float) -> str:
    """A unit price as printed by AWS: 0.0000166667, 0.000015, 0.0000000309."""
    return f"{p:.10f}".rstrip("0").rstrip(".")
