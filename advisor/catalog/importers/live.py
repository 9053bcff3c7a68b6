"""Fetch the same formats live from the AWS APIs (optional extra "aws": boto3).

The clients are passed in (``pricing`` in us-east-1 or another Price List endpoint; ``ec2`` in the
region whose spot prices you want), so credentials, region and retries stay with the caller:

    import boto3
    session = boto3.session.Session()
    batch = fetch_price_list(session.client("pricing", region_name="us-east-1"),
                             region="eu-west-1", instance_types=["m5.large"])

Nothing here imports boto3 at module import time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from advisor.catalog.importers import ImportBatch, import_data
from advisor.errors import AdvisorError, FactMissing, InputError

AWS_EXTRA_HINT = "install the aws extra: pip install -e '.[aws]'"
MAX_PAGES = 1000  # a guard against an API that keeps returning tokens


class AwsExtraMissing(AdvisorError):
    """boto3 is not installed."""


def _require_boto3() -> None:
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise AwsExtraMissing(f"live AWS fetching needs boto3; {AWS_EXTRA_HINT}") from None


def _paginate(call: Any, kwargs: dict, items_key: str, what: str) -> list:
    items: list = []
    token: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        response = call(**kwargs, **({"NextToken": token} if token else {}))
        items.extend(response.get(items_key) or [])
        token = response.get("NextToken") or None  # EC2 ends with NextToken ""
        if token is None:
            return items
        if token in seen:
            raise FactMissing(f"{what}: the API returned the same NextToken twice")
        seen.add(token)
    raise FactMissing(f"{what}: more than {MAX_PAGES} pages")


def _names(values: Iterable[str], field: str) -> list[str]:
    out = sorted(set(values))
    if not out or not all(isinstance(v, str) and v for v in out):
        raise InputError(f"{field} must be a non-empty list of names", field=field)
    return out


def fetch_price_list(pricing_client: Any, *, region: str, instance_types: Sequence[str],
                     operating_systems: Sequence[str] = ("Linux",)) -> ImportBatch:
    """EC2 prices for ``instance_types`` in ``region`` via pricing.get_products (all pages).

    One query per (operating system, instance type), plus one per instance family so that the
    Dedicated Host rows of those families come along. Price List OS names: "Linux", "Windows",
    "RHEL", "SUSE".
    """
    _require_boto3()
    types = _names(instance_types, "instance_types")
    systems = _names(operating_systems, "operating_systems")
    families = sorted({t.split(".", 1)[0] for t in types})
    price_list: list = []
    for os_name in systems:
        for name in [*types, *families]:
            filters = [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in (
                ("regionCode", region), ("instanceType", name), ("operatingSystem", os_name),
                ("preInstalledSw", "NA"))]
            kwargs = {"ServiceCode": "AmazonEC2", "Filters": filters, "FormatVersion": "aws_v1",
                      "MaxResults": 100}
            price_list += _paginate(pricing_client.get_products, kwargs, "PriceList",
                                    f"pricing.get_products {name} {os_name} {region}")
    if not price_list:
        raise FactMissing(f"pricing.get_products returned no products for {', '.join(types)} "
                          f"({', '.join(systems)}) in {region}")
    return import_data(price_list, source=f"pricing.get_products {region}", regions=[region],
                       instance_types=types)


def fetch_spot_history(ec2_client: Any, *, instance_types: Sequence[str],
                       product_descriptions: Sequence[str] = ("Linux/UNIX",),
                       start_time: datetime, end_time: datetime) -> ImportBatch:
    """Current spot prices (median over AZs of each AZ's latest price) via
    ec2.describe_spot_price_history (all pages), for the client's region."""
    _require_boto3()
    types = _names(instance_types, "instance_types")
    descriptions = _names(product_descriptions, "product_descriptions")
    region = getattr(getattr(ec2_client, "meta", None), "region_name", None) or "unknown region"
    kwargs = {"InstanceTypes": types, "ProductDescriptions": descriptions, "StartTime": start_time,
              "EndTime": end_time, "MaxResults": 1000}
    records = _paginate(ec2_client.describe_spot_price_history, kwargs, "SpotPriceHistory",
                        f"ec2.describe_spot_price_history {region}")
    if not records:
        raise FactMissing(f"ec2.describe_spot_price_history returned no prices for {', '.join(types)} "
                          f"({', '.join(descriptions)}) in {region} between {start_time} and {end_time}")
    return import_data({"SpotPriceHistory": records},
                       source=f"ec2.describe_spot_price_history {region}")
