"""The heavy, vectorized part of candidate generation: instance types x purchase options, costed and
pruned, for many requirement shapes at once.

One implementation serves one workload and a 100k-row CSV alike: a single recommendation asks for
the frontier of one spec; the CSV path first collects the specs of all its new shapes (a dry pass
through the generators, see `memo.collect_misses`), then computes them here in bulk, one cross join
per region/OS/tenancy, and the per-shape pass finds them in the memo.

Instance specs: one replica per instance (EC2, Beanstalk, the baseline); costs are per instance
(count 1) and scaled by the caller. Node specs: replicas packed onto node types (ECS, EKS, Batch);
costs are for the whole node group.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

import numpy as np
import polars as pl

from advisor.candidates.bounds import RateIndex, near_cheapest, rate_index
from advisor.candidates.gpu import gpu_model_pattern
from advisor.candidates.instances import OPTION_GROUP, cost_columns, offered, prune
from advisor.candidates.memo import FRONTIERS
from advisor.candidates.regional import regional
from advisor.catalog import rates
from advisor.catalog.store import Catalog
from advisor.errors import FactMissing
from advisor.pricing import HOURS_PER_MONTH, divide

CHUNK_SPECS = 48  # specs per cross join: bounds memory (specs x types x options rows)
SYSTEM_PODS = 2   # aws-node and kube-proxy run on every EKS node (host network)


@dataclass(frozen=True)
class OptionRules:
    """Which purchase options a spec may use."""

    spot: bool = False              # interruptible and not stateful
    reservation_only: bool = False  # capacity_guarantee: capacity reservation or (zonal) reserved
    on_demand_only: bool = False    # the baseline
    capacity_reservation_only: bool = False  # the baseline of a capacity guarantee
    usage_only: bool = False        # on-demand and spot only
    no_capacity_reservation: bool = False  # Batch: environments scale from zero, nothing to hold

    def expr(self) -> pl.Expr:
        option = pl.col("purchase_option")
        keep = pl.lit(True)
        if not self.spot:
            keep &= option != "spot"
        if self.reservation_only:
            keep &= option.is_in(["capacity_reservation", "reserved"])
        if self.on_demand_only:
            keep &= option == "on_demand"
        if self.capacity_reservation_only:
            keep &= option == "capacity_reservation"
        if self.usage_only:
            keep &= option.is_in(["on_demand", "spot"])
        if self.no_capacity_reservation:
            keep &= option != "capacity_reservation"
        return keep


@dataclass(frozen=True)
class InstanceSpec:
    region: str
    os: str
    arch: str
    tenancy: str
    vcpu: float
    memory_gib: float
    gpus: int
    gpu_model: str | None
    scratch_gib: float
    sustained_vcpu: float
    hours: float
    horizon: int
    options: OptionRules
    frontier: bool    # an upfront cap: keep the Pareto frontier, not just each group's cheapest
    public: bool      # internet-facing: a public IPv4 per instance
    exhaustive: bool  # keep every row (brute-force checks)
    previous_generation: bool = False  # previous-generation types allowed (asked, or nothing current fits)


@dataclass(frozen=True)
class NodeSpec:
    service: str      # ecs_ec2, eks_ec2 or batch (ECS nodes)
    region: str
    os: str
    arch: str
    tenancy: str
    vcpu: float
    memory_gib: float
    gpus: int
    gpu_model: str | None
    units: int        # replica slots needed
    replicas: int     # replicas that each get scratch on EBS when node disks are too small
    hours: float      # hours each node runs, when not job-shaped
    jobs: int | None  # job-shaped: a month's jobs, in whole waves over the slots
    job_hours: float | None
    scratch_gib: float
    horizon: int
    options: OptionRules
    frontier: bool
    public: bool
    exhaustive: bool
    previous_generation: bool = False
    max_per_node: int = 0  # availability: at most this many replicas on one node (0: no cap)


def _model_pattern(model: str | None) -> str | None:
    return gpu_model_pattern(model) if model else None


def _spec_frame(specs: list, extra: dict[str, object] | None = None) -> pl.DataFrame:
    rows = []
    for i, spec in enumerate(specs):
        # The fields as they are (asdict's deep copy of each costs more than the rest of the frame).
        row = {f"s_{f.name}": getattr(spec, f.name) for f in fields(spec) if f.name != "options"}
        row.update(spec_id=i, s_model_pattern=_model_pattern(spec.gpu_model), **(extra or {}))
        rows.append(row)
    overrides = {"s_gpu_model": pl.String, "s_model_pattern": pl.String, "s_jobs": pl.Int64,
                 "s_job_hours": pl.Float64}
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.cast({k: v for k, v in overrides.items() if k in frame.columns})


def _fits_accelerators(vendor: str) -> pl.Expr:
    """No GPUs asked: GPU-less types only. GPUs asked: enough of them, of the model when one is named
    (gpu.py's rule, on model or vendor name), else of the default vendor."""
    named = (pl.col("gpu_model").str.to_lowercase().str.contains(pl.col("s_model_pattern")).fill_null(False)
             | pl.col("gpu_vendor").str.to_lowercase().str.contains(pl.col("s_model_pattern")).fill_null(False))
    model_ok = pl.when(pl.col("s_model_pattern").is_null()).then(pl.col("gpu_vendor").fill_null("") == vendor
                                                                  ).otherwise(named)
    return pl.when(pl.col("s_gpus") == 0).then(pl.col("gpus") == 0).otherwise(
        (pl.col("gpus") >= pl.col("s_gpus")) & model_ok)


def default_vendor(catalog: Catalog) -> str:
    return catalog.facts.value("gpus.default_vendor")


def _fits_arch() -> pl.Expr:
    return (pl.col("s_arch") == "any") | (pl.col("arch") == pl.col("s_arch"))


def _fits_generation() -> pl.Expr:
    """Current-generation types, and previous-generation ones only where the spec allows them."""
    return pl.col("current_generation").fill_null(True) | pl.col("s_previous_generation")


def _options_filter(specs: list) -> pl.Expr:
    """Each spec's option rules, applied row by row (specs of a chunk may differ)."""
    return options_filter([spec.options for spec in specs], "spec_id")


def options_filter(rules: list[OptionRules], key: str) -> pl.Expr:
    """Rows whose `key` column numbers an entry of `rules`: that entry's OptionRules.expr (written once)."""
    by_rules: dict[OptionRules, list[int]] = defaultdict(list)
    for i, r in enumerate(rules):
        by_rules[r].append(i)
    keep = pl.lit(False)
    for r, ids in by_rules.items():
        keep |= pl.col(key).is_in(ids) & r.expr()
    return keep


def option_lookup(rules: list[OptionRules], options: pl.DataFrame) -> np.ndarray:
    """allowed[i, o]: rules[i] allows option number o of `options` (one row per option: `_o`,
    purchase_option). Each OptionRules.expr is evaluated once per option, not once per row."""
    pairs = pl.DataFrame({"_k": range(len(rules))}, schema={"_k": pl.Int64}).join(
        options.select("_o", "purchase_option"), how="cross").filter(options_filter(rules, "_k"))
    allowed = np.zeros((len(rules), int(options["_o"].max() or 0) + 1), dtype=bool)
    allowed[pairs["_k"].to_numpy(), pairs["_o"].to_numpy()] = True
    return allowed


def with_extras(catalog: Catalog, frame: pl.DataFrame, *, fee_per_row: bool) -> pl.DataFrame:
    """Public IPv4 per instance (internet-facing specs) and, where hours differ by row, the dedicated fee."""
    rate = catalog.facts.value("network.public_ipv4_usd_per_hour")
    held = pl.when(pl.col("purchase_option") == "capacity_reservation").then(HOURS_PER_MONTH).otherwise(
        pl.col("hours"))
    fee = catalog.facts.value("tenancy.dedicated_region_fee_usd_per_hour")
    frame = frame.with_columns(
        ipv4_monthly=pl.when(pl.col("s_public")).then(rate * held * pl.col("count")).otherwise(0.0),
        fee_monthly=(pl.when(pl.col("s_tenancy") == "dedicated").then(fee * pl.col("hours"))
                     .otherwise(None).cast(pl.Float64)) if fee_per_row else pl.lit(None, pl.Float64),
    )
    return frame.with_columns(monthly_total=pl.col("monthly_total") + pl.col("ipv4_monthly")
                              + pl.col("fee_monthly").fill_null(0.0))


def _prune(frame: pl.DataFrame, specs: list) -> pl.DataFrame:
    group = ["spec_id", *OPTION_GROUP]
    keep_all = [i for i, s in enumerate(specs) if s.exhaustive]
    frontier = [i for i, s in enumerate(specs) if s.frontier and not s.exhaustive]
    cheapest = [i for i, s in enumerate(specs) if not s.frontier and not s.exhaustive]
    parts = []  # each kind of spec's rows, where the chunk has that kind
    if keep_all:
        parts.append(frame.filter(pl.col("spec_id").is_in(keep_all)))
    if frontier:
        parts.append(prune(frame.filter(pl.col("spec_id").is_in(frontier)), group, frontier=True))
    if cheapest:
        parts.append(prune(frame.filter(pl.col("spec_id").is_in(cheapest)), group, frontier=False))
    return pl.concat([p for p in parts if not p.is_empty()] or [frame.clear()], how="diagonal_relaxed")


def _split(frame: pl.DataFrame, specs: list) -> list[pl.DataFrame]:
    """One frame per spec, in spec order (an empty frame, with the columns, where nothing is left)."""
    parts = {k[0]: v for k, v in frame.partition_by("spec_id", as_dict=True, maintain_order=True).items()}
    return [parts.get(i, frame.clear()).sort("option_id", "monthly_total", "instance_type") for i in range(len(specs))]


RATE_COLUMNS = ["instance_type", "purchase_option", "term", "offering_class", "plan_type", "payment", "tenancy",
                "usd_per_hour", "upfront_usd", "quality", "option_id"]


def _rates(catalog: Catalog, region: str, os: str, tenancy: str) -> pl.DataFrame:
    """The region's rate table, without the columns the costing does not need (the long `basis` text)."""
    return rates.rate_table(catalog, region, os, tenancy).select(RATE_COLUMNS)


_RATE_INDEXES: OrderedDict[tuple[str, str, str, str], RateIndex] = OrderedDict()


def _rate_index(catalog: Catalog, region: str, os: str, tenancy: str) -> RateIndex:
    """bounds.rate_index of the region's rate table, kept for the last few regions, OSes and tenancies."""
    key = (catalog.version, region, os, tenancy)
    if key not in _RATE_INDEXES:
        _RATE_INDEXES[key] = rate_index(_rates(catalog, region, os, tenancy))
        while len(_RATE_INDEXES) > 8:
            _RATE_INDEXES.popitem(last=False)
    _RATE_INDEXES.move_to_end(key)
    return _RATE_INDEXES[key]


@contextmanager
def _facts_permitting(n_specs: int) -> Iterator[None]:
    """In bulk, a chunk whose region lacks a fact is left out (its specs are then computed one by one,
    where the missing fact becomes that service's rejection); for a single spec the error stands."""
    try:
        yield
    except FactMissing:
        if n_specs == 1:
            raise


def _chunks(specs: list, key) -> list[list]:
    groups: dict[tuple, list] = defaultdict(list)
    for spec in specs:
        groups[key(spec)].append(spec)
    return [group[i:i + CHUNK_SPECS] for _, group in sorted(groups.items(), key=lambda kv: str(kv[0]))
            for i in range(0, len(group), CHUNK_SPECS)]


# ----------------------------------------------------------------------------- one replica per instance
def instance_frontiers(catalog: Catalog, specs: list[InstanceSpec]) -> dict[InstanceSpec, pl.DataFrame]:
    """Per spec: fitting types x allowed options, costed per instance (count 1) and pruned."""
    out: dict[InstanceSpec, pl.DataFrame] = {}
    for chunk in _chunks(list(dict.fromkeys(specs)), lambda s: (s.region, s.os, s.tenancy)):
        with _facts_permitting(len(specs)):
            out.update(zip(chunk, _instance_chunk(catalog, chunk), strict=True))
    return out


TYPE_COLUMNS = ["instance_type", "vcpu", "memory_gib", "gpus", "gpu_model", "gpu_vendor", "current_generation",
                "arch", "burstable", "baseline_cpu_share",
                "instance_store_gib", "family"]


def _instance_chunk(catalog: Catalog, specs: list[InstanceSpec]) -> list[pl.DataFrame]:
    region, os, tenancy = specs[0].region, specs[0].os, specs[0].tenancy
    types = offered(catalog, region, os).filter(pl.col("usd_per_hour").is_not_null()).select(TYPE_COLUMNS)
    fit = (_spec_frame(specs).join(types, how="cross")
           .filter((pl.col("vcpu") >= pl.col("s_vcpu")) & (pl.col("memory_gib") >= pl.col("s_memory_gib"))
                   & _fits_accelerators(default_vendor(catalog)) & _fits_arch() & _fits_generation()))
    fit = fit.select("spec_id", "instance_type", "vcpu", "burstable", "baseline_cpu_share", "instance_store_gib",
                     "family", "s_hours", "s_horizon", "s_scratch_gib", "s_sustained_vcpu", "s_public", "s_tenancy")
    rows = (_rates(catalog, region, os, tenancy).join(fit, on="instance_type", how="inner")
            .filter(_options_filter(specs))
            .with_columns(count=pl.lit(1), hours=pl.col("s_hours"), horizon=pl.col("s_horizon")))
    return _split(_prune(cost_instance_rows(catalog, rows, region, os), specs), specs)


def cost_instance_rows(catalog: Catalog, rows: pl.DataFrame, region: str, os: str) -> pl.DataFrame:
    """Cost one-replica-per-instance rows: compute, scratch on EBS where the instance store is too
    small, the burstable unlimited-mode surplus, public IPv4; `monthly_total` sums them."""
    rows = cost_columns(rows)
    gp3 = regional(catalog, "ebs.gp3_usd_per_gb_month", region).value
    scratch_short = (pl.col("s_scratch_gib") > 0) & (pl.col("instance_store_gib") < pl.col("s_scratch_gib"))
    surplus_vcpu = (pl.col("s_sustained_vcpu") - pl.col("baseline_cpu_share").fill_null(1.0) * pl.col("vcpu"))
    rows = rows.with_columns(
        scratch_ebs_monthly=pl.when(scratch_short).then(gp3 * pl.col("s_scratch_gib") * pl.col("count"))
        .otherwise(0.0),
        surplus_vcpu=pl.when(pl.col("burstable")).then(surplus_vcpu.clip(0.0)).otherwise(0.0),
    ).with_columns(
        surplus_monthly=pl.col("surplus_vcpu") * _surplus_rate(catalog, os) * pl.col("hours") * pl.col("count"),
    ).with_columns(
        monthly_total=pl.col("compute_monthly") + pl.col("scratch_ebs_monthly") + pl.col("surplus_monthly"),
    )
    return with_extras(catalog, rows, fee_per_row=False)


def _surplus_rate(catalog: Catalog, os: str) -> pl.Expr:
    """Unlimited-mode surplus credits per vCPU-hour (Windows; t4g; other Linux/RHEL/SUSE)."""
    if os == "windows":
        return pl.lit(catalog.facts.value("burstable.unlimited_surplus_usd_per_vcpu_hour_windows"))
    t4g = catalog.facts.value("burstable.unlimited_surplus_usd_per_vcpu_hour_t4g")
    linux = catalog.facts.value("burstable.unlimited_surplus_usd_per_vcpu_hour_linux")
    return pl.when(pl.col("family") == "t4g").then(pl.lit(t4g)).otherwise(pl.lit(linux))


# ----------------------------------------------------------------------------- replicas packed onto nodes
def eks_allocatable(catalog: Catalog, nodes: pl.DataFrame) -> pl.DataFrame:
    """Add max_pods, alloc_vcpu, alloc_memory_gib and pod_slots for EKS nodes.

    What AWS publishes per type wins: the allocatable CPU, memory and pods of an EKS (AL2023) node of the type
    with the VPC CNI's defaults (data/ec2/instance_types.csv, after the kubelet's reserved CPU and memory and
    the eviction threshold). A type that table does not describe takes the AL2 bootstrap formula below.
    """
    published = catalog.specs.select("instance_type", _p_vcpu="eks_allocatable_vcpu",
                                     _p_mem="eks_allocatable_memory_gib", _p_pods="eks_max_pods")
    formula = _eks_formula(catalog, nodes)
    return (formula.join(published, on="instance_type", how="left")
            .with_columns(max_pods=pl.coalesce("_p_pods", "max_pods"),
                          alloc_vcpu=pl.coalesce("_p_vcpu", "alloc_vcpu"),
                          alloc_memory_gib=pl.coalesce("_p_mem", "alloc_memory_gib"))
            .with_columns(pod_slots=pl.col("max_pods") - SYSTEM_PODS)
            .drop("_p_vcpu", "_p_mem", "_p_pods"))


def _eks_formula(catalog: Catalog, nodes: pl.DataFrame) -> pl.DataFrame:
    """The AL2 bootstrap's kubelet reservation and eviction threshold, max pods with prefix delegation."""
    facts = catalog.facts
    small = facts.value("eks.max_pods_prefix_delegation_small")
    large = facts.value("eks.max_pods_prefix_delegation_large")
    threshold = facts.value("eks.max_pods_vcpu_threshold")
    mem = facts.value("eks.kube_reserved_memory_formula")
    eviction = facts.value("eks.eviction_hard_memory_mib")
    reserved_cpu = pl.lit(0.0)
    for step in facts.value("eks.kube_reserved_cpu_millicores_steps"):
        upper = step["cores_to"]
        cores = pl.col("vcpu").cast(pl.Float64)
        in_step = (cores.clip(upper_bound=upper) if upper is not None else cores) - step["cores_from"]
        reserved_cpu = reserved_cpu + in_step.clip(lower_bound=0.0) * step["share"]
    max_pods = pl.when(pl.col("vcpu") <= threshold).then(pl.lit(small)).otherwise(pl.lit(large))
    return nodes.with_columns(max_pods=max_pods).with_columns(
        alloc_vcpu=pl.col("vcpu") - reserved_cpu,
        alloc_memory_gib=pl.col("memory_gib")
        - (pl.col("max_pods") * mem["per_pod_mib"] + mem["base_mib"] + eviction) / 1024.0,
        pod_slots=pl.col("max_pods") - SYSTEM_PODS,
    )


def ecs_allocatable(catalog: Catalog, nodes: pl.DataFrame, service: str = "ecs_ec2") -> pl.DataFrame:
    """What the ECS agent registers for tasks (ECS) or jobs (Batch): every vCPU (1,024 CPU units each);
    the memory the OS reports (ecs.registered_memory_share of installed, AWS's m4.large example) less
    ECS_RESERVED_MEMORY (0 on the ECS-optimized AMI; the Batch AMI reserves 32 MiB)."""
    share = catalog.facts.value("ecs.registered_memory_share")
    reserved_mib = catalog.facts.value("batch.reserved_memory_mib" if service == "batch" else "ecs.reserved_memory_mib")
    return nodes.with_columns(alloc_vcpu=pl.col("vcpu").cast(pl.Float64),
                              alloc_memory_gib=pl.col("memory_gib") * share - reserved_mib / 1024.0,
                              pod_slots=pl.lit(10_000), max_pods=pl.lit(None, pl.Int64))


def node_types(catalog: Catalog, service: str, region: str, os: str) -> pl.DataFrame:
    """Priced, non-burstable types with their allocatable capacity for `service` (eks_ec2, ecs_ec2, batch),
    remembered (every node chunk and node index of the region and OS reads them)."""
    return FRONTIERS.get(("node_types", catalog.version, service, region, os),
                         lambda: _node_types(catalog, service, region, os))


def _node_types(catalog: Catalog, service: str, region: str, os: str) -> pl.DataFrame:
    types = (offered(catalog, region, os).filter(pl.col("usd_per_hour").is_not_null() & ~pl.col("burstable"))
             .select(TYPE_COLUMNS))
    nodes = eks_allocatable(catalog, types) if service == "eks_ec2" else ecs_allocatable(catalog, types, service)
    return nodes.drop("baseline_cpu_share", "burstable", "family")


def per_node() -> pl.Expr:
    """Replicas one node holds: the fewest of CPU, memory, pod slots and GPUs allow."""
    per = pl.min_horizontal(
        (divide(pl.col("alloc_vcpu"), pl.col("s_vcpu")) + 1e-9).floor(),
        (divide(pl.col("alloc_memory_gib"), pl.col("s_memory_gib")) + 1e-9).floor(),
        pl.col("pod_slots").cast(pl.Float64),
        pl.when(pl.col("s_gpus") > 0).then(divide(pl.col("gpus"), pl.col("s_gpus")).floor()).otherwise(1e9),
        pl.when(pl.col("s_max_per_node") > 0).then(pl.col("s_max_per_node").cast(pl.Float64)).otherwise(1e9),
    )
    return per.cast(pl.Int64)


def node_frontiers(catalog: Catalog, specs: list[NodeSpec]) -> dict[NodeSpec, pl.DataFrame]:
    """Per spec: node types x allowed options, costed for the whole node group and pruned (may be empty)."""
    out: dict[NodeSpec, pl.DataFrame] = {}
    for chunk, rows in node_frontier_rows(catalog, specs):
        out.update(zip(chunk, _split(rows, chunk), strict=True))
    return out


def node_frontier_rows(catalog: Catalog, specs: list[NodeSpec]) -> Iterator[tuple[list[NodeSpec], pl.DataFrame]]:
    """The specs in chunks (one service, region, OS and tenancy each), each with every spec's pruned rows
    in one frame (`spec_id`: the spec's index in its chunk). In bulk, a chunk whose region lacks a fact
    is left out (see _facts_permitting)."""
    # Region, OS and tenancy first: consecutive chunks share the rate index (_rate_index).
    for chunk in _chunks(list(dict.fromkeys(specs)), lambda s: (s.region, s.os, s.tenancy, s.service)):
        with _facts_permitting(len(specs)):
            yield chunk, _node_chunk(catalog, chunk)


def _node_chunk(catalog: Catalog, specs: list[NodeSpec]) -> pl.DataFrame:
    first = specs[0]
    nodes = node_types(catalog, first.service, first.region, first.os)
    fits = _fits_accelerators(default_vendor(catalog)) & _fits_arch() & _fits_generation()
    fit = pack_nodes(_spec_frame(specs).join(nodes, how="cross").filter(fits))
    fit = fit.select("spec_id", "instance_type", "vcpu", "instance_store_gib", "replicas_per_node", "max_pods",
                     "count", "hours", "s_horizon", "s_scratch_gib", "s_replicas", "s_public", "s_tenancy")

    def cost(rows: pl.DataFrame) -> pl.DataFrame:
        return cost_node_rows(catalog, rows.with_columns(horizon=pl.col("s_horizon")), first.region)

    if fit.is_empty():  # no spec fits a node type (Windows on arm64): the frame of no rows, no index or bound
        empty = _rates(catalog, first.region, first.os, first.tenancy).drop("instance_type").clear()
        return _prune(cost(pl.concat([empty, fit], how="horizontal")), specs)
    # Specs pruned to each group's cheapest cost only the rows a lower bound leaves (bounds.py).
    cheapest = [i for i, s in enumerate(specs) if not s.frontier and not s.exhaustive]
    index = _rate_index(catalog, first.region, first.os, first.tenancy)
    rows = [near_cheapest(index, fit.filter(pl.col("spec_id").is_in(cheapest)), np.array([s.horizon for s in specs]),
                          option_lookup([s.options for s in specs], index.options), cost)]
    if len(cheapest) < len(specs):  # upfront caps (a Pareto frontier) and brute-force checks: every row costed
        rest = _rates(catalog, first.region, first.os, first.tenancy).join(
            fit.filter(~pl.col("spec_id").is_in(cheapest)), on="instance_type", how="inner")
        rest = rest.filter(_options_filter(specs))
        if not rest.is_empty():
            rows.append(cost(rest))
    return _prune(pl.concat(rows, how="diagonal_relaxed"), specs)


def pack_nodes(fit: pl.DataFrame) -> pl.DataFrame:
    """Node types x specs (node columns, s_ columns): replicas per node (those holding none dropped), the
    nodes the replica slots need (`count`) and the hours each node runs (jobs: whole waves over the slots)."""
    fit = fit.with_columns(replicas_per_node=per_node()).filter(pl.col("replicas_per_node") >= 1)
    slots_per_group = pl.col("count") * pl.col("replicas_per_node")
    fit = fit.with_columns(count=divide(pl.col("s_units"), pl.col("replicas_per_node")).ceil().cast(pl.Int64))
    return fit.with_columns(hours=pl.when(pl.col("s_jobs").is_null()).then(pl.col("s_hours")).otherwise(
        divide(pl.col("s_jobs"), slots_per_group).ceil() * pl.col("s_job_hours")).cast(pl.Float64))


def cost_node_rows(catalog: Catalog, rows: pl.DataFrame, region: str) -> pl.DataFrame:
    """Cost whole node groups (rates x packed node rows, with horizon): compute, scratch on EBS for every
    replica where a node's instance store cannot hold its replicas' scratch, public IPv4 per node, the
    dedicated fee per row; `monthly_total` sums them."""
    rows = cost_columns(rows)
    gp3 = regional(catalog, "ebs.gp3_usd_per_gb_month", region).value
    short = (pl.col("s_scratch_gib") > 0) & (
        pl.col("instance_store_gib") < pl.col("replicas_per_node") * pl.col("s_scratch_gib"))
    rows = rows.with_columns(
        scratch_ebs_monthly=pl.when(short).then(gp3 * pl.col("s_scratch_gib") * pl.col("s_replicas")).otherwise(0.0),
        surplus_monthly=pl.lit(0.0), surplus_vcpu=pl.lit(0.0),
    ).with_columns(monthly_total=pl.col("compute_monthly") + pl.col("scratch_ebs_monthly"))
    return with_extras(catalog, rows, fee_per_row=True)
