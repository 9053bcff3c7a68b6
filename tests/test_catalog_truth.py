"""Catalog truth: AWS's 2026 types and prices, licence-included OSes, GPUs, published rates, freshness.

Expected figures are recomputed here from the bundled facts (data/ec2 read as plain CSV, the licence fees
stated in the test), never read back from the table under test.
"""

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from advisor.catalog import ec2_source, rates
from advisor.catalog.check import report
from advisor.recommend import recommend
from models.workload import Workload

DATA = Path(__file__).resolve().parents[1] / "data" / "ec2"
WINDOWS_PER_VCPU = 0.046          # AWS: licence-included Windows Server, USD per vCPU-hour (EC2 Optimize CPU doc)


@pytest.fixture(scope="module")
def published():
    """us-east-1 Linux list prices and DescribeInstanceTypes specs, read straight from the bundled files."""
    prices = pl.read_csv(DATA / "us_east_1_linux_on_demand.csv")
    specs = pl.read_csv(DATA / "instance_types.csv", infer_schema_length=0)
    return prices.join(specs, on="instance_type")


def _price(catalog, itype, os="linux", region="us-east-1"):
    row = catalog.on_demand.filter((pl.col("instance_type") == itype) & (pl.col("os") == os)
                                   & (pl.col("region") == region))
    return row.row(0, named=True) if row.height else None


def test_every_type_aws_lists_in_us_east_1_is_priced_at_its_list_price(catalog, published):
    described = published.filter(~pl.col("size").str.starts_with("metal"))
    ours = catalog.on_demand.filter((pl.col("region") == "us-east-1") & (pl.col("os") == "linux"))
    joined = described.join(ours.select("instance_type", ours_usd="usd_per_hour", q="price_quality"),
                            on="instance_type", how="left")
    assert joined["ours_usd"].null_count() == 0, "a type AWS sells in us-east-1 is missing"
    assert (joined["ours_usd"] - joined["usd_per_hour"]).abs().max() < 1e-9
    assert set(joined["q"]) == {"list"}
    assert described.height > 1150     # every non-metal type AWS lists (metal: the next tests)


def test_windows_is_linux_plus_licence_on_a_non_burstable_type_of_every_current_x86_family(catalog, published):
    x86 = published.filter((pl.col("arch") == "amd64") & (pl.col("category") != "t")
                           & ~pl.col("size").str.starts_with("metal")
                           & ~pl.col("category").is_in(["inf", "trn", "dl", "f", "vt", "p"]))
    one_per_family = x86.sort("instance_type").group_by("family", maintain_order=True).first()
    assert one_per_family.height > 80
    for row in one_per_family.iter_rows(named=True):
        expected = round(row["usd_per_hour"] + WINDOWS_PER_VCPU * int(row["vcpu"]), 6)
        got = _price(catalog, row["instance_type"], "windows")
        assert got is not None, f"{row['instance_type']} has no Windows price"
        assert got["usd_per_hour"] == pytest.approx(expected, abs=1e-6), row["instance_type"]
        assert got["price_quality"] == "derived"


def test_c5_large_windows_is_the_published_177_not_the_fee_alone(catalog):
    assert _price(catalog, "c5.large", "windows")["usd_per_hour"] == pytest.approx(0.177)


def test_a_fee_only_windows_value_above_linux_is_never_kept(catalog):
    """libcloud lists some Windows prices as the licence fee alone; where that fee exceeds the Linux price
    (c6i.large: fee 0.092 > Linux 0.085) the old rule kept it as `list`. It is never the answer now."""
    raw = ec2_source.load_on_demand().filter(pl.col("region") == "us-east-1").pivot(
        on="os", index="instance_type", values="libcloud_usd_per_hour")
    specs = catalog.specs.select("instance_type", "vcpu", "burstable")
    fee_only = (raw.join(specs, on="instance_type")
                .filter(~pl.col("burstable") & (pl.col("linux") > 0)
                        & ((pl.col("windows") - WINDOWS_PER_VCPU * pl.col("vcpu")).abs() < 1e-9)
                        & (pl.col("windows") > pl.col("linux"))))
    assert fee_only.height > 0
    for row in fee_only.iter_rows(named=True):
        ours = _price(catalog, row["instance_type"], "windows")
        if ours is None:
            continue
        assert ours["usd_per_hour"] > row["windows"] + 0.01, row["instance_type"]


def test_burstable_windows_uses_the_size_fee_and_arm_has_no_windows(catalog):
    assert _price(catalog, "t3a.medium", "windows")["usd_per_hour"] == pytest.approx(0.0376 + 0.0184)
    assert _price(catalog, "t3.xlarge", "windows")["usd_per_hour"] == pytest.approx(0.1664 + 0.0736)
    assert _price(catalog, "m7g.large", "windows") is None
    assert _price(catalog, "inf2.xlarge", "windows") is None


def test_rhel_and_suse_follow_the_published_fee_bands(catalog):
    # RHEL since 2024-04-01: 4 vCPU 0.0576, 16 vCPU 0.1728 (AWS RHEL pricing FAQ); SUSE 0.0563 / 0.125
    assert _price(catalog, "c5.xlarge", "rhel")["usd_per_hour"] == pytest.approx(0.17 + 0.0576)
    assert _price(catalog, "c5.4xlarge", "rhel")["usd_per_hour"] == pytest.approx(0.68 + 0.1728)
    assert _price(catalog, "m5.large", "suse")["usd_per_hour"] == pytest.approx(0.096 + 0.0563)
    assert _price(catalog, "m5.4xlarge", "suse")["usd_per_hour"] == pytest.approx(0.768 + 0.125)


def test_p5_4xlarge_exists_with_one_h100_at_the_cut_price(catalog):
    spec = catalog.specs.filter(pl.col("instance_type") == "p5.4xlarge").row(0, named=True)
    assert (spec["gpus"], spec["gpu_model"], spec["gpu_vendor"], spec["gpu_memory_gib_each"]) == (1, "H100", "NVIDIA",
                                                                                                  80.0)
    assert _price(catalog, "p5.4xlarge")["usd_per_hour"] == pytest.approx(6.88)
    assert _price(catalog, "p5.48xlarge")["usd_per_hour"] == pytest.approx(55.04)     # after the mid-2025 cut
    assert _price(catalog, "p4d.24xlarge")["usd_per_hour"] == pytest.approx(21.957642)  # AWS quotes $21.96


def test_a_one_h100_workload_is_placed_on_p5_4xlarge(catalog):
    rec = recommend(Workload(id="h100", vcpu=8, memory_gib=64, gpus=1, gpu_model="H100", horizon_months=1,
                             allowed_services=["ec2"]), catalog=catalog)
    assert rec.choice.instance_type == "p5.4xlarge" and rec.choice.count == 1
    assert rec.choice.monthly_usd == pytest.approx(6.88 * 730, abs=0.01)


@pytest.mark.parametrize(("itype", "model", "vendor"), [
    ("g4dn.xlarge", "T4", "NVIDIA"), ("g5.xlarge", "A10G", "NVIDIA"), ("g6.xlarge", "L4", "NVIDIA"),
    ("g6e.xlarge", "L40S", "NVIDIA"), ("p5e.48xlarge", "H200", "NVIDIA"), ("p6-b200.48xlarge", "B200", "NVIDIA"),
    ("g4ad.xlarge", "Radeon Pro V520", "AMD"), ("trn1.2xlarge", "Trainium", "AWS"),
    ("inf2.xlarge", "Inferentia2", "AWS")])
def test_gpu_model_and_vendor_per_type(catalog, itype, model, vendor):
    spec = catalog.specs.filter(pl.col("instance_type") == itype).row(0, named=True)
    assert (spec["gpu_model"], spec["gpu_vendor"]) == (model, vendor) and spec["gpus"] >= 1


def test_amd_gpus_only_on_g4ad(catalog):
    amd = catalog.specs.filter(pl.col("gpu_vendor") == "AMD")
    assert set(amd["family"]) == {"g4ad"}


def test_specs_equal_describe_instance_types(catalog, published):
    ours = catalog.specs.select("instance_type", "vcpu", "memory_gib", "gpus")
    raw = published.select("instance_type", r_vcpu=pl.col("vcpu").cast(pl.Int64),
                           r_mem=pl.col("memory_mib").cast(pl.Float64) / 1024,
                           r_gpu=pl.coalesce(pl.col("gpu_count").cast(pl.Int64),
                                             pl.col("accelerator_count").cast(pl.Int64), pl.lit(0)))
    joined = raw.join(ours, on="instance_type", how="left")
    assert joined["vcpu"].null_count() == 0
    assert (joined["vcpu"] == joined["r_vcpu"]).all()
    assert ((joined["memory_gib"] - joined["r_mem"]).abs() < 1e-9).all()
    assert (joined["gpus"] == joined["r_gpu"]).all()


def test_bare_metal_is_priced_as_its_same_vcpu_sibling_not_the_dedicated_row(catalog):
    # The list's m7i.metal-24xl is 5.32224 (Dedicated); shared = m7i.24xlarge 4.8384 (SkyPilot agrees)
    row = _price(catalog, "m7i.metal-24xl")
    assert row["usd_per_hour"] == pytest.approx(_price(catalog, "m7i.24xlarge")["usd_per_hour"])
    assert row["price_quality"] == "derived"


def test_other_regions_are_the_list_times_the_types_own_price_list_ratio(catalog):
    raw = ec2_source.load_on_demand().filter((pl.col("instance_type") == "c5.xlarge") & (pl.col("os") == "linux"))
    lc = dict(zip(raw["region"], raw["libcloud_usd_per_hour"], strict=True))
    row = _price(catalog, "c5.xlarge", region="eu-central-1")
    assert row["usd_per_hour"] == pytest.approx(0.17 * lc["eu-central-1"] / lc["us-east-1"], abs=1e-6)
    assert row["price_quality"] == "derived"


def test_a_new_family_is_not_claimed_where_no_source_lists_it(catalog):
    assert _price(catalog, "p6-b200.48xlarge", region="sa-east-1") is None
    estimate = _price(catalog, "c8i.xlarge", region="eu-west-1")
    assert estimate is not None and estimate["price_quality"] == "estimate" and "availability" in estimate["basis"]


def test_lambda_in_ap_southeast_2_costs_what_it_costs_in_us_east_1(catalog):
    base = dict(id="fn", requests_per_month=5_000_000, avg_duration_ms=120, function_memory_mb=512,
                allowed_services=["lambda"])
    us = recommend(Workload(**base), catalog=catalog)
    syd = recommend(Workload(**base, region="ap-southeast-2"), catalog=catalog)
    assert syd.choice.monthly_usd == us.choice.monthly_usd
    assert syd.choice.estimates == us.choice.estimates      # nothing scaled for the region


def test_ri_anchor_types_reproduce_their_published_rates_to_the_cent(catalog):
    table = rates.rate_table(catalog, "us-east-1", "linux", "shared").filter(pl.col("purchase_option") == "reserved")
    published = catalog.facts.value("reserved.published_rates")
    assert len(published) == 24
    for r in published:
        row = table.filter((pl.col("instance_type") == r["instance_type"]) & (pl.col("term") == r["term"])
                           & (pl.col("offering_class") == r["class"])
                           & (pl.col("payment") == rates.payment_code(r["payment"]))).row(0, named=True)
        assert round(row["usd_per_hour"], 4) == round(r["usd_per_hour"], 4), r
        assert round(row["upfront_usd"], 2) == round(r["upfront_usd"], 2), r
        assert row["quality"] == "list"


def test_published_ri_rates_never_price_something_else_under_the_types_name(catalog):
    """A Dedicated Host of the m5 family is priced through the rate table under the name m5.large at the host's
    hourly price: m5.large's own published RI rates ($494 a year all upfront) must not become the host's."""
    host = pl.DataFrame({"instance_type": ["m5.large"], "usd_per_hour": [5.069], "price_quality": ["estimate"]})
    reserved = rates.priced(catalog, host, "us-east-1", "linux").filter(pl.col("purchase_option") == "reserved")
    assert reserved.height == 12 and set(reserved["quality"]) == {"estimate"}
    all_upfront_1yr = reserved.filter((pl.col("term") == "1yr") & (pl.col("payment") == "all_upfront")
                                      & (pl.col("offering_class") == "standard"))
    assert all_upfront_1yr["upfront_usd"].item() > 20_000


def test_catalog_check_flags_sources_older_than_90_days_and_says_how_to_refresh(catalog):
    fresh = report(catalog, today=date(2026, 8, 1))
    assert not any(f["stale"] for f in fresh["freshness"] if f["name"].startswith("EC2"))
    stale = report(catalog, today=date(2026, 12, 7))
    listed = next(f for f in stale["freshness"] if f["name"] == "EC2 us-east-1 Linux on-demand list prices")
    assert listed["stale"] and listed["age_days"] == 140
    assert stale["stale"] and "advisor catalog import" in stale["advice"]


def test_answers_name_each_source_with_its_as_of_date(catalog):
    rec = recommend(Workload(id="w", vcpu=2, memory_gib=8), catalog=catalog)
    by_name = {s.name: s.as_of for s in rec.catalog.sources}
    assert by_name["EC2 us-east-1 Linux on-demand list prices"] == "2026-07-20"
    assert rec.choice.config.get("price_quality") in ("list", "derived", "estimate", "imported", None)


def test_commitments_and_spot_never_discount_the_windows_licence(catalog):
    """A Windows RI, savings plan or Spot estimate is the Linux rate's discount on the compute part plus the full
    licence fee: r5a.xlarge (4 vCPU) pays 0.184/h of licence on every option."""
    fee = WINDOWS_PER_VCPU * 4
    linux = rates.rate_table(catalog, "us-east-1", "linux", "shared").filter(pl.col("instance_type") == "r5a.xlarge")
    windows = rates.rate_table(catalog, "us-east-1", "windows", "shared").filter(
        pl.col("instance_type") == "r5a.xlarge")
    joined = linux.join(windows, on=["option_id"], suffix="_win")
    assert joined.height >= 26
    for row in joined.iter_rows(named=True):
        assert row["usd_per_hour_win"] == pytest.approx(row["usd_per_hour"] + fee, abs=2e-6), row["option_id"]
        assert row["upfront_usd_win"] == pytest.approx(row["upfront_usd"], abs=0.01), row["option_id"]


def test_a_windows_answer_never_costs_less_than_its_licence(catalog):
    w = Workload(id="erp-app", os="windows", vcpu=4, memory_gib=32, replicas=2, horizon_months=36,
                 allowed_services=["ec2"])
    rec = recommend(w, catalog=catalog)
    vcpus = catalog.specs.filter(pl.col("instance_type") == rec.choice.instance_type)["vcpu"].item()
    licence_a_month = WINDOWS_PER_VCPU * vcpus * 730 * rec.choice.count
    assert rec.choice.monthly_usd > licence_a_month
