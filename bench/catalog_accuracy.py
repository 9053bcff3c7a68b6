"""How close the catalog's prices and specs are to AWS's published figures, against yardsticks it was not built from.

Each yardstick row is a published price from a source other than the catalog's (see bench/reference/README.md
and YARDSTICKS.md). A yardstick type the catalog does not price counts as a miss, so each figure is coverage
and accuracy at once. Beside each figure, in the same run, the baseline: apache-libcloud 3.9.1 as shipped
(2025-03-02; 0.0 and absent prices count as misses), which is what the catalog was built from before.

* us-east-1 Linux: SkyPilot's catalog rows (independent) and Karpenter's January 2026 table (the same
  generator as the bundled July table, an earlier publication: it measures coverage and drift);
* us-east-1 Windows and other OSes, other regions' Linux (and Windows where found), GPU types;
* the Reserved Instance anchor types against their published rates (reserved.json);
* specs: every us-east-1 type's vCPU, memory and GPUs against DescribeInstanceTypes (the shared reference table).

Run: python bench/catalog_accuracy.py [--tolerance 0.01] [--show-misses]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from advisor.catalog import ec2_source, rates
from advisor.catalog.store import load_catalog

REFERENCE = Path(__file__).parent / "reference"
SHARED_SPECS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "ec2"
GPU_FAMILIES = r"^(g\d|p\d|gr\d|trn|inf|dl)"


def _libcloud() -> pl.DataFrame:
    return ec2_source.load_on_demand().select("instance_type", "region", "os",
                                              baseline=pl.col("libcloud_usd_per_hour"))


def score(reference: pl.DataFrame, ours: pl.DataFrame, tolerance: float) -> dict:
    """Share of reference rows the catalog prices within `tolerance` (an unpriced type is a miss)."""
    key = [c for c in ("instance_type", "region", "os") if c in reference.columns]
    joined = reference.join(ours, on=key, how="left")
    within = ((pl.col("price") / pl.col("published") - 1).abs() <= tolerance).fill_null(False)
    base_within = ((pl.col("baseline") / pl.col("published") - 1).abs() <= tolerance).fill_null(False)
    joined = joined.with_columns(within=within, base_within=base_within)
    n = joined.height
    return {"rows": n, "priced": joined.filter(pl.col("price").is_not_null()).height,
            "within": int(joined["within"].sum()), "baseline_within": int(joined["base_within"].sum()),
            "misses": joined.filter(~pl.col("within"))}


def line(name: str, s: dict, tolerance: float) -> str:
    n = max(s["rows"], 1)
    ratio = (s["within"] / s["baseline_within"]) if s["baseline_within"] else float("inf")
    return (f"{name:<44} {s['within']:>4}/{s['rows']:<4} = {s['within'] / n:6.1%} within {tolerance:.0%} "
            f"(priced {s['priced']}); libcloud baseline {s['baseline_within']:>4}/{s['rows']:<4} = "
            f"{s['baseline_within'] / n:6.1%}; ratio {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    tol = args.tolerance
    catalog = load_catalog()
    ours = catalog.on_demand.select("instance_type", "region", "os", price=pl.col("usd_per_hour"))
    ours = ours.join(_libcloud(), on=["instance_type", "region", "os"], how="full", coalesce=True)
    print(f"catalog {catalog.version} (as of {catalog.as_of}); tolerance {tol:.1%}; a type the catalog lacks is a miss")

    us = pl.read_csv(REFERENCE / "us_east_1_linux_on_demand.csv").select(
        "instance_type", "source", region=pl.lit("us-east-1"), os=pl.lit("linux"), published="usd_per_hour")
    regional = pl.read_csv(REFERENCE / "regional_linux_on_demand.csv").select(
        "instance_type", "region", "source", os=pl.lit("linux"), published="usd_per_hour")
    os_ref = pl.read_csv(REFERENCE / "os_on_demand.csv").select(
        "instance_type", "region", "os", "source", published="usd_per_hour")
    results = {
        "us-east-1 Linux, SkyPilot (independent)": us.filter(pl.col("source").str.contains("skypilot")),
        "us-east-1 Linux, Karpenter 2026-01 (coverage)": us.filter(pl.col("source").str.contains("karpenter")),
        "us-east-1 Windows": os_ref.filter((pl.col("region") == "us-east-1") & (pl.col("os") == "windows")),
        "other regions Windows": os_ref.filter((pl.col("region") != "us-east-1") & (pl.col("os") == "windows")),
        "GPU/accelerator types, every yardstick": pl.concat([us, regional, os_ref], how="diagonal_relaxed")
        .filter(pl.col("instance_type").str.contains(GPU_FAMILIES)),
    }
    for region in sorted(regional["region"].unique()):
        results[f"{region} Linux (SkyPilot)"] = regional.filter(pl.col("region") == region)
    for os_name in ("rhel", "suse"):
        found = os_ref.filter(pl.col("os") == os_name)
        if found.is_empty():
            print(f"us-east-1 {os_name}: no independent published price found for a yardstick (see YARDSTICKS.md)")
        else:
            results[f"{os_name}"] = found
    misses = []
    for name, ref in results.items():
        s = score(ref.select("instance_type", "region", "os", "published"), ours, tol)
        print(line(name, s, tol))
        misses.append(s["misses"].with_columns(yardstick=pl.lit(name)))
    all_regional = score(regional.select("instance_type", "region", "os", "published"), ours, tol)
    print(line("all other regions, Linux", all_regional, tol))
    _reserved(catalog)
    _specs(catalog)
    if args.show_misses:
        with pl.Config(tbl_rows=300, tbl_width_chars=200):
            print(pl.concat(misses, how="diagonal_relaxed").select(
                "yardstick", "instance_type", "region", "os", "published", "price", "baseline"))


def _reserved(catalog) -> None:
    """The RI anchor types' rates in the catalog against the rates AWS published for them."""
    published = catalog.facts.value("reserved.published_rates")
    table = rates.rate_table(catalog, "us-east-1", "linux", "shared").filter(pl.col("purchase_option") == "reserved")
    exact = 0
    for r in published:
        row = table.filter((pl.col("instance_type") == r["instance_type"]) & (pl.col("term") == r["term"])
                           & (pl.col("offering_class") == r["class"])
                           & (pl.col("payment") == rates.payment_code(r["payment"])))
        if row.height and abs(row["usd_per_hour"][0] - r["usd_per_hour"]) < 0.005 \
                and abs(row["upfront_usd"][0] - r["upfront_usd"]) < 0.005:
            exact += 1
    print(f"{'RI anchor rates (reserved.json published)':<44} {exact:>4}/{len(published):<4} reproduced to the cent")


def _specs(catalog) -> None:
    """vCPU, memory and GPUs of every us-east-1 type against DescribeInstanceTypes (the shared table)."""
    found = sorted(SHARED_SPECS.glob("instance_types_*.csv"))
    if not found:
        print(f"specs: {SHARED_SPECS} not found; skipped")
        return
    ref = pl.read_csv(found[-1], infer_schema_length=0).select(
        "instance_type", r_vcpu=pl.col("instance-cpu").cast(pl.Int64),
        r_mem=pl.col("instance-memory").cast(pl.Float64) / 1024,
        r_gpus=pl.coalesce(pl.col("instance-gpu-count").cast(pl.Int64), pl.col("instance-accelerator-count")
                           .cast(pl.Int64), pl.lit(0)),
        r_model=pl.col("instance-gpu-name"))
    priced = catalog.on_demand.filter((pl.col("region") == "us-east-1") & (pl.col("os") == "linux")).select(
        "instance_type")
    specs = priced.join(catalog.specs, on="instance_type").join(ref, on="instance_type", how="left")
    described = specs.filter(pl.col("r_vcpu").is_not_null())
    same_memory = (pl.col("memory_gib") - pl.col("r_mem")).abs() < 1e-9
    equal = described.filter((pl.col("vcpu") == pl.col("r_vcpu")) & same_memory & (pl.col("gpus") == pl.col("r_gpus")))
    gpu_named = specs.filter(pl.col("r_model").is_not_null() & (pl.col("gpus") > 0))
    model_ok = gpu_named.filter(pl.col("gpu_model").str.to_lowercase().str.replace_all(" ", "-")
                                .str.contains(pl.col("r_model").str.split("-").list.first()))
    print(f"{'specs = DescribeInstanceTypes':<44} {equal.height:>4}/{described.height:<4} of the priced us-east-1 "
          f"types it describes (vCPU, memory, GPU count); GPU model as AWS names it: {model_ok.height}/"
          f"{gpu_named.height}; {specs.height - described.height} older types it does not describe keep libcloud's")


if __name__ == "__main__":
    main()
