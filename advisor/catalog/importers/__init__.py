"""Importers: official AWS price files -> normalized polars frames.

Formats are detected from the content, never from the file name:

* EC2 bulk offer file (``offerCode`` "AmazonEC2", ``products`` + ``terms``)      -> kind "prices"
* Price List GetProducts: a response ``{"PriceList": [<JSON string>, ...]}``, a list of such
  responses (pages), or a list of product+terms records (JSON strings or objects) -> kind "prices"
* spot-advisor-data.json (``spot_advisor`` + ``ranges``)                         -> kind "spot_advisor"
* DescribeSpotPriceHistory response(s) (``SpotPriceHistory``; one object, or a list of pages)
                                                                                 -> kind "spot_history"

``ImportBatch.published`` is the data's own date: the Price List ``publicationDate``; for the spot
advisor file (which has none) the caller's ``as_of`` or else today's UTC date (never the file's
mtime); for spot history the date of the newest record. ``ImportBatch.source`` is
"<format description> (<source>)", e.g. "AmazonEC2 offer file version 20210205204500 (m5.json)".
Frame schemas: ``price_list.PRICE_SCHEMA``, ``spot_advisor.SPOT_ADVISOR_SCHEMA``,
``spot_history.SPOT_HISTORY_SCHEMA``. Bad input raises ``ImportFormatError`` (never a partial
batch). ``live`` (optional, needs boto3) fetches the same formats from the AWS APIs.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import polars as pl

from advisor.catalog.importers.price_list import (
    PRICE_SCHEMA,
    iter_get_products,
    iter_offer_file,
    parse_price_records,
)
from advisor.catalog.importers.spot_advisor import SPOT_ADVISOR_SCHEMA, parse_spot_advisor
from advisor.catalog.importers.spot_history import SPOT_HISTORY_SCHEMA, parse_spot_history
from advisor.errors import ImportFormatError, InputError

__all__ = [
    "PRICE_SCHEMA",
    "SPOT_ADVISOR_SCHEMA",
    "SPOT_HISTORY_SCHEMA",
    "ImportBatch",
    "detect_format",
    "import_data",
    "import_file",
]

Kind = Literal["prices", "spot_advisor", "spot_history"]
Format = Literal["ec2_offer_file", "get_products", "spot_advisor", "spot_history"]


@dataclass(frozen=True)
class ImportBatch:
    kind: Kind
    frame: pl.DataFrame  # schema depends on kind (see module docstring)
    published: str  # YYYY-MM-DD
    source: str


# --------------------------------------------------------------------------- detection
def _keys_hint(doc: object) -> str:
    if isinstance(doc, dict):
        keys = sorted(map(str, doc))
        more = f", ... ({len(keys)} keys)" if len(keys) > 8 else ""
        return f"a JSON object with keys {keys[:8]}{more}"
    if isinstance(doc, list):
        first = doc[0] if doc else None
        return f"a JSON list of {len(doc)} items (first: {_keys_hint(first) if first is not None else 'none'})"
    return f"a JSON {type(doc).__name__}"


_SUPPORTED = ("an EC2 offer file (offerCode/products/terms), a GetProducts response (PriceList) or its "
              "records (product/terms), spot-advisor-data.json (spot_advisor/ranges), or a "
              "DescribeSpotPriceHistory response (SpotPriceHistory)")


def detect_format(doc: object) -> Format:
    """Which supported format ``doc`` (decoded JSON) is in; ImportFormatError if none."""
    if isinstance(doc, dict):
        if "offerCode" in doc and "products" in doc:
            if doc.get("offerCode") != "AmazonEC2":
                raise ImportFormatError(
                    f"offer file for {doc.get('offerCode')!r}: only the AmazonEC2 offer file is read")
            if "terms" not in doc:
                raise ImportFormatError("AmazonEC2 offer file without 'terms'")
            return "ec2_offer_file"
        if "PriceList" in doc or ("product" in doc and "terms" in doc):
            return "get_products"
        if "spot_advisor" in doc:
            return "spot_advisor"
        if "SpotPriceHistory" in doc:
            return "spot_history"
    elif isinstance(doc, list) and doc:
        if all(isinstance(d, dict) and "PriceList" in d for d in doc):
            return "get_products"
        if all(isinstance(d, dict) and "SpotPriceHistory" in d for d in doc):
            return "spot_history"
        if all(isinstance(d, str) or (isinstance(d, dict) and "product" in d) for d in doc):
            return "get_products"
    raise ImportFormatError(f"unrecognized price data: got {_keys_hint(doc)}; expected {_SUPPORTED}")


# --------------------------------------------------------------------------- helpers
def _check_date(value: str, what: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a date YYYY-MM-DD, got {value!r}", field="as_of") from None


def _publication_date(value: object, what: str) -> str:
    """'2021-02-05T20:45:00Z' -> '2021-02-05'."""
    if not isinstance(value, str):
        raise ImportFormatError(f"{what}: publicationDate {value!r} is not a string")
    try:
        return datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        raise ImportFormatError(f"{what}: publicationDate {value!r} is not an ISO 8601 date") from None


def _get_products_records(doc: dict | list) -> list[dict]:
    """The product+terms records of a GetProducts response, page list, or record list."""
    if isinstance(doc, dict):
        raw: list = doc.get("PriceList", [doc])
    elif all(isinstance(d, dict) and "PriceList" in d for d in doc):
        raw = [item for page in doc for item in page["PriceList"]]
    else:
        raw = list(doc)
    if not isinstance(raw, list):
        raise ImportFormatError("GetProducts: 'PriceList' must be a list")
    records: list[dict] = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            try:
                item = json.loads(item)
            except json.JSONDecodeError as e:
                raise ImportFormatError(f"GetProducts: PriceList element {i} is not valid JSON: {e}") from None
        if not isinstance(item, dict) or "product" not in item:
            raise ImportFormatError(f"GetProducts: PriceList element {i} has no 'product'")
        service = item.get("serviceCode", "AmazonEC2")
        if service != "AmazonEC2":
            raise ImportFormatError(f"GetProducts: element {i} is for {service!r}; only AmazonEC2 is read")
        records.append(item)
    if not records:
        raise ImportFormatError("GetProducts: the PriceList is empty")
    return records


def _spot_history_records(doc: dict | list) -> list[dict]:
    pages = doc if isinstance(doc, list) else [doc]
    records: list[dict] = []
    for page in pages:
        history = page.get("SpotPriceHistory")
        if not isinstance(history, list):
            raise ImportFormatError("spot history: 'SpotPriceHistory' must be a list")
        records.extend(history)
    return records


# --------------------------------------------------------------------------- public API
def import_data(doc: dict | list, *, source: str, as_of: str | None = None,
                regions: Iterable[str] | None = None,
                instance_types: Iterable[str] | None = None) -> ImportBatch:
    """Parse decoded JSON in any supported format.

    ``source`` names where the data came from (a file name, an API call); ``as_of`` (YYYY-MM-DD)
    dates data that carries no date of its own (spot advisor; GetProducts records without
    publicationDate). ``regions`` / ``instance_types`` filter price rows only.
    """
    if as_of is not None:
        as_of = _check_date(as_of, "as_of")
    fmt = detect_format(doc)

    if fmt == "ec2_offer_file":
        assert isinstance(doc, dict)
        version = doc.get("version", "unknown")
        if "publicationDate" in doc:
            published = _publication_date(doc["publicationDate"], "offer file")
        elif as_of is not None:
            published = as_of
        else:
            raise ImportFormatError("offer file has no publicationDate: pass as_of")
        label = f"AmazonEC2 offer file version {version} ({source})"
        frame = parse_price_records(iter_offer_file(doc), published=published, source=label,
                                    regions=regions, instance_types=instance_types)
        return ImportBatch("prices", frame, published, label)

    if fmt == "get_products":
        records = _get_products_records(doc)
        dates = {_publication_date(r["publicationDate"], "GetProducts") for r in records if "publicationDate" in r}
        if dates:
            published = max(dates)
        elif as_of is not None:
            published = as_of
        else:
            raise ImportFormatError("GetProducts records have no publicationDate: pass as_of")
        versions = sorted({str(r["version"]) for r in records if "version" in r})
        version = versions[-1] if versions else "unknown"
        label = f"AmazonEC2 GetProducts price list version {version} ({source})"
        frame = parse_price_records(iter_get_products(records), published=published, source=label,
                                    regions=regions, instance_types=instance_types)
        return ImportBatch("prices", frame, published, label)

    if fmt == "spot_advisor":
        assert isinstance(doc, dict)
        published = as_of or datetime.now(UTC).date().isoformat()
        label = f"EC2 Spot Instance Advisor data ({source})"
        return ImportBatch("spot_advisor", parse_spot_advisor(doc, published=published, source=label),
                           published, label)

    records = _spot_history_records(doc)
    label = f"EC2 DescribeSpotPriceHistory, {len(records)} records ({source})"
    frame = parse_spot_history(records, source=label)
    return ImportBatch("spot_history", frame, str(frame["published"].max()), label)


def import_file(path: Path, *, as_of: str | None = None, regions: Iterable[str] | None = None,
                instance_types: Iterable[str] | None = None) -> ImportBatch:
    """Read a JSON (optionally gzip-compressed) price file; the format is detected from content.

    A full offer file is json-loaded whole: the us-east-1 EC2 file (~480 MB) needs several GB of
    memory (see price_list). Raises ImportFormatError with a clear message for unreadable input.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}", field="path") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise ImportFormatError(f"{path.name}: corrupt gzip data: {e}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFormatError(f"{path.name}: not a UTF-8 text file (expected JSON)") from None
    head = text.lstrip()[:200]
    if head.startswith('"FormatVersion"') or head.startswith("FormatVersion"):
        raise ImportFormatError(f"{path.name}: this is a CSV offer file; download the JSON one (index.json)")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ImportFormatError(f"{path.name}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(doc, dict | list):
        raise ImportFormatError(f"{path.name}: unrecognized price data: got {_keys_hint(doc)}")
    return import_data(doc, source=path.name, as_of=as_of, regions=regions, instance_types=instance_types)
