"""EC2 instance specs and on-demand prices from apache-libcloud's bundled data.

libcloud ships `libcloud/data/pricing.json` (on-demand prices per region for Linux, Windows,
RHEL and SUSE) and `libcloud/compute/constants/ec2_instance_types.py` (the specs, scraped from
the AWS Price List). Both are read here, as they are; defects (0.0 for missing prices, some
non-default SKUs) are handled in `repair.py`, never here.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import libcloud
import polars as pl

PRICING_KEYS = {"linux": "ec2_linux", "windows": "ec2_windows", "rhel": "ec2_rhel", "suse": "ec2_suse"}
OPERATING_SYSTEMS = tuple(PRICING_KEYS)

_LIBCLOUD_DIR = Path(libcloud.__file__).parent
PRICING_FILE = _LIBCLOUD_DIR / "data" / "pricing.json"
SPECS_FILE = _LIBCLOUD_DIR / "compute" / "constants" / "ec2_instance_types.py"

_SIZE_ORDER = ["nano", "micro", "small", "medium", "large", "xlarge"]
_STORAGE = re.compile(r"^(?:(\d+)\s*x\s*)?([\d.]+)\s*(?:GB)?\s*(NVMe SSD|SSD|HDD)?$", re.IGNORECASE)
_NETWORK = re.compile(r"([\d.]+)\s*(Gigabit|Megabit)", re.IGNORECASE)


def libcloud_version() -> str:
    return version("apache-libcloud")


def source_files() -> list[Path]:
    return [PRICING_FILE, SPECS_FILE]


def pricing_updated() -> str:
    """The as-of date stamped in libcloud's pricing.json (`updated`, a Unix time)."""
    stamp = json.loads(PRICING_FILE.read_text())["updated"]
    return datetime.fromtimestamp(stamp, UTC).date().isoformat()


def parse_storage(text: str) -> tuple[int, float, bool]:
    """'2 x 1900 NVMe SSD' -> (2, 1900.0, True); 'EBS only' -> (0, 0.0, False).

    A size with no disk kind ('3 x 3750GB') is read as not known to be NVMe.
    """
    match = _STORAGE.match(text.strip())
    if not match:
        return 0, 0.0, False
    count = int(match.group(1) or 1)
    kind = (match.group(3) or "").lower()
    return count, float(match.group(2)), kind.startswith("nvme")


def parse_network_gbps(text: str) -> float | None:
    """Peak network bandwidth in Gbit/s ('Up to 12500 Megabit' -> 12.5); None for 'Moderate' etc."""
    match = _NETWORK.search(text)
    if not match:
        return None
    value = float(match.group(1))
    return value / 1000 if match.group(2).lower().startswith("mega") else value


def _arch(processor: str) -> str:
    return "arm64" if "graviton" in processor.lower() else "x86_64"


def _size_rank(size: str) -> float:
    """Orders sizes within a family: nano < ... < xlarge < 2xlarge < ... < metal."""
    if size in _SIZE_ORDER:
        return float(_SIZE_ORDER.index(size))
    match = re.match(r"^(\d+)xlarge$", size)
    if match:
        return len(_SIZE_ORDER) - 1 + float(match.group(1))
    return 10_000.0  # metal and other special sizes come last


def load_specs() -> pl.DataFrame:
    """One row per instance type with the specs libcloud knows (GPU model is added later)."""
    from libcloud.compute.constants.ec2_instance_types import INSTANCE_TYPES

    rows = []
    for name in sorted(INSTANCE_TYPES):
        extra = INSTANCE_TYPES[name]["extra"]
        family, _, size = name.partition(".")
        disks, disk_gib, nvme = parse_storage(extra.get("storage", ""))
        gpus = extra.get("gpu", "0")
        nsf = extra.get("normalizationSizeFactor", "NA")
        rows.append({
            "instance_type": name,
            "family": family,
            "size": size,
            "size_rank": _size_rank(size),
            "vcpu": int(extra["vcpu"]),
            "memory_gib": float(extra["memory"].split()[0].replace(",", "")),
            "gpus": int(gpus) if gpus.isdigit() else 0,
            "gpu_memory_text": extra.get("gpuMemory", "NA"),
            "arch": _arch(extra.get("physicalProcessor", "")),
            "processor": extra.get("physicalProcessor", ""),
            "burstable": family.startswith("t"),
            "bare_metal": "metal" in size,
            "instance_store_disks": disks,
            "instance_store_gib_each": disk_gib,
            "instance_store_gib": disks * disk_gib,
            "instance_store_nvme": nvme,
            "network_performance": extra.get("networkPerformance", ""),
            "network_gbps": parse_network_gbps(extra.get("networkPerformance", "")),
            "normalization_factor": float(nsf) if nsf not in ("NA", "") else None,
            "current_generation": extra.get("currentGeneration") == "Yes",
            "instance_category": extra.get("instanceFamily", ""),
        })
    return pl.DataFrame(rows)


def current_generation() -> dict[str, bool]:
    """AWS's currentGeneration attribute per type, as libcloud copied it from the price list."""
    from libcloud.compute.constants.ec2_instance_types import INSTANCE_TYPES

    return {name: INSTANCE_TYPES[name]["extra"].get("currentGeneration") == "Yes" for name in sorted(INSTANCE_TYPES)}


def load_on_demand() -> pl.DataFrame:
    """Every (type, region, os) price libcloud lists, 0.0 included (repair decides what it means)."""
    pricing = json.loads(PRICING_FILE.read_text())["compute"]
    types, regions, oses, prices = [], [], [], []
    for os_name, key in PRICING_KEYS.items():
        for itype, by_region in pricing[key].items():
            for region, price in by_region.items():
                types.append(itype)
                regions.append(region)
                oses.append(os_name)
                prices.append(float(price))
    return pl.DataFrame(
        {"instance_type": types, "region": regions, "os": oses, "libcloud_usd_per_hour": prices},
        schema={"instance_type": pl.String, "region": pl.String, "os": pl.String,
                "libcloud_usd_per_hour": pl.Float64},
    ).sort("instance_type", "region", "os")
