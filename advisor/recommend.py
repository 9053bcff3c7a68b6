"""The one entry point for one workload: candidates from every service, the choice, the explanation.

The CLI, the HTTP API and the batch path all call `recommend`.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

from advisor.candidates.applicability import gate
from advisor.candidates.base import Candidate, Context
from advisor.candidates.ec2 import baseline as ec2_baseline
from advisor.candidates.ec2 import baseline_description
from advisor.candidates.frontiers import instance_frontiers, node_frontiers
from advisor.candidates.hosts import host_frontiers
from advisor.candidates.memo import FRONTIERS
from advisor.candidates.registry import generate_all
from advisor.catalog.store import Catalog, load_catalog
from advisor.errors import FactMissing
from advisor.explain import alternatives, cap_rejections, dedupe
from advisor.optimize.choose import choose
from advisor.pricing import money
from models.recommendation import Baseline, CatalogRef, CostLine, Option, Recommendation, Rejection, SourceAsOf
from models.workload import Service, Workload

DEFAULT_TOP_K = 5


def catalog_ref(catalog: Catalog) -> CatalogRef:
    """The catalog version an answer rests on, with each source's as-of date."""
    return CatalogRef(version=catalog.version, as_of=catalog.as_of,
                      sources=[SourceAsOf(name=s.name, as_of=s.as_of) for s in catalog.sources])


def to_option(c: Candidate) -> Option:
    return Option(
        service=c.service, instance_type=c.instance_type, count=c.count, purchase_option=c.purchase_option,
        term=c.term, offering_class=c.offering_class, plan_type=c.plan_type, payment=c.payment, tenancy=c.tenancy,
        config=c.config, monthly_usd=c.monthly_usd, upfront_usd=money(c.upfront_usd),
        interruption_risk=c.interruption_risk, ops_effort=c.ops_effort,
        cost_lines=[CostLine(item=x.item, monthly_usd=money(x.monthly_usd), estimate=x.estimate) for x in c.lines],
        estimates=list(c.estimates),
    )


def recommend(workload: Workload, *, catalog: Catalog | None = None, top_k: int = DEFAULT_TOP_K,
              include_free_tier: bool = False, time_limit_s: float = 5.0) -> Recommendation:
    """The cheapest placement that meets every hard requirement, ranked alternatives, and every rejection."""
    catalog = catalog or load_catalog()
    ctx = Context(catalog, include_free_tier=include_free_tier)
    generated = generate_all(workload, ctx)
    candidates = generated.candidates
    result = choose(candidates, ops=workload.ops.value, max_monthly_usd=workload.max_monthly_usd,
                    max_upfront_usd=workload.max_upfront_usd, time_limit_s=time_limit_s)
    chosen = candidates[result.index] if result.index is not None else None
    rejected = dedupe(generated.rejections + cap_rejections(candidates, workload))
    base, description = _baseline(workload, ctx, candidates)
    baseline = Baseline(
        description=description,
        monthly_usd=base.monthly_usd if base else None,
        instance_type=base.instance_type if base else None, count=base.count if base else None)
    savings = money(base.monthly_usd - chosen.monthly_usd) if base and chosen else None
    return Recommendation(
        workload_id=workload.id,
        choice=to_option(chosen) if chosen else None,
        alternatives=[to_option(c) for c in alternatives(candidates, chosen, workload, top_k)],
        rejected=[Rejection(service=r.service, option=r.option, reason=r.reason, message=r.message)
                  for r in rejected],
        baseline=baseline,
        savings_vs_baseline_usd=savings,
        catalog=catalog_ref(catalog),
    )


def _baseline(w: Workload, ctx: Context, candidates: list[Candidate]) -> tuple[Candidate | None, str]:
    """The yardstick: on-demand EC2 meeting the same requirements (ec2.baseline). When plain EC2 cannot
    serve the workload (not allowed, or the team is committed to an orchestrator or packaging), the
    cheapest on-demand option of the services that can, so the yardstick always meets every hard
    requirement the answer meets and a balanced answer never costs more than it."""
    if gate(Service.ec2, w) is None:
        try:
            return ec2_baseline(w, ctx), baseline_description(w)
        except FactMissing:
            return None, baseline_description(w)
    if w.vcpu is None or w.memory_gib is None:
        return None, "no baseline: plain EC2 cannot serve this workload and it has no replica shape"
    plain = "capacity_reservation" if w.capacity_guarantee else "on_demand"
    pool = [c for c in candidates if c.purchase_option == plain and c.service != Service.aws_lambda.value]
    if not pool:
        return None, "no baseline: no on-demand option meets the requirements"
    best = min(pool, key=lambda c: c.sort_key)
    reason = gate(Service.ec2, w)
    return best, (f"{plain.replace('_', '-')} {best.service}, cheapest fitting option (plain EC2 is ruled out: "
                  f"{reason.reason if reason else 'n/a'}; same requirements as the answer)")


def prefetch(workloads: list[Workload], *, catalog: Catalog | None = None, include_free_tier: bool = False) -> int:
    """Compute, in bulk, the instance and node frontiers these workloads will need, into the memo.

    A dry pass through the generators records which frontiers are missing (nothing is computed);
    they are then computed together, one cross join per region/OS/tenancy, instead of one at a time.
    Answers are unchanged; only the work is batched. Returns how many frontiers were computed.
    """
    catalog = catalog or load_catalog()
    ctx = Context(catalog, include_free_tier=include_free_tier)
    with FRONTIERS.collect_misses() as misses:
        for w in workloads:
            generate_all(w, ctx)
            with contextlib.suppress(FactMissing):
                ec2_baseline(w, ctx)
    wanted: dict[str, list] = {"instances": [], "nodes": [], "hosts": []}
    for kind, _version, spec in dict.fromkeys(misses):
        wanted[kind].append(spec)
    computed = {("instances", s): f for s, f in instance_frontiers(catalog, wanted["instances"]).items()}
    nodes = node_frontiers(catalog, wanted["nodes"])
    # node_generate asks again with previous-generation types where no current one fits (the dry pass
    # cannot see that): those frontiers are computed in bulk too, not one by one in the answers.
    nodes |= node_frontiers(catalog, [replace(s, previous_generation=True) for s, f in nodes.items()
                                      if f.is_empty() and not s.previous_generation])
    computed |= {("nodes", s): f for s, f in nodes.items()}
    computed |= {("hosts", s): f for s, f in host_frontiers(catalog, wanted["hosts"]).items()}
    for (kind, spec), frame in computed.items():
        FRONTIERS.put((kind, catalog.version, spec), frame)
    return len(computed)
