"""Spot Instance Advisor data (spot-advisor-data.json, the feed behind the console page).

Shape (aws-facts.md §5.3)::

    {"instance_types": {...}, "ranges": [{"index": 0, "label": "<5%", "dots": 0, "max": 5}, ...],
     "spot_advisor": {"<region>": {"Linux": {"<type>": {"s": <savings %>, "r": <range index>}},
                                   "Windows": {...}}}}

Interruption labels and upper bounds are read from the file's own ``ranges`` (the real file's
``max`` values are 5/11/16/22/100, not the 5/10/15/20 the labels suggest). The file carries no
publication date; the caller supplies one.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from advisor.errors import ImportFormatError

SPOT_ADVISOR_SCHEMA: dict[str, Any] = {
    "instance_type": pl.String,
    "region": pl.String,
    "os": pl.String,
    "savings_pct": pl.Int64,
    "interruption_index": pl.Int64,
    "interruption_label": pl.String,
    "interruption_max_pct": pl.Int64,
    "published": pl.String,
    "source": pl.String,
}
KEY_COLUMNS = ["instance_type", "region", "os"]
OS_BY_ADVISOR = {"Linux": "linux", "Windows": "windows"}


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ImportFormatError(f"spot advisor: {what} must be an integer, got {value!r}")
    return value


def _ranges(doc: dict) -> dict[int, tuple[str, int]]:
    ranges = doc.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise ImportFormatError("spot advisor: 'ranges' (the interruption buckets) is missing or empty")
    out: dict[int, tuple[str, int]] = {}
    for r in ranges:
        if not isinstance(r, dict) or not isinstance(r.get("label"), str):
            raise ImportFormatError(f"spot advisor: bad entry in 'ranges': {r!r}")
        index = _int(r.get("index"), "ranges[].index")
        out[index] = (r["label"], _int(r.get("max"), "ranges[].max"))
    return out


def parse_spot_advisor(doc: dict, *, published: str, source: str) -> pl.DataFrame:
    ranges = _ranges(doc)
    advisor = doc.get("spot_advisor")
    if not isinstance(advisor, dict):
        raise ImportFormatError("spot advisor: 'spot_advisor' must be a JSON object of regions")
    rows: list[tuple] = []
    for region, by_os in advisor.items():
        if not isinstance(by_os, dict):
            raise ImportFormatError(f"spot advisor: region {region!r} is not a JSON object")
        for os_key, by_type in by_os.items():
            os_name = OS_BY_ADVISOR.get(os_key)
            if os_name is None:
                continue
            if not isinstance(by_type, dict):
                raise ImportFormatError(f"spot advisor: {region}/{os_key} is not a JSON object")
            for instance_type, entry in by_type.items():
                where = f"{region}/{os_key}/{instance_type}"
                if not isinstance(entry, dict):
                    raise ImportFormatError(f"spot advisor: {where} is not a JSON object")
                savings = _int(entry.get("s"), f"{where} 's'")
                index = _int(entry.get("r"), f"{where} 'r'")
                if index not in ranges:
                    raise ImportFormatError(f"spot advisor: {where} 'r'={index} is not in 'ranges'")
                label, max_pct = ranges[index]
                rows.append((instance_type, region, os_name, savings, index, label, max_pct, published, source))
    if not rows:
        raise ImportFormatError(f"{source}: no Linux/Windows entries in 'spot_advisor'")
    return pl.DataFrame(rows, schema=SPOT_ADVISOR_SCHEMA, orient="row").sort(KEY_COLUMNS)
