"""The one entry point for one workload: candidates from every service, the choice, the explanation.

The CLI, the HTTP API and the batch path all call `recommend`.
"""

from __future__ import annotations

import contextlib

from advisor.candidates.base import Candidate, Context
from advisor.candidates.ec2 import baseline as ec2_baseline
from advisor.candidates.ec2 import baseline_description
from advisor.candidates.frontiers import instance_frontiers, node_frontiers
from advisor.candidates.memo import FRONTIERS
from advisor.candidates.registry import generate_all
from advisor.catalog.store import Catalog, load_catalog
from advisor.errors import FactMissing
from advisor.explain import alternatives, cap_rejections, dedupe
from advisor.optimize.choose import choose
from advisor.pricing import money
from models.recommendation import Baseline, CatalogRef, CostLine, Option, Recommendation, Rejection
from models.workload import Workload

DEFAULT_TOP_K = 5


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
    try:
        base = ec2_baseline(workload, ctx)
    except FactMissing:
        base = None
    baseline = Baseline(
        description=baseline_description(workload),
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
        catalog=CatalogRef(version=catalog.version, as_of=catalog.as_of),
    )


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
    wanted: dict[str, list] = {"instances": [], "nodes": []}
    for kind, _version, spec in dict.fromkeys(misses):
        wanted[kind].append(spec)
    computed = {("instances", s): f for s, f in instance_frontiers(catalog, wanted["instances"]).items()}
    computed |= {("nodes", s): f for s, f in node_frontiers(catalog, wanted["nodes"]).items()}
    for (kind, spec), frame in computed.items():
        FRONTIERS.put((kind, catalog.version, spec), frame)
    return len(computed)
