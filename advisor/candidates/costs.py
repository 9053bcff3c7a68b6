"""Cost lines several services share: block storage, data transfer out, public IPv4, dedicated fee."""

from __future__ import annotations

from advisor.candidates.base import Line
from advisor.candidates.regional import regional
from advisor.catalog.store import Catalog
from advisor.pricing import HOURS_PER_MONTH, tiered


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
    return Line(f"dedicated per-region fee ${rate:g}/h", rate * hours)


def internet_facing(egress_gib_month: float) -> bool:
    """A workload that sends data to the internet is taken to hold a public IPv4 per instance."""
    return egress_gib_month > 0


FULL_MONTH = HOURS_PER_MONTH
