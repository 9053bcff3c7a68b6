"""EC2 DescribeSpotPriceHistory responses -> one current spot price per type/region/OS.

Each record is one price change in one Availability Zone. For every (type, AZ, OS) the latest
record is that AZ's current price (ties at the same timestamp: the higher price, to be
deterministic and conservative); the row's price is the median of those current prices over the
AZs of the region. ``published`` is the date (UTC) of the newest record of the group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import polars as pl

from advisor.errors import ImportFormatError

SPOT_HISTORY_SCHEMA: dict[str, Any] = {
    "instance_type": pl.String,
    "region": pl.String,
    "os": pl.String,
    "usd_per_hour": pl.Float64,
    "zones": pl.Int64,
    "published": pl.String,
    "source": pl.String,
}
KEY_COLUMNS = ["instance_type", "region", "os"]
OS_BY_PRODUCT_DESCRIPTION = {
    "Linux/UNIX": "linux",
    "Linux/UNIX (Amazon VPC)": "linux",
    "Windows": "windows",
    "Windows (Amazon VPC)": "windows",
    "Red Hat Enterprise Linux": "rhel",
    "Red Hat Enterprise Linux (Amazon VPC)": "rhel",
    "SUSE Linux": "suse",
    "SUSE Linux (Amazon VPC)": "suse",
}
_AZ = re.compile(r"(.+\d)[a-z]+")


def region_of_zone(zone: str) -> str:
    """'us-east-1f' -> 'us-east-1'; 'us-west-2-lax-1a' -> 'us-west-2-lax-1'."""
    m = _AZ.fullmatch(zone)
    if m is None:
        raise ImportFormatError(f"spot history: {zone!r} is not an Availability Zone name")
    return m.group(1)


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        ts = value
    elif isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            raise ImportFormatError(f"spot history: Timestamp {value!r} is not ISO 8601") from None
    else:
        raise ImportFormatError(f"spot history: Timestamp {value!r} is neither a string nor a datetime")
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).replace(tzinfo=None)


def _price(value: Any) -> float:
    try:
        price = float(value)
    except (TypeError, ValueError):
        raise ImportFormatError(f"spot history: SpotPrice {value!r} is not a number") from None
    if not price > 0 or price == float("inf"):
        raise ImportFormatError(f"spot history: SpotPrice {value!r} is not a valid price")
    return price


def parse_spot_history(records: Iterable[dict], *, source: str) -> pl.DataFrame:
    rows: list[tuple] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise ImportFormatError(f"spot history: record {i} is not a JSON object")
        try:
            zone, instance_type = rec["AvailabilityZone"], rec["InstanceType"]
            description, raw_price, raw_ts = rec["ProductDescription"], rec["SpotPrice"], rec["Timestamp"]
        except KeyError as e:
            raise ImportFormatError(f"spot history: record {i} has no {e.args[0]!r}") from None
        os_name = OS_BY_PRODUCT_DESCRIPTION.get(description)
        if os_name is None:
            continue
        rows.append((instance_type, region_of_zone(zone), os_name, zone, _price(raw_price), _timestamp(raw_ts)))
    if not rows:
        raise ImportFormatError(f"{source}: no spot prices for Linux/Windows/RHEL/SUSE in SpotPriceHistory")
    raw = pl.DataFrame(rows, schema={"instance_type": pl.String, "region": pl.String, "os": pl.String,
                                     "zone": pl.String, "price": pl.Float64, "ts": pl.Datetime("us")},
                       orient="row")
    latest = (raw.sort([*KEY_COLUMNS, "zone", "ts", "price"])
              .group_by([*KEY_COLUMNS, "zone"], maintain_order=True)
              .agg(pl.col("price").last(), pl.col("ts").last()))
    return (latest.group_by(KEY_COLUMNS, maintain_order=True)
            .agg(pl.col("price").median().alias("usd_per_hour"),
                 pl.len().cast(pl.Int64).alias("zones"),
                 pl.col("ts").max().dt.strftime("%Y-%m-%d").alias("published"))
            .with_columns(pl.lit(source).alias("source"))
            .select(list(SPOT_HISTORY_SCHEMA))
            .cast(SPOT_HISTORY_SCHEMA)
            .sort(KEY_COLUMNS))
