"""The catalog as a whole: no unmarked price <= 0, qualities, imports replacing bundled prices, and the commands."""

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from advisor.catalog import overlay
from advisor.catalog.check import nonpositive_unmarked, quality_counts
from advisor.catalog.importers import import_file
from advisor.catalog.store import load_catalog
from advisor.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "import"
runner = CliRunner()


def test_no_price_at_or_below_zero_unless_missing(catalog):
    assert nonpositive_unmarked(catalog) == 0
    priced = catalog.on_demand.filter(pl.col("price_quality") != "missing")
    assert priced["usd_per_hour"].min() > 0
    assert catalog.on_demand.filter(pl.col("price_quality") == "missing")["usd_per_hour"].null_count() == \
        catalog.on_demand.filter(pl.col("price_quality") == "missing").height


def test_every_price_says_its_quality_and_how_it_was_made(catalog):
    assert set(catalog.on_demand["price_quality"].unique()) <= {"list", "derived", "estimate", "imported", "missing"}
    assert catalog.on_demand["basis"].null_count() == 0
    assert catalog.on_demand.filter(pl.col("price_quality") == "derived").height > 0


def test_known_libcloud_defects_are_gone(catalog):
    od = catalog.on_demand.filter((pl.col("region") == "us-east-1") & (pl.col("os") == "linux"))

    def price(t):
        return od.filter(pl.col("instance_type") == t).row(0, named=True)

    assert price("r5.large")["usd_per_hour"] == pytest.approx(0.126)       # libcloud 0.134
    assert price("m5d.4xlarge")["usd_per_hour"] == pytest.approx(0.904)    # libcloud 0.959
    assert price("m5.xlarge")["usd_per_hour"] == pytest.approx(0.192)      # libcloud 0.0 (missing)
    assert price("t3.medium")["usd_per_hour"] == pytest.approx(0.0416)     # libcloud 0.0 (missing)
    assert price("m5.large")["price_quality"] == "list"


def test_gpu_model_from_specs_distinguishes_t4_from_t4g(catalog):
    specs = catalog.specs
    assert specs.filter(pl.col("instance_type") == "g4dn.xlarge")["gpu_model"].item() == "T4"
    assert specs.filter(pl.col("instance_type") == "g5g.xlarge")["gpu_model"].item() != "T4"
    assert specs.filter(pl.col("instance_type") == "m5.large")["gpu_model"].item() is None


def test_quality_counts_cover_every_region(catalog):
    counts = quality_counts(catalog)
    assert set(counts["region"]) == set(catalog.regions())
    assert (counts["list"] + counts["derived"] + counts["estimate"] + counts["imported"] + counts["missing"]).min() > 0


def test_cli_list_json_has_the_contract_fields():
    result = runner.invoke(app, ["catalog", "list", "--region", "us-east-1", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    required = {"instance_type", "vcpu", "memory_gib", "gpus", "gpu_model", "arch", "on_demand_usd_per_hour",
                "price_quality"}
    assert required <= set(rows[0])
    m5 = next(r for r in rows if r["instance_type"] == "m5.large")
    assert (m5["vcpu"], m5["memory_gib"], m5["on_demand_usd_per_hour"]) == (2, 8.0, 0.096)


def test_cli_show_json_lists_every_purchase_option():
    result = runner.invoke(app, ["catalog", "show", "m5.large", "--region", "us-east-1", "--format", "json"])
    assert result.exit_code == 0, result.output
    rec = json.loads(result.stdout)
    options = {(r["tenancy"], r["purchase_option"]) for r in rec["rates"]}
    assert {("shared", "on_demand"), ("shared", "spot"), ("shared", "reserved"), ("shared", "savings_plan"),
            ("shared", "capacity_reservation"), ("dedicated", "on_demand"), ("shared", "scheduled")} <= options
    reserved = [r for r in rec["rates"] if r["purchase_option"] == "reserved" and r["tenancy"] == "shared"]
    # m5.large's own published RI rates (reserved.json) are used as they are: list, not the averaged ratios
    assert len(reserved) == 12 and all(r["quality"] == "list" for r in reserved)
    assert next(r for r in rec["rates"] if r["purchase_option"] == "scheduled")["purchasable"] is False
    assert rec["catalog"]["version"]


def test_cli_show_table_and_unknown_type():
    assert runner.invoke(app, ["catalog", "show", "m5.large"]).exit_code == 0
    bad = runner.invoke(app, ["catalog", "show", "m5.huge"])
    assert bad.exit_code != 0


def test_cli_check_reports_counts_rules_sources_and_version():
    result = runner.invoke(app, ["catalog", "check", "--format", "json"])
    assert result.exit_code == 0, result.output
    rep = json.loads(result.stdout)
    assert rep["nonpositive_unmarked"] == 0
    rules = {r["repair_rule"]: r["prices"] for r in rep["rules"]}
    assert rules["family_proportional"] > 0
    assert len(rep["repairs"]) == sum(rules.values())
    assert rep["catalog"]["version"] and rep["catalog"]["as_of"] == "2026-07-20"
    as_of = {f["name"]: f["as_of"] for f in rep["freshness"]}
    assert as_of["EC2 us-east-1 Linux on-demand list prices"] == "2026-07-20"
    assert as_of["EC2 instance specs (DescribeInstanceTypes)"] == "2026-07-11"


def test_import_replaces_bundled_prices_and_changes_the_version(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVISOR_HOME", str(tmp_path))
    before = load_catalog()
    result = runner.invoke(app, ["catalog", "import", str(FIXTURES / "get_products_m5_large.json")])
    assert result.exit_code == 0, result.output
    after = load_catalog()
    assert after.version != before.version
    row = after.on_demand.filter((pl.col("instance_type") == "m5.large") & (pl.col("region") == "us-east-1")
                                 & (pl.col("os") == "linux")).row(0, named=True)
    assert (row["usd_per_hour"], row["price_quality"]) == (0.096, "imported")
    assert row["basis"].startswith("imported")
    from advisor.catalog.rates import all_rates

    rates = all_rates(after, "m5.large", "us-east-1", "linux")
    std_1yr_pu = next(r for r in rates if r["purchase_option"] == "reserved" and r["tenancy"] == "shared"
                      and r["offering_class"] == "standard" and r["term"] == "1yr"
                      and r["payment"] == "partial_upfront")
    assert (std_1yr_pu["upfront_usd"], std_1yr_pu["usd_per_hour"], std_1yr_pu["quality"]) == (252.0, 0.029, "imported")
    assert overlay.clear() == 1


def test_spot_advisor_import_sets_spot_rate_and_bucket(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVISOR_HOME", str(tmp_path))
    batch = import_file(FIXTURES / "spot_advisor_data.json", as_of="2026-09-01")
    overlay.save(batch.kind, batch.frame, batch.published, batch.source)
    catalog = load_catalog()
    spot = catalog.spot.filter((pl.col("instance_type") == "m5.large") & (pl.col("region") == "us-east-1")
                               & (pl.col("os") == "linux"))
    assert spot.height == 1 and spot["interruption_label"].item() is not None


def test_import_of_unknown_format_fails_cleanly(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    result = runner.invoke(app, ["catalog", "import", str(bad)])
    assert result.exit_code != 0
