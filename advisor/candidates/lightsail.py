"""Amazon Lightsail: fixed monthly bundles (compute, SSD, public IPv4, a transfer allowance), x86 only.

A bundle of the workload's OS (linux or windows) fits one replica when, in this order:
  1. vcpu >= w.vcpu,  2. memory_gib >= w.memory_gib,  3. ssd_gib >= storage_gib + scratch_gib,
  4. its CPU baseline carries the sustained load: w.vcpu x w.cpu_utilization <= cpu_baseline_share x vcpu.
When every bundle is removed, the first requirement that removed the last of them is the rejection:
`lightsail_no_fit` for 1-3, `lightsail_cpu_baseline` when only the baseline rule excluded them.

Bundles without a published baseline (cpu_baseline_share null: the memory- and compute-optimized
plans and the 32+ vCPU general plans): AWS's baseline page says every Lightsail instance earns and
spends CPU burst capacity, and names only the 16 vCPU general plans ($384 Linux / $574 Windows) as not
accruing it -- and those have a published 40 % baseline. So no null-baseline bundle is documented as
non-burstable, and a bundle whose sustained CPU is unknown cannot be shown to carry the load: it is
excluded by rule 4 (counted as a baseline exclusion). A bundle fact that one day says
`"accrues_burst": false` with a null baseline is taken to sustain 100 % of its vCPUs.

Cost, per month: replicas x the bundle's monthly price (public IPv4 included; billed while stopped,
so `hours_per_month` does not reduce it) + transfer overage: egress_gib_month above replicas x the
bundle's allowance, at the region's overage price per GB. The allowance is in TB as AWS counts it,
1 TB = 1,024 GB (GetBundles reports the 1 TB plan as transferPerMonthInGb 1024; data/facts/network.json
uses the same convention), and GiB of egress are taken as GB. AWS counts inbound traffic against the
allowance too, and each instance's allowance separately; only egress is known here and it is taken to
be spread evenly over the replicas, so the overage is a lower bound (a note in config says so).

Regions: the bundle prices in the facts are the us-east-1 list and the facts do not say they are the
same everywhere, so outside us-east-1 the us-east-1 price is used unchanged and labelled an estimate
(Lightsail publishes one price list; scaling it by EC2's regional ratio would invent a difference).
The overage price is listed for the 14 Lightsail regions; elsewhere `regional` scales it (an estimate)
and the config notes the region is not among the Lightsail regions the facts list.
The first-month Lightsail free offer is not counted: it is not an always-free allowance.
"""

from __future__ import annotations

from advisor.candidates import costs
from advisor.candidates.applicability import gate
from advisor.candidates.base import Candidate, Compute, Context, Generated, Line, RunsOn
from advisor.candidates.regional import ANCHOR, RegionalValue, regional
from advisor.errors import FactMissing
from models.workload import Arch, Service, Workload

SERVICE = Service.lightsail
NAME = SERVICE.value
GB_PER_TB = 1024
ELSEWHERE = "use EC2 (or ECS/EKS) instances, which come in larger and non-burstable sizes"


def generate(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    """Priced Lightsail bundles for `w`: the cheapest fitting bundle and the cheapest of each bundle kind
    (general, memory, compute); with `exhaustive`, every fitting bundle."""
    g = Generated()
    if (rejection := gate(SERVICE, w)) is not None:
        g.rejections.append(rejection)
        return g
    if w.arch is Arch.arm64:
        g.reject(NAME, None, "arch_unavailable",
                 "Lightsail instances are x86_64 only; build the software for x86_64 (arch=any) "
                 "or use Graviton instances on EC2, ECS or EKS")
    if w.gpus > 0:
        g.reject(NAME, None, "gpu_unsupported", "Lightsail bundles have no GPUs; use EC2 GPU instances")
    if costs.needs_load_balancer(w, w.replicas):
        g.reject(NAME, None, "load_balancer_price_missing",
                 f"{w.replicas} replicas serving requests need a load balancer, and the facts hold no Lightsail "
                 "load balancer price (never guessed); the other services are priced with an ALB")
    if g.rejections:
        return g
    fitting = fit(w, ctx, g)
    if not fitting:
        return g
    try:
        rate = regional(ctx.catalog, "lightsail.overage_usd_per_gb", w.region)
    except FactMissing as exc:
        return g.reject(NAME, None, "price_missing",
                        f"no Lightsail price for {w.region} and no estimate ({exc}); choose a Lightsail region")
    priced = sorted((candidate(w, ctx, b, rate) for b in fitting),
                    key=lambda c: (c.monthly_usd, c.unit_size, c.instance_type or ""))
    g.candidates.extend(priced if exhaustive else useful(priced))
    return g


def useful(priced: list[Candidate]) -> list[Candidate]:
    """The cheapest overall plus the cheapest of each bundle kind, cheapest first (`priced` is sorted)."""
    kept, kinds = [], set()
    for c in priced:
        if c.config["kind"] not in kinds:
            kinds.add(c.config["kind"])
            kept.append(c)
    return kept


def bundles(ctx: Context, os: str) -> list[dict]:
    return [b for b in ctx.catalog.facts.value("lightsail.bundles") if b["os"] == os]


def baseline(bundle: dict) -> float | None:
    """The share of each vCPU the bundle sustains; None when not published (see the module docstring)."""
    share = bundle.get("cpu_baseline_share")
    if share is None and bundle.get("accrues_burst") is False:
        return 1.0
    return share


def fit(w: Workload, ctx: Context, g: Generated) -> list[dict]:
    """Bundles that fit one replica, or [] after recording which requirement removed the last of them."""
    os = w.os.value
    left = bundles(ctx, os)
    if not left:
        g.reject(NAME, None, "os_unsupported", f"the facts list no {os} Lightsail bundles")
        return []
    vcpu, memory = w.vcpu or 0.0, w.memory_gib or 0.0
    disk = w.storage_gib + w.scratch_gib
    steps = [
        (lambda b: b["vcpu"] >= vcpu, "lightsail_no_fit",
         lambda b: f"no {os} Lightsail bundle has {vcpu:g} vCPU (the largest has {b['vcpu']:g}); {ELSEWHERE}",
         "vcpu"),
        (lambda b: b["memory_gib"] >= memory, "lightsail_no_fit",
         lambda b: f"no {os} Lightsail bundle with {vcpu:g}+ vCPU has {memory:g} GiB of memory (the largest has "
                   f"{b['memory_gib']:g} GiB); {ELSEWHERE}",
         "memory_gib"),
        (lambda b: b["ssd_gib"] >= disk, "lightsail_no_fit",
         lambda b: f"no {os} Lightsail bundle with {vcpu:g} vCPU and {memory:g} GiB has {disk:g} GiB of SSD for "
                   f"storage_gib + scratch_gib (the largest has {b['ssd_gib']:g} GiB); attach Lightsail block "
                   f"storage separately, or {ELSEWHERE}",
         "ssd_gib"),
    ]
    for keep, reason, message, key in steps:
        kept = [b for b in left if keep(b)]
        if not kept:
            largest = max(left, key=lambda b: b[key])
            g.reject(NAME, None, reason, message(largest))
            return []
        left = kept
    sustained = w.sustained_vcpu
    kept = [b for b in left if baseline(b) is not None and sustained <= baseline(b) * b["vcpu"] + 1e-9]
    if not kept:
        g.reject(NAME, None, "lightsail_cpu_baseline", _baseline_message(w, left))
    return kept


def _baseline_message(w: Workload, left: list[dict]) -> str:
    known = [b for b in left if baseline(b) is not None]
    unknown = len(left) - len(known)
    sustained = f"{w.vcpu:g} vCPU at {w.cpu_utilization:.0%} = {w.sustained_vcpu:g} vCPU sustained"
    parts = []
    if known:
        best = max(known, key=lambda b: baseline(b) * b["vcpu"])
        parts.append(f"the best published baseline among the bundles large enough is {best['id']}: "
                     f"{baseline(best):.0%} x {best['vcpu']:g} vCPU = {baseline(best) * best['vcpu']:g} vCPU")
    if unknown:
        parts.append(f"{unknown} bundle(s) large enough publish no CPU baseline, so they cannot be shown to "
                     "sustain it")
    return (f"{sustained} is more than a Lightsail bundle's CPU baseline sustains ({'; '.join(parts)}); "
            f"Lightsail instances burst above the baseline only while credits last; {ELSEWHERE}")


def candidate(w: Workload, ctx: Context, bundle: dict, rate: RegionalValue) -> Candidate:
    """One bundle x replicas, with the transfer overage at `rate` (the region's overage price per GB)."""
    catalog = ctx.catalog
    count = w.replicas
    price = float(bundle["usd_per_month_ipv4"])
    estimate = w.region != ANCHOR
    where = "us-east-1 list price" + (f", used for {w.region} (estimate)" if estimate else "")
    lines = [Line(f"Lightsail {bundle['id']} x{count}: ${price:g}/month each ({where}; billed while stopped)",
                  price * count, estimate)]
    allowance_gb = float(bundle["transfer_tib"]) * GB_PER_TB
    pooled = allowance_gb * count
    over = max(0.0, w.egress_gib_month - pooled)
    notes = []
    overage_regions = catalog.facts.regions("lightsail.overage_usd_per_gb")
    if w.region not in overage_regions:
        notes.append(f"{w.region} is not among the Lightsail regions the facts list; check Lightsail is offered "
                     "there")
    if over > 0:
        lines.append(Line(
            f"Lightsail transfer overage: {w.egress_gib_month:,.10g} GB out - {count} x {bundle['transfer_tib']:g} TB "
            f"allowance ({pooled:,.0f} GB at 1 TB = {GB_PER_TB} GB) = {over:,.10g} GB x ${rate.value:g}/GB",
            over * rate.value, rate.estimate))
    if w.egress_gib_month > 0:
        notes.append("the transfer allowance also counts inbound traffic and applies per instance; the overage "
                     "assumes egress only, spread evenly over the replicas")
    quota = catalog.facts.value("lightsail.quotas").get("instances_per_region")
    if quota and count > quota:
        notes.append(f"needs a Lightsail quota increase: {count} instances, default {quota} per region")
    config = {"bundle_id": bundle["id"], "ipv4": True, "kind": bundle["kind"],
              "transfer_allowance_gb": allowance_gb, "cpu_baseline_share": baseline(bundle), "notes": notes}
    estimates = tuple(sorted({ln.item.split(":")[0] for ln in lines if ln.estimate}))
    return Candidate(service=NAME, purchase_option="on_demand", lines=tuple(lines), instance_type=bundle["id"],
                     count=count, interruption_risk="none", ops_effort="medium", config=config,
                     estimates=estimates, unit_size=float(bundle["vcpu"]), compute=Compute(RunsOn.BUNDLES, 0.0))
