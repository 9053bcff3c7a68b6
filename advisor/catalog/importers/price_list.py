"""EC2 prices from the AWS Price List: the bulk offer file and GetProducts records.

Both formats carry the same product + terms structure (aws-facts.md §10): the offer file keeps
products in ``products[sku]`` and terms in ``terms.OnDemand[sku]`` / ``terms.Reserved[sku]``; a
GetProducts record holds one ``product`` with its own ``terms``. Both are reduced to
``(product, {"OnDemand": {...}, "Reserved": {...}})`` pairs and parsed by one routine, so the two
formats give identical rows for the same product.

Memory: the offer file is read with a plain ``json.load``; the full us-east-1 EC2 file (~480 MB)
needs several GB of RAM (roughly 4-6 GB of Python objects). Pass ``regions`` / ``instance_types``
to keep only what you need in the output (the load itself still needs the memory), or fetch only
the needed products with ``live.fetch_price_list`` (GetProducts).

Rules (what is kept and how it is named) are in ``_rows_for_product``; anything not kept is
skipped silently, with counts logged at INFO level.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import polars as pl

from advisor.errors import ImportFormatError

log = logging.getLogger(__name__)

PRICE_SCHEMA: dict[str, Any] = {
    "instance_type": pl.String,
    "region": pl.String,
    "os": pl.String,
    "tenancy": pl.String,
    "purchase_option": pl.String,
    "term": pl.String,
    "offering_class": pl.String,
    "payment": pl.String,
    "upfront_usd": pl.Float64,
    "usd_per_hour": pl.Float64,
    "published": pl.String,
    "source": pl.String,
}
KEY_COLUMNS = ["instance_type", "region", "os", "tenancy", "purchase_option", "term", "offering_class",
               "payment"]

# Price List `location` -> region code, for files without the `regionCode` attribute (before ~2021).
# Commercial partition only (GovCloud/China are not listed: rows there need `regionCode`). The Price
# List spelled European regions "EU (...)"; newer AWS text says "Europe (...)": both are accepted.
REGION_BY_LOCATION: dict[str, str] = {
    "US East (N. Virginia)": "us-east-1",
    "US East (Ohio)": "us-east-2",
    "US West (N. California)": "us-west-1",
    "US West (Oregon)": "us-west-2",
    "Africa (Cape Town)": "af-south-1",
    "Asia Pacific (Hong Kong)": "ap-east-1",
    "Asia Pacific (Taipei)": "ap-east-2",
    "Asia Pacific (Mumbai)": "ap-south-1",
    "Asia Pacific (Hyderabad)": "ap-south-2",
    "Asia Pacific (Tokyo)": "ap-northeast-1",
    "Asia Pacific (Seoul)": "ap-northeast-2",
    "Asia Pacific (Osaka)": "ap-northeast-3",
    "Asia Pacific (Osaka-Local)": "ap-northeast-3",
    "Asia Pacific (Singapore)": "ap-southeast-1",
    "Asia Pacific (Sydney)": "ap-southeast-2",
    "Asia Pacific (Jakarta)": "ap-southeast-3",
    "Asia Pacific (Melbourne)": "ap-southeast-4",
    "Asia Pacific (Malaysia)": "ap-southeast-5",
    "Asia Pacific (New Zealand)": "ap-southeast-6",
    "Asia Pacific (Thailand)": "ap-southeast-7",
    "Canada (Central)": "ca-central-1",
    "Canada West (Calgary)": "ca-west-1",
    "EU (Frankfurt)": "eu-central-1",
    "Europe (Frankfurt)": "eu-central-1",
    "EU (Zurich)": "eu-central-2",
    "Europe (Zurich)": "eu-central-2",
    "EU (Ireland)": "eu-west-1",
    "Europe (Ireland)": "eu-west-1",
    "EU (London)": "eu-west-2",
    "Europe (London)": "eu-west-2",
    "EU (Paris)": "eu-west-3",
    "Europe (Paris)": "eu-west-3",
    "EU (Milan)": "eu-south-1",
    "Europe (Milan)": "eu-south-1",
    "EU (Spain)": "eu-south-2",
    "Europe (Spain)": "eu-south-2",
    "EU (Stockholm)": "eu-north-1",
    "Europe (Stockholm)": "eu-north-1",
    "Israel (Tel Aviv)": "il-central-1",
    "Mexico (Central)": "mx-central-1",
    "Middle East (Bahrain)": "me-south-1",
    "Middle East (UAE)": "me-central-1",
    "South America (Sao Paulo)": "sa-east-1",
    "South America (São Paulo)": "sa-east-1",
}

OS_BY_PRICE_LIST = {"Linux": "linux", "Windows": "windows", "RHEL": "rhel", "SUSE": "suse"}
TENANCY_BY_PRICE_LIST = {"Shared": "shared", "Dedicated": "dedicated", "Host": "host"}
PAYMENT_BY_PURCHASE_OPTION = {"No Upfront": "no_upfront", "Partial Upfront": "partial_upfront",
                              "All Upfront": "all_upfront"}
COMPUTE_FAMILIES = {"Compute Instance", "Compute Instance (bare metal)"}
HOST_FAMILY = "Dedicated Host"
NO_LICENSE = "No License required"

Record = tuple[dict, dict]  # (product, {"OnDemand": {term_key: term}, "Reserved": {...}})


# --------------------------------------------------------------------------- format adapters
def iter_offer_file(doc: dict) -> Iterator[Record]:
    """(product, terms) for every product of a bulk offer file."""
    products = doc.get("products")
    terms = doc.get("terms")
    if not isinstance(products, dict) or not isinstance(terms, dict):
        raise ImportFormatError("offer file: 'products' and 'terms' must be JSON objects")
    on_demand = terms.get("OnDemand") or {}
    reserved = terms.get("Reserved") or {}
    if not isinstance(on_demand, dict) or not isinstance(reserved, dict):
        raise ImportFormatError("offer file: terms.OnDemand / terms.Reserved must be JSON objects")
    for sku, product in products.items():
        if not isinstance(product, dict):
            raise ImportFormatError(f"offer file: product {sku!r} is not a JSON object")
        yield product, {"OnDemand": on_demand.get(sku) or {}, "Reserved": reserved.get(sku) or {}}


def iter_get_products(items: Iterable[dict]) -> Iterator[Record]:
    """(product, terms) for GetProducts records (already json-decoded)."""
    for i, item in enumerate(items):
        product = item.get("product")
        terms = item.get("terms") or {}
        if not isinstance(product, dict) or not isinstance(terms, dict):
            raise ImportFormatError(f"GetProducts record {i}: 'product' and 'terms' must be JSON objects")
        yield product, {"OnDemand": terms.get("OnDemand") or {}, "Reserved": terms.get("Reserved") or {}}


# --------------------------------------------------------------------------- parsing
def _usd(dim: dict, sku: str) -> float | None:
    """The USD price of a price dimension; None when it has no USD price (e.g. CNY-only)."""
    raw = (dim.get("pricePerUnit") or {}).get("USD")
    if raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ImportFormatError(f"product {sku}: price {raw!r} is not a number") from None
    if value < 0 or value != value or value == float("inf"):
        raise ImportFormatError(f"product {sku}: price {raw!r} is not a valid price")
    return value


def _dimensions(term: dict, sku: str) -> tuple[list[float], list[float]]:
    """(hourly prices, upfront fees) of one term, in USD."""
    dims = term.get("priceDimensions") or {}
    if not isinstance(dims, dict):
        raise ImportFormatError(f"product {sku}: priceDimensions must be a JSON object")
    hourly: list[float] = []
    upfront: list[float] = []
    for dim in dims.values():
        value = _usd(dim, sku)
        if value is None:
            continue
        unit = dim.get("unit")
        if unit == "Hrs":
            hourly.append(value)
        elif unit == "Quantity":
            upfront.append(value)
    return hourly, upfront


def _region(attrs: dict) -> str | None:
    location_type = attrs.get("locationType")
    if location_type is not None and location_type != "AWS Region":
        return None  # Local Zones, Wavelength, Outposts: not an AWS Region
    return attrs.get("regionCode") or REGION_BY_LOCATION.get(attrs.get("location", ""))


def _classify(product: dict) -> tuple[str, str, str, str, str] | str:
    """(instance_type, region, os, tenancy, capacity) for a kept product, else the skip reason."""
    family = product.get("productFamily")
    attrs = product.get("attributes") or {}
    is_host = family == HOST_FAMILY
    if family not in COMPUTE_FAMILIES and not is_host:
        return "product family"
    tenancy = TENANCY_BY_PRICE_LIST.get(attrs.get("tenancy", ""))
    if tenancy is None:
        return "tenancy"  # "Reserved" (host reservations) and anything unknown
    if is_host != (tenancy == "host"):
        # an instance *on* a Dedicated Host (HostBoxUsage) is billed through the host: 0.0, or a
        # per-instance license add-on that must not be read as the price of running there.
        return "instance on a dedicated host"
    os_name = OS_BY_PRICE_LIST.get(attrs.get("operatingSystem", ""))
    if os_name is None:
        return "operating system"
    if attrs.get("preInstalledSw", "NA") != "NA":
        return "pre-installed software"
    license_model = attrs.get("licenseModel", NO_LICENSE)
    if license_model != NO_LICENSE and not (os_name == "windows" and license_model == "License Included"):
        return "license model"
    if attrs.get("marketoption", "OnDemand") != "OnDemand":
        return "market option"  # e.g. Capacity Blocks
    capacity = attrs.get("capacitystatus", "Used")
    if is_host:
        if capacity not in ("AllocatedHost", "Used"):
            return "capacity status"
        capacity = "Used"
    elif capacity not in ("Used", "UnusedCapacityReservation"):
        return "capacity status"
    region = _region(attrs)
    if region is None:
        return "location"
    if is_host:
        usage = attrs.get("usagetype", "")
        instance_type = usage.split("HostUsage:", 1)[1] if "HostUsage:" in usage else attrs.get("instanceType")
    else:
        instance_type = attrs.get("instanceType")
    if not instance_type:
        return "no instance type"
    return instance_type, region, os_name, tenancy, capacity


def _rows_for_product(product: dict, terms: dict, published: str, source: str,
                      skipped: Counter) -> Iterator[tuple]:
    kept = _classify(product)
    if isinstance(kept, str):
        skipped[kept] += 1
        return
    instance_type, region, os_name, tenancy, capacity = kept
    sku = str(product.get("sku", "?"))
    base = (instance_type, region, os_name, tenancy)
    on_demand_option = "on_demand" if capacity == "Used" else "capacity_reservation_unused"

    for term in (terms.get("OnDemand") or {}).values():
        hourly, _ = _dimensions(term, sku)
        if len(hourly) != 1:
            skipped["on-demand term without exactly one hourly price"] += 1
            continue
        if hourly[0] == 0.0:
            skipped["on-demand price 0.0 (missing)"] += 1
            continue
        yield (*base, on_demand_option, None, None, None, 0.0, hourly[0], published, source)

    if capacity != "Used":
        return
    for term in (terms.get("Reserved") or {}).values():
        attrs = term.get("termAttributes") or {}
        lease = attrs.get("LeaseContractLength")
        payment = PAYMENT_BY_PURCHASE_OPTION.get(attrs.get("PurchaseOption", ""))
        offering_class = attrs.get("OfferingClass")
        if lease not in ("1yr", "3yr") or payment is None:
            skipped["reserved term (lease/payment)"] += 1
            continue
        if offering_class is not None and offering_class not in ("standard", "convertible"):
            skipped["reserved term (offering class)"] += 1
            continue
        hourly, upfront = _dimensions(term, sku)
        if len(hourly) > 1 or len(upfront) > 1:
            skipped["reserved term with several prices"] += 1
            continue
        if not hourly and payment != "all_upfront":
            skipped["reserved term without hourly price"] += 1
            continue
        usd_per_hour = hourly[0] if hourly else 0.0
        upfront_usd = upfront[0] if upfront else 0.0
        if (payment == "no_upfront") != (upfront_usd == 0.0) or usd_per_hour + upfront_usd == 0.0:
            skipped["reserved term inconsistent with its payment option"] += 1
            continue
        yield (*base, "reserved", lease, offering_class, payment, upfront_usd, usd_per_hour, published, source)


def _family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def parse_price_records(records: Iterable[Record], *, published: str, source: str,
                        regions: Iterable[str] | None = None,
                        instance_types: Iterable[str] | None = None) -> pl.DataFrame:
    """One row per price (schema PRICE_SCHEMA), sorted by KEY_COLUMNS.

    ``regions`` / ``instance_types`` keep only those (Dedicated Host rows are kept for the
    families of the requested instance types). Raises ImportFormatError when nothing is left or
    when two rows with the same key disagree on the price.
    """
    region_set = set(regions) if regions is not None else None
    type_set = set(instance_types) if instance_types is not None else None
    family_set = {_family(t) for t in type_set} if type_set is not None else None
    skipped: Counter = Counter()
    rows: list[tuple] = []
    n_products = 0
    for product, terms in records:
        n_products += 1
        for row in _rows_for_product(product, terms, published, source, skipped):
            if region_set is not None and row[1] not in region_set:
                continue
            if type_set is not None:
                wanted = family_set if row[3] == "host" else type_set
                if row[0] not in wanted:
                    continue
            rows.append(row)
    log.info("price list %s: %d products, %d rows kept, skipped %s", source, n_products, len(rows),
             dict(sorted(skipped.items())))
    if not rows:
        raise ImportFormatError(
            f"{source}: no EC2 compute prices found ({n_products} products read"
            + (", after the region/instance-type filter" if region_set or type_set else "") + ")")
    frame = pl.DataFrame(rows, schema=PRICE_SCHEMA, orient="row").unique(maintain_order=True)
    dupes = frame.group_by(KEY_COLUMNS).len().filter(pl.col("len") > 1)
    if dupes.height:
        first = dupes.sort(KEY_COLUMNS, nulls_last=True).row(0, named=True)
        key = ", ".join(f"{k}={first[k]}" for k in KEY_COLUMNS if first[k] is not None)
        raise ImportFormatError(f"{source}: {dupes.height} price keys have conflicting prices, e.g. {key}")
    return frame.sort(KEY_COLUMNS, nulls_last=True)
