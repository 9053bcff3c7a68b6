"""Write `data/ec2/` from AWS's generated EC2 tables: run `python -m advisor.catalog.build_ec2_data REFERENCE_DIR`.

REFERENCE_DIR holds the two tables described in `../shared/reference/ec2/README.md`:

* `us_east_1_linux_on_demand_<date>.csv`: AWS Price List API (`pricing:GetProducts`, AmazonEC2, Linux, no
  pre-installed software, capacity status Used, on-demand), us-east-1, as generated into Karpenter's
  `zz_generated.pricing_aws.go`;
* `instance_types_<date>.csv`: `ec2:DescribeInstanceTypes` per type, as generated into Karpenter's
  instance-type reference page, with what an EKS node of the type allocates to pods.

The output keeps the source's figures as they are (prices in USD per hour, sizes in MiB, bandwidth in
Mbps), renames columns to this project's words, and states each file's source and as-of date in
`data/ec2/provenance.json`; the manifest is rewritten so the new checksums are recorded.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import polars as pl

from advisor.catalog import manifest

OUT_DIR = manifest.DATA_DIR / "ec2"
PRICES_FILE = "us_east_1_linux_on_demand.csv"
SPECS_FILE = "instance_types.csv"
PROVENANCE_FILE = "provenance.json"

# Source column -> this project's column. Everything else in the source is left out.
SPEC_COLUMNS = {
    "instance_type": "instance_type",
    "instance-family": "family",
    "instance-size": "size",
    "instance-category": "category",
    "instance-generation": "generation",
    "instance-cpu": "vcpu",
    "instance-memory": "memory_mib",
    "arch": "arch",
    "instance-cpu-manufacturer": "cpu_manufacturer",
    "instance-gpu-count": "gpu_count",
    "instance-gpu-name": "gpu_name",
    "instance-gpu-manufacturer": "gpu_manufacturer",
    "instance-gpu-memory": "gpu_memory_mib",
    "instance-accelerator-count": "accelerator_count",
    "instance-accelerator-name": "accelerator_name",
    "instance-accelerator-manufacturer": "accelerator_manufacturer",
    "instance-local-nvme": "local_storage_gib",
    "instance-network-bandwidth": "network_mbps",
    "instance-ebs-bandwidth": "ebs_mbps",
    "instance-hypervisor": "hypervisor",
    "instance-capability-flex": "flex",
    "allocatable_cpu": "eks_allocatable_cpu",
    "allocatable_memory": "eks_allocatable_memory",
    "allocatable_pods": "eks_allocatable_pods",
}
_DATED = re.compile(r"_(\d{4}-\d{2}-\d{2})\.csv$")


def _dated_file(folder: Path, prefix: str) -> tuple[Path, str]:
    """The newest `<prefix>_<YYYY-MM-DD>.csv` in `folder`, with its date."""
    found = sorted((m.group(1), p) for p in folder.glob(f"{prefix}_*.csv") if (m := _DATED.search(p.name)))
    if not found:
        raise SystemExit(f"no {prefix}_<YYYY-MM-DD>.csv in {folder}")
    as_of, path = found[-1]
    return path, as_of


def build_specs(source: Path) -> pl.DataFrame:
    raw = pl.read_csv(source, infer_schema_length=0)
    missing = sorted(set(SPEC_COLUMNS) - set(raw.columns))
    if missing:
        raise SystemExit(f"{source.name} lacks columns {missing}")
    return raw.select([pl.col(src).alias(dst) for src, dst in SPEC_COLUMNS.items()]).sort("instance_type")


def build_prices(source: Path) -> pl.DataFrame:
    prices = pl.read_csv(source, schema_overrides={"instance_type": pl.String, "usd_per_hour": pl.Float64})
    bad = prices.filter(~(pl.col("usd_per_hour") > 0))
    if bad.height:
        raise SystemExit(f"{source.name}: prices of 0 or below would read as free: {bad['instance_type'].to_list()}")
    return prices.select("instance_type", "usd_per_hour").sort("instance_type")


def provenance(prices_src: Path, prices_as_of: str, specs_src: Path, specs_as_of: str) -> dict:
    return {
        "topic": "ec2",
        "title": "EC2 instance specs and us-east-1 Linux on-demand list prices",
        "sources": {
            "PRICES": {
                "title": "AWS Price List API (pricing:GetProducts, AmazonEC2, us-east-1, Linux, preInstalledSw NA, "
                         "capacitystatus Used, OnDemand) as generated into aws/karpenter-provider-aws "
                         "pkg/providers/pricing/zz_generated.pricing_aws.go at commit 6fc13b52 "
                         f"(reference table {prices_src.name})",
                "url": "https://github.com/aws/karpenter-provider-aws/blob/6fc13b5236fd04fd16ff3f9dc7490d0813994099/"
                       "pkg/providers/pricing/zz_generated.pricing_aws.go",
                "as_of": prices_as_of, "tag": "AWS-PL"},
            "SPECS": {
                "title": "ec2:DescribeInstanceTypes as generated into aws/karpenter-provider-aws "
                         "website/content/en/preview/reference/instance-types.md at commit 692ccdd0, with EKS "
                         f"(AL2023) allocatable CPU, memory and pods per type (reference table {specs_src.name})",
                "url": "https://github.com/aws/karpenter-provider-aws/blob/692ccdd0629e488300821443f0fa0bc3c3e08047/"
                       "website/content/en/preview/reference/instance-types.md",
                "as_of": specs_as_of, "tag": "AWS"},
        },
        "files": {PRICES_FILE: "PRICES", SPECS_FILE: "SPECS"},
        "notes": [
            "Karpenter's generator takes bare-metal prices from the Dedicated-tenancy rows; for most metal sizes "
            "they equal the shared price.",
            "Units as in the sources: memory in MiB, GPU memory in MiB per GPU, local storage in GiB (instance "
            "store, NVMe or HDD), bandwidth in Mbps, EKS allocatable CPU in millicores and memory in Mi.",
            "Written by python -m advisor.catalog.build_ec2_data; do not edit by hand.",
        ],
    }


def main(reference_dir: Path, out_dir: Path = OUT_DIR) -> None:
    prices_src, prices_as_of = _dated_file(reference_dir, "us_east_1_linux_on_demand")
    specs_src, specs_as_of = _dated_file(reference_dir, "instance_types")
    out_dir.mkdir(parents=True, exist_ok=True)
    build_prices(prices_src).write_csv(out_dir / PRICES_FILE)
    build_specs(specs_src).write_csv(out_dir / SPECS_FILE)
    doc = provenance(prices_src, prices_as_of, specs_src, specs_as_of)
    (out_dir / PROVENANCE_FILE).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out_dir}; manifest {manifest.write(out_dir.parent)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m advisor.catalog.build_ec2_data REFERENCE_DIR (e.g. ../shared/reference/ec2)")
    main(Path(sys.argv[1]))
