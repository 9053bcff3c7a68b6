"""Cost lines several services share: block storage, data transfer out, public IPv4, dedicated fee."""

from __future__ import annotations

from advisor.candidates.base import Line
from advisor.candidates.regional import regional
from advisor.catalog.store import Catalog
from advisor.pricing import HOURS_PER_MONTH, tiered
from models.workload import Workload


def ebs_line(catalog: Catalog, region: str, gib_each: float, count: float, what: str = "EBS gp3") -> Line | None:
    """gp3 volumes, billed per GB-month while they exist (a whole month, whatever the schedule)."""
    if gib_each <= 0 or count <= 0:
        return None
    price = regional(catalog, "ebs.gp3_usd_per_gb_month", region)
    return Line(f"{what} {gib_each:g} GiB x{count:g}", price.value * gib_each * count, price.estimate)


def egress_line(catalog: Catalog, region: str, gib: float, include_free_tier: bool) -> Line | None:
    """Data transfer out to the internet, over AWS's cumulative tiers; 100 GB/month free account-wide."""
    if gib <= 0:
        return None
    tiers = regional(catalog, "network.data_transfer_out_tiers", region)
    free = catalog.facts.value("network.data_transfer_out_free_gb_per_month") if include_free_tier else 0.0
    billable = max(0.0, gib - free)
    cost = tiered(billable, tiers.value, "up_to_gb", "usd_per_gb")
    note = f" ({free:g} GB free tier counted)" if free else ""
    estimate = tiers.estimate or catalog.facts.get("network.data_transfer_out_tiers", "us-east-1").is_estimate
    return Line(f"data transfer out {gib:g} GiB{note}", cost, estimate)


def ipv4_line(catalog: Catalog, addresses: float, hours: float, holder: str = "") -> Line | None:
    """Public IPv4 addresses, charged per address-hour since 2024-02-01."""
    if addresses <= 0:
        return None
    rate = catalog.facts.value("network.public_ipv4_usd_per_hour")
    what = f" ({holder})" if holder else ""
    return Line(f"public IPv4{what} x{addresses:g} x ${rate:g}/h x {hours:g} h", rate * addresses * hours)


def dedicated_fee_line(catalog: Catalog, hours: float) -> Line:
    """The per-region fee billed whenever at least one Dedicated Instance runs in the region."""
    rate = catalog.facts.value("tenancy.dedicated_region_fee_usd_per_hour")
    return Line(f"dedicated per-region fee ${rate:g}/h", rate * hours, shared_fee="dedicated")


def internet_facing(egress_gib_month: float) -> bool:
    """A workload that sends data to the internet is taken to hold a public IPv4 per instance."""
    return egress_gib_month > 0


def needs_load_balancer(w: Workload, replicas: int) -> bool:
    """A request-driven service with several replicas needs a load balancer in front of them, whatever
    runs it (EC2, ECS, EKS, Beanstalk): every such option pays for one, so none wins by leaving it out.
    Lambda needs none (a function URL or the event source invokes it); jobs need none."""
    return w.request_shaped and not w.job_shaped and replicas > 1


def load_balancer_lines(catalog: Catalog, w: Workload) -> list[Line]:
    """An Application Load Balancer: its hours, its LCUs (from requests and traffic: an estimate) and,
    when internet-facing, its two public IPv4 addresses."""
    hourly = regional(catalog, "beanstalk.alb_usd_per_hour", w.region)
    lcu_rate = regional(catalog, "beanstalk.alb_lcu_usd_per_hour", w.region)
    lcu = catalog.facts.value("beanstalk.lcu_definition")
    per_second = (w.requests_per_month or 0.0) / (HOURS_PER_MONTH * 3600)
    gb_per_hour = w.egress_gib_month / HOURS_PER_MONTH
    lcus = max(per_second / lcu["new_connections_per_second"],
               gb_per_hour / lcu["processed_gb_per_hour_ec2_ip_container_targets"])
    lines = [Line(f"Application Load Balancer ${hourly.value:g}/h x 730 h", hourly.value * HOURS_PER_MONTH,
                  hourly.estimate),
             Line(f"ALB {lcus:.3g} LCU x ${lcu_rate.value:g}/LCU-h x 730 h (each request a new connection)",
                  lcus * lcu_rate.value * HOURS_PER_MONTH, True)]
    if internet_facing(w.egress_gib_month):
        lines.append(ipv4_line(catalog, 2, HOURS_PER_MONTH, "ALB"))
    return [x for x in lines if x]


FULL_MONTH = HOURS_PER_MONTH
