"""Golden answers: 34 varied workloads (issue 16's cases among them) with the expected service, purchase
option, instance type and monthly cost, each justified from AWS's rules in its comment.

Every expected cost is recomputed here from the facts (the catalog's rate table, data/facts values),
never read from the answer. Cases prefer Linux us-east-1 non-GPU types, whose list prices do not move
when the catalog is refreshed. GPU and Windows cases do not pin a type: the expected type is the cheapest
one in the catalog that meets the rule (found here from the catalog's own tables), and its cost is that
type's rate, so the case survives the catalog refresh (GPU prices drop, new types appear).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pytest

from advisor.catalog import rates
from advisor.recommend import recommend
from models.workload import Workload

H = 730.0  # hours in AWS's billing month


@dataclass
class Case:
    name: str
    workload: dict[str, Any]
    service: str | None
    option: str | None = None
    instance_type: str | None = None   # None: not pinned (see `pick`) or no instance
    count: int | None = None
    cost: Any = None                   # callable(facts) -> expected monthly USD
    term: str | None = None
    payment: str | None = None
    pick: Any = None                   # callable(facts) -> expected instance type, for GPU/Windows cases
    extra: Any = None                  # callable(rec, facts) -> None, further assertions
    kw: dict = field(default_factory=dict)


class Facts:
    """The catalog's own figures, looked up by hand-named keys."""

    def __init__(self, catalog):
        self.catalog = catalog
        self.value = catalog.facts.value
        self._tables: dict = {}

    def table(self, os: str = "linux", tenancy: str = "shared") -> pl.DataFrame:
        if (os, tenancy) not in self._tables:
            self._tables[(os, tenancy)] = rates.rate_table(self.catalog, "us-east-1", os, tenancy)
        return self._tables[(os, tenancy)]

    def rate(self, itype: str, option: str = "on_demand", os: str = "linux", tenancy: str = "shared",
             term: str | None = None, payment: str | None = None, plan: str | None = None) -> tuple[float, float]:
        t = self.table(os, tenancy).filter((pl.col("instance_type") == itype)
                                           & (pl.col("purchase_option") == option))
        if term:
            t = t.filter((pl.col("term") == term) & (pl.col("payment") == payment))
        if plan:
            t = t.filter(pl.col("plan_type") == plan)
        row = t.row(0, named=True)
        return row["usd_per_hour"], row["upfront_usd"]

    def od(self, itype: str, os: str = "linux", tenancy: str = "shared") -> float:
        return self.rate(itype, os=os, tenancy=tenancy)[0]

    def cheapest(self, where: pl.Expr, os: str = "linux") -> str:
        specs = self.catalog.specs.filter(where & pl.col("current_generation").fill_null(True))
        prices = self.table(os).filter(pl.col("purchase_option") == "on_demand").select("instance_type", "usd_per_hour")
        ranked = specs.join(prices, on="instance_type").sort("usd_per_hour", "vcpu", "instance_type")
        return ranked.item(0, "instance_type")

    def fargate_task(self, vcpu: float, gb: float, arch: str = "x86") -> float:
        return vcpu * self.value("fargate.vcpu_usd_per_hour_" + arch, "us-east-1") + gb * self.value(
            "fargate.gb_usd_per_hour_" + arch, "us-east-1")

    def compute_plan(self, anchor: float, term: str, payment: str, cap: float | None = None) -> tuple[float, float]:
        """(hourly ratio, upfront ratio) of a Compute Savings Plan for Fargate/Lambda: the EC2 compute plan's
        discount relative to its 1-year no-upfront plan, applied to the service's own 1-year no-upfront ratio."""
        rows = {(r["term"], r["payment"].lower().replace(" ", "_")): r for r in self.value("savings_plans.ratios")
                if r.get("plan", r.get("plan_type")) == "compute"}
        nu = rows[("1yr", "no_upfront")]
        row = rows[(term, payment)]
        effective = anchor * row["effective_ratio"] / nu["effective_ratio"]
        if cap is not None:
            effective = max(effective, 1 - cap)
        share = row["upfront_ratio"] / row["effective_ratio"]
        return effective * (1 - share), effective * share

    def alb(self, requests: float, egress_gib: float = 0.0) -> float:
        hourly = self.value("beanstalk.alb_usd_per_hour", "us-east-1")
        lcu = self.value("beanstalk.lcu_definition")
        lcus = max(requests / (H * 3600) / lcu["new_connections_per_second"],
                   egress_gib / H / lcu["processed_gb_per_hour_ec2_ip_container_targets"])
        return round(hourly * H, 2) + round(lcus * self.value("beanstalk.alb_lcu_usd_per_hour", "us-east-1") * H, 2)

    def host(self, family: str, largest: str, os: str = "linux") -> float:
        return round(self.od(f"{family}.{largest}", os=os) * self.value("tenancy.dedicated_host_price_rule")[
            "multiplier"], 6)


def r2(x: float) -> float:
    return round(x + 0.0, 2)


X86 = {"arch": "x86_64"}
ONE = {"horizon_months": 1}

CASES = [
    # --- the cases -------------------------------------------------------------------------------------
    # capacity_guarantee: only EC2 capacity holds it (ODCR, on-demand rate every hour, or a zonal RI). Lightsail
    # ($24) and Lambda reserve nothing. At 10 % CPU the burstable t4g.medium (20 % baseline x 2 vCPU) carries it.
    Case("capacity-guarantee", {"vcpu": 2, "memory_gib": 4, "cpu_utilization": 0.1, "capacity_guarantee": True, **ONE},
         "ec2", "capacity_reservation", "t4g.medium", 1, lambda f: r2(f.od("t4g.medium") * H)),
    # EKS on Fargate: Linux x86_64 only and no Fargate Spot (both ECS-only, Fargate pricing page). 0.25 vCPU /
    # 0.5 GB + 256 MB for the kubelet rounds to the 0.25 vCPU / 1 GB size; 4 pods on demand.
    Case("eks-fargate-no-spot-no-arm", {"vcpu": 0.25, "memory_gib": 0.5, "replicas": 4, "interruptible": True,
                                        "orchestrator": "kubernetes", "existing_cluster": True,
                                        "allowed_services": "eks_fargate", **ONE},
         "eks_fargate", "on_demand", None, 4, lambda f: r2(f.fargate_task(0.25, 1) * H * 4)),
    # Dedicated tenancy: Dedicated Instances (dedicated rate + $2/h region fee) and Dedicated Hosts (no fee) are
    # both priced. Here 40 dedicated m5a.large (~$2,762 + $1,460 fee) beat the cheapest hosts: 3 c5 hosts of
    # 18 c5.xlarge at $3.366/h (c5.18xlarge x 1.1, the host price rule) = ~$7,372.
    Case("dedicated-40", {"vcpu": 2, "memory_gib": 8, "replicas": 40, "tenancy": "dedicated",
                          "allowed_services": "ec2", **X86, **ONE},
         "ec2", "on_demand", "m5a.large", 40,
         lambda f: r2(r2(f.od("m5a.large", tenancy="dedicated") * H * 40) + 2.0 * H),
         extra=lambda rec, f: any(a.tenancy == "host" for a in rec.alternatives)),
    # ECS registers ~97.5 % of a node's memory (AWS's m4.large example: 7,985 of 8,192 MiB): a 32 GiB task does
    # not fit a 32 GiB r6g.xlarge; the cheapest arm64 node with room is the 64 GiB x2gd.xlarge.
    Case("ecs-32gib-task", {"vcpu": 4, "memory_gib": 32, "orchestrator": "ecs", "allowed_services": "ecs_ec2",
                            "arch": "arm64", **ONE},
         "ecs_ec2", "on_demand", "x2gd.xlarge", 1, lambda f: r2(f.od("x2gd.xlarge") * H)),
    # Four 16 GiB tasks: a 16 GiB node registers 15.6 GiB (no room), a 32 GiB node 31.2 GiB, so one task each on
    # the cheapest 32 GiB x86 node, the 2026 x8i.large (2 vCPU, 32 GiB: $0.21883/h against r5a.xlarge's $0.226),
    # never four on one 64 GiB node (spread over >= 2 nodes).
    Case("ecs-4x16gib", {"vcpu": 2, "memory_gib": 16, "replicas": 4, "orchestrator": "ecs",
                         "allowed_services": "ecs_ec2", **X86, **ONE},
         "ecs_ec2", "on_demand", "x8i.large", 4, lambda f: r2(f.od("x8i.large") * H * 4)),
    # Availability: 6 replicas spread over >= 2 nodes (AZs) even though egress makes each node hold a public
    # IPv4: 3 x m5a.large (2 replicas each), IPv4 x3, 1 GiB out at $0.09.
    Case("api-6-egress-spread", {"vcpu": 1, "memory_gib": 2, "replicas": 6, "egress_gib_month": 1,
                                 "orchestrator": "ecs",
                                 "allowed_services": "ecs_ec2", **X86, **ONE},
         "ecs_ec2", "on_demand", "m5a.large", 3,
         lambda f: r2(r2(f.od("m5a.large") * H * 3) + 0.09 + r2(3 * f.value("network.public_ipv4_usd_per_hour") * H))),
    # The load model: 10,000 requests of 30 min = 6.85 in flight (Little's law); at one per vCPU, 4 replicas of
    # 2 vCPU, behind an ALB (several replicas serving requests), on c6a.large.
    Case("long-requests-load", {"vcpu": 2, "memory_gib": 4, "requests_per_month": 10_000, "avg_duration_ms": 1_800_000,
                                "allowed_services": "ec2", **X86, **ONE},
         "ec2", "on_demand", "c6a.large", 4, lambda f: r2(r2(f.od("c6a.large") * H * 4) + f.alb(10_000))),
    # Lambda at an invocation's memory (the load model's 1 vCPU per request = 1,769 MB), not the replica's 8 GiB:
    # 2M x 0.3 s x 1769/1024 GB x $0.0000166667 + 2M x $0.20/M.
    Case("lambda-not-replica-memory", {"vcpu": 2, "memory_gib": 8, "requests_per_month": 2_000_000,
                                       "avg_duration_ms": 300, **X86, **ONE},
         "lambda", "on_demand", None, 1, lambda f: r2(r2(2e6 * 0.3 * 1769 / 1024 * 0.0000166667) + 0.40)),
    # AWS's pricing-page example (512 MB, 3M x 1 s), no free tier: $25.00 + $0.60.
    Case("lambda-aws-example", {"requests_per_month": 3_000_000, "avg_duration_ms": 1000, "function_memory_mb": 512,
                                **X86, **ONE},
         "lambda", "on_demand", None, 1, lambda f: 25.60),
    # A GPU without a model: NVIDIA only (CUDA); the cheapest NVIDIA type with 4 vCPU / 16 GiB (g4dn.xlarge in
    # the 2025 catalog; recomputed from the catalog so a refresh moves it with the facts).
    Case("gpu-no-model-nvidia", {"vcpu": 4, "memory_gib": 16, "gpus": 1, **ONE}, "ec2", "on_demand", None, 1,
         lambda f: r2(f.od(f.gpu_pick) * H),
         pick=lambda f: f.cheapest((pl.col("gpus") >= 1) & (pl.col("gpu_vendor") == "NVIDIA") & (pl.col("vcpu") >= 4)
                                   & (pl.col("memory_gib") >= 16))),
    # AMD only when asked: 'Radeon' names g4ad's Radeon Pro V520.
    Case("gpu-radeon-asked", {"vcpu": 4, "memory_gib": 16, "gpus": 1, "gpu_model": "Radeon", **ONE}, "ec2",
         "on_demand", None, 1, lambda f: r2(f.od(f.gpu_pick) * H),
         pick=lambda f: f.cheapest((pl.col("gpus") >= 1) & (pl.col("gpu_vendor") == "AMD") & (pl.col("vcpu") >= 4)
                                   & (pl.col("memory_gib") >= 16))),
    # 8 x H100 for 4 ten-hour jobs: GPU batch work goes to Batch (EC2 environment), never Beanstalk's web tier;
    # same cost as ECS/EC2 (Batch adds no fee), the tie goes to the service built for jobs. 40 node-hours.
    Case("h100x8-batch", {"vcpu": 96, "memory_gib": 1024, "gpus": 8, "gpu_model": "H100", "jobs_per_month": 4,
                          "job_duration_minutes": 600},
         "batch", "on_demand", None, 1, lambda f: r2(f.od(f.gpu_pick) * 40),
         pick=lambda f: f.cheapest((pl.col("gpus") >= 8) & (pl.col("gpu_model") == "H100") & (pl.col("vcpu") >= 96)
                                   & (pl.col("memory_gib") >= 1024))),
    # Every multi-replica web service pays its ALB, EC2 as well as Beanstalk: 3 t3a.small (burstable: 1 vCPU
    # sustained over a 20 % x 2 vCPU baseline pays 0.6 vCPU of unlimited surplus at $0.05/vCPU-h).
    Case("web-3-ec2-alb", {"vcpu": 1, "memory_gib": 2, "replicas": 3, "requests_per_month": 5e6, "avg_duration_ms": 50,
                           "allowed_services": "ec2", **X86, **ONE},
         "ec2", "on_demand", "t3a.small", 3,
         lambda f: r2(r2(f.od("t3a.small") * H * 3) + r2(0.6 * 0.05 * H * 3) + f.alb(5e6))),
    # The same with Beanstalk allowed: the same instances and ALB, so the same cost; the tie goes to the more
    # managed service (its web tier fits a request-driven service).
    Case("web-3-beanstalk-tie", {"vcpu": 1, "memory_gib": 2, "replicas": 3, "requests_per_month": 5e6,
                                 "avg_duration_ms": 50, "allowed_services": ["ec2", "beanstalk"], **X86, **ONE},
         "beanstalk", "on_demand", "t3a.small", 3,
         lambda f: r2(r2(f.od("t3a.small") * H * 3) + r2(0.6 * 0.05 * H * 3) + f.alb(5e6))),
    # --- commitments ----------------------------------------------------------------------------------------------
    # Fargate, 12 months: a 1-year all-upfront Compute Savings Plan (0.81 x EC2's AU/NU discount ratio), upfront
    # = task rate x ratio x 8,760 h, averaged over 12 months.
    Case("fargate-sp-1yr", {"vcpu": 1, "memory_gib": 2, "allowed_services": "ecs_fargate", **X86,
                            "horizon_months": 12},
         "ecs_fargate", "savings_plan", None, 1,
         lambda f: r2(sum(f.compute_plan(0.81, "1yr", "all_upfront")) * f.fargate_task(1, 2) * 8760 / 12),
         term="1yr", payment="all_upfront"),
    # 36 months: the 3-year all-upfront plan.
    Case("fargate-sp-3yr", {"vcpu": 1, "memory_gib": 2, "allowed_services": "ecs_fargate", **X86, "horizon_months": 36},
         "ecs_fargate", "savings_plan", None, 1,
         lambda f: r2(sum(f.compute_plan(0.81, "3yr", "all_upfront")) * f.fargate_task(1, 2) * 26280 / 36),
         term="3yr", payment="all_upfront"),
    # Fargate Spot (ECS): 2 tasks at the Spot vCPU and GB rates.
    Case("fargate-spot", {"vcpu": 1, "memory_gib": 2, "replicas": 2, "interruptible": True,
                          "allowed_services": "ecs_fargate", **X86, **ONE},
         "ecs_fargate", "spot", None, 2,
         lambda f: r2((f.value("fargate.spot_vcpu_usd_per_hour", "us-east-1") + 2 * f.value(
             "fargate.spot_gb_usd_per_hour", "us-east-1")) * H * 2)),
    # Plain EC2 for a month: on demand, the cheapest current x86 type with 2 vCPU / 8 GiB.
    Case("ec2-on-demand", {"vcpu": 2, "memory_gib": 8, "allowed_services": "ec2", **X86, **ONE},
         "ec2", "on_demand", "m5a.large", 1, lambda f: r2(f.od("m5a.large") * H)),
    # 36 months: a 3-year all-upfront savings plan wins (upfront / 36 months).
    Case("ec2-3yr", {"vcpu": 2, "memory_gib": 8, "allowed_services": "ec2", **X86, "horizon_months": 36},
         "ec2", "savings_plan", "m5a.large", 1,
         lambda f: r2(f.rate("m5a.large", "savings_plan", term="3yr", payment="all_upfront", plan="ec2_instance")[1]
                      / 36), term="3yr", payment="all_upfront"),
    # Interruptible and stateless: Spot.
    Case("ec2-spot", {"vcpu": 2, "memory_gib": 8, "interruptible": True, "allowed_services": "ec2", **X86, **ONE},
         "ec2", "spot", "m5a.large", 1, lambda f: r2(f.rate("m5a.large", "spot")[0] * H)),
    # Stateful: Spot loses local state, so on demand.
    Case("stateful-no-spot", {"vcpu": 2, "memory_gib": 8, "interruptible": True, "stateful": True,
                              "allowed_services": "ec2", **X86, **ONE},
         "ec2", "on_demand", "m5a.large", 1, lambda f: r2(f.od("m5a.large") * H)),
    # --- tenancy and licences -------------------------------------------------------------------------------------
    # BYOL Windows: licences by socket/core need a Dedicated Host, priced on the Linux rate (the licence is the
    # customer's). 4 x c5.2xlarge fit one c5 host (8 per host) but spread puts them on 2 hosts (2 AZs).
    Case("byol-windows-hosts", {"vcpu": 4, "memory_gib": 16, "replicas": 4, "byol": True, "os": "windows", **ONE},
         "ec2", "on_demand", "c5.2xlarge", 2, lambda f: r2(f.host("c5", "18xlarge") * H * 2)),
    # Host tenancy: the same hosts, on the Linux rate here.
    Case("host-tenancy", {"vcpu": 4, "memory_gib": 16, "replicas": 2, "tenancy": "host", **ONE},
         "ec2", "on_demand", "c5.2xlarge", 2, lambda f: r2(f.host("c5", "18xlarge") * H * 2)),
    # Windows on EC2: the cheapest current type with 2 vCPU / 8 GiB by the Windows on-demand rate (not pinned:
    # Windows prices change in the refresh).
    Case("windows-ec2", {"vcpu": 2, "memory_gib": 8, "os": "windows", "allowed_services": "ec2", **ONE},
         "ec2", "on_demand", None, 1, lambda f: r2(f.od(f.gpu_pick, os="windows") * H),
         pick=lambda f: f.cheapest((pl.col("gpus") == 0) & (pl.col("vcpu") >= 2) & (pl.col("memory_gib") >= 8)
                                   & ~pl.col("burstable"), os="windows")),
    # RHEL runs on EC2 only (other services reject it); the cheapest RHEL type with 2 vCPU / 8 GiB.
    Case("rhel", {"vcpu": 2, "memory_gib": 8, "os": "rhel", **ONE}, "ec2", "on_demand", None, 1,
         lambda f: r2(f.od(f.gpu_pick, os="rhel") * H),
         pick=lambda f: f.cheapest((pl.col("gpus") == 0) & (pl.col("vcpu") >= 2) & (pl.col("memory_gib") >= 8)
                                   & ~pl.col("burstable"), os="rhel")),
    # --- jobs ---------------------------------------------------------------------------------------------------------
    # 2,000 twenty-minute jobs within 12 h, interruptible: Batch on FARGATE_SPOT, each job billed its 20 minutes
    # (x86 asked); same cost as ECS on Fargate Spot, the tie goes to Batch (built for jobs).
    Case("batch-fargate-spot", {"vcpu": 2, "memory_gib": 4, "jobs_per_month": 2000, "job_duration_minutes": 20,
                                "deadline_hours": 12, "interruptible": True, **X86},
         "batch", "spot", None, 56,
         lambda f: r2(2000 / 3 * (2 * f.value("fargate.spot_vcpu_usd_per_hour", "us-east-1")
                                  + 4 * f.value("fargate.spot_gb_usd_per_hour", "us-east-1")))),
    # 200 jobs on demand: one c6a.large runs them back to back (66.7 h); an ECS/Batch node would need more than
    # 4 GiB (ECS registers 97.5 % of it), so plain EC2 wins.
    Case("jobs-on-ec2", {"vcpu": 2, "memory_gib": 4, "jobs_per_month": 200, "job_duration_minutes": 20, **X86},
         "ec2", "on_demand", "c6a.large", 1, lambda f: r2(f.od("c6a.large") * 200 / 3)),
    # --- orchestrators ----------------------------------------------------------------------------------------------
    # EKS on EC2: kubelet reserves 80 m of 4 vCPU, so c6a.xlarge holds 3 x 1 vCPU; 6 replicas on 2 nodes + $73
    # control plane.
    Case("eks-ec2-control-plane", {"vcpu": 1, "memory_gib": 2, "replicas": 6, "orchestrator": "kubernetes",
                                   "allowed_services": "eks_ec2", **X86, **ONE},
         "eks_ec2", "on_demand", "c6a.xlarge", 2, lambda f: r2(r2(f.od("c6a.xlarge") * H * 2) + 73.0)),
    # An existing cluster pays no control plane.
    Case("eks-ec2-existing", {"vcpu": 1, "memory_gib": 2, "replicas": 6, "orchestrator": "kubernetes",
                              "existing_cluster": True, "allowed_services": "eks_ec2", **X86, **ONE},
         "eks_ec2", "on_demand", "c6a.xlarge", 2, lambda f: r2(f.od("c6a.xlarge") * H * 2)),
    # spread=none: nothing forces 2 nodes, but two c6a.large cost what one c6a.xlarge would; 3 x 0.5 vCPU each.
    Case("spread-none", {"vcpu": 0.5, "memory_gib": 1, "replicas": 6, "orchestrator": "ecs", "spread": "none",
                         "allowed_services": "ecs_ec2", **X86, **ONE},
         "ecs_ec2", "on_demand", "c6a.large", 2, lambda f: r2(f.od("c6a.large") * H * 2)),
    # --- small and special ------------------------------------------------------------------------------------------
    # A quiet website: Lightsail's $7 bundle (2 vCPU burstable, 1 GB, 1 TB transfer, IPv4 included).
    Case("lightsail-site", {"vcpu": 1, "memory_gib": 1, "cpu_utilization": 0.05, "storage_gib": 20,
                            "egress_gib_month": 10},
         "lightsail", "on_demand", "linux_general_2vcpu_1gb", 1, lambda f: 7.0),
    # Previous generation only when asked: a1.medium (arm64) is then the cheapest 1 vCPU / 2 GiB.
    Case("previous-generation-asked", {"vcpu": 1, "memory_gib": 2, "arch": "arm64", "allow_previous_generation": True,
                                       "allowed_services": "ec2", **ONE},
         "ec2", "on_demand", "a1.medium", 1, lambda f: r2(f.od("a1.medium") * H)),
    # arch any: Graviton m6g.large is cheapest, and the answer says the software must run on arm64.
    Case("arch-any-arm64-note", {"vcpu": 2, "memory_gib": 8, "allowed_services": "ec2", **ONE},
         "ec2", "on_demand", "m6g.large", 1, lambda f: r2(f.od("m6g.large") * H),
         extra=lambda rec, f: any("arm64" in n for n in rec.choice.config["notes"])),
    # A VM image runs on EC2 or Lightsail only; x86 asked.
    Case("vm-appliance", {"vcpu": 2, "memory_gib": 8, "packaging": "vm", **X86, **ONE},
         "ec2", "on_demand", "m5a.large", 1, lambda f: r2(f.od("m5a.large") * H)),
    # A GPU model full of regex metacharacters matches nothing: no answer, every GPU service says why.
    Case("gpu-hostile-model", {"vcpu": 4, "memory_gib": 16, "gpus": 1, "gpu_model": "A100(", **ONE}, None),
]


@pytest.fixture(scope="module")
def facts(catalog):
    return Facts(catalog)


def test_at_least_thirty_cases():
    assert len(CASES) >= 30 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Case, catalog, facts):
    rec = recommend(Workload(id=case.name, **case.workload), catalog=catalog)
    if case.service is None:
        assert rec.choice is None
        assert any(r.reason == "gpu_model_unavailable" for r in rec.rejected)
        return
    c = rec.choice
    assert c is not None, rec.rejected
    facts.gpu_pick = case.pick(facts) if case.pick else None
    assert (c.service, c.purchase_option) == (case.service, case.option)
    assert c.instance_type == (case.instance_type or facts.gpu_pick)
    if case.count is not None:
        assert c.count == case.count
    if case.term:
        assert (c.term, c.payment) == (case.term, case.payment)
    assert c.monthly_usd == pytest.approx(case.cost(facts), abs=0.011)
    assert c.monthly_usd == pytest.approx(sum(x.monthly_usd for x in c.cost_lines), abs=0.005)
    if case.extra:
        assert case.extra(rec, facts)
    # the baseline meets the same requirements, so balanced advice with every service allowed never costs more
    if rec.baseline.monthly_usd is not None and "allowed_services" not in case.workload:
        assert rec.savings_vs_baseline_usd >= 0
    assert math.isfinite(c.monthly_usd)
