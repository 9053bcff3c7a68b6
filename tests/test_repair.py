"""The price repair rules on small, hand-made families: each rule fires where it should and only there."""

import polars as pl
import pytest

from advisor.catalog.repair import repair


def _specs(rows):
    return pl.DataFrame(
        [{"instance_type": t, "family": t.split(".")[0], "normalization_factor": nf, "gpus": g,
          "bare_metal": "metal" in t} for t, nf, g in rows])


def _prices(rows):
    return pl.DataFrame([{"instance_type": t, "region": r, "os": o, "libcloud_usd_per_hour": p} for t, r, o, p in rows],
                        schema={"instance_type": pl.String, "region": pl.String, "os": pl.String,
                                "libcloud_usd_per_hour": pl.Float64})


def _row(frame, itype, region="eu-west-1", os="linux"):
    return frame.filter((pl.col("instance_type") == itype) & (pl.col("region") == region)
                        & (pl.col("os") == os)).row(0, named=True)


FAMILY = [("m9.large", 4, 0), ("m9.xlarge", 8, 0), ("m9.2xlarge", 16, 0), ("m9.4xlarge", 32, 0), ("m9.metal", 64, 0)]


def test_missing_size_takes_family_unit_price():
    prices = _prices([("m9.large", "eu-west-1", "linux", 0.1), ("m9.xlarge", "eu-west-1", "linux", 0.0),
                      ("m9.2xlarge", "eu-west-1", "linux", 0.4), ("m9.4xlarge", "eu-west-1", "linux", 0.8)])
    out = repair(prices, _specs(FAMILY))
    row = _row(out, "m9.xlarge")
    assert row["usd_per_hour"] == pytest.approx(0.2)
    assert (row["price_quality"], row["repair_rule"]) == ("repaired", "family_proportional")
    assert _row(out, "m9.large")["price_quality"] == "list"


def test_outlier_above_list_is_replaced_and_audited():
    prices = _prices([("m9.large", "eu-west-1", "linux", 0.1), ("m9.xlarge", "eu-west-1", "linux", 0.22),
                      ("m9.2xlarge", "eu-west-1", "linux", 0.4), ("m9.4xlarge", "eu-west-1", "linux", 0.8)])
    row = _row(repair(prices, _specs(FAMILY)), "m9.xlarge")
    assert row["usd_per_hour"] == pytest.approx(0.2)
    assert row["libcloud_usd_per_hour"] == 0.22
    assert row["repair_rule"] == "family_proportional"


def test_lower_cluster_wins_when_two_clusters_agree():
    # Two sizes at list, two at +10 % (a non-default SKU): the lower cluster is the list price.
    prices = _prices([("m9.large", "eu-west-1", "linux", 0.1), ("m9.xlarge", "eu-west-1", "linux", 0.2),
                      ("m9.2xlarge", "eu-west-1", "linux", 0.44), ("m9.4xlarge", "eu-west-1", "linux", 0.88)])
    out = repair(prices, _specs(FAMILY))
    assert _row(out, "m9.2xlarge")["usd_per_hour"] == pytest.approx(0.4)
    assert _row(out, "m9.large")["price_quality"] == "list"


def test_a_lone_size_is_never_repaired_by_the_family_rule():
    prices = _prices([("m9.large", "eu-west-1", "linux", 0.1), ("m9.xlarge", "eu-west-1", "linux", 0.0)])
    row = _row(repair(prices, _specs(FAMILY)), "m9.xlarge")
    assert row["price_quality"] == "missing" and row["usd_per_hour"] is None


def test_gpu_and_metal_sizes_are_not_family_repaired():
    specs = _specs([("g9.xlarge", 8, 1), ("g9.2xlarge", 16, 1), ("g9.4xlarge", 32, 1), ("g9.12xlarge", 96, 4)]
                   + FAMILY)
    prices = _prices([("g9.xlarge", "eu-west-1", "linux", 0.5), ("g9.2xlarge", "eu-west-1", "linux", 1.0),
                      ("g9.4xlarge", "eu-west-1", "linux", 0.0), ("g9.12xlarge", "eu-west-1", "linux", 5.0),
                      ("m9.large", "eu-west-1", "linux", 0.1), ("m9.xlarge", "eu-west-1", "linux", 0.2),
                      ("m9.2xlarge", "eu-west-1", "linux", 0.4), ("m9.metal", "eu-west-1", "linux", 0.0)])
    out = repair(prices, specs)
    assert _row(out, "g9.4xlarge")["price_quality"] == "missing"
    assert _row(out, "g9.12xlarge")["usd_per_hour"] == 5.0
    assert _row(out, "m9.metal")["price_quality"] == "missing"


def test_other_operating_systems_are_not_taken_from_libcloud():
    prices = _prices([("m9.large", "eu-west-1", "rhel", 0.1), ("m9.large", "eu-west-1", "linux", 0.1)])
    assert set(repair(prices, _specs(FAMILY))["os"]) == {"linux"}


def test_us_parity_fills_missing_when_others_agree():
    specs = _specs([("g9.xlarge", 8, 1)])
    prices = _prices([("g9.xlarge", "us-east-1", "linux", 0.0), ("g9.xlarge", "us-east-2", "linux", 0.5),
                      ("g9.xlarge", "us-west-2", "linux", 0.5)])
    row = _row(repair(prices, specs), "g9.xlarge", region="us-east-1")
    assert (row["usd_per_hour"], row["repair_rule"]) == (0.5, "us_region_parity")


def test_us_parity_leaves_missing_when_others_disagree():
    specs = _specs([("g9.xlarge", 8, 1)])
    prices = _prices([("g9.xlarge", "us-east-1", "linux", 0.0), ("g9.xlarge", "us-east-2", "linux", 0.5),
                      ("g9.xlarge", "us-west-2", "linux", 0.6)])
    assert _row(repair(prices, specs), "g9.xlarge", region="us-east-1")["price_quality"] == "missing"


def test_us_parity_replaces_a_listed_outlier_and_ignores_other_regions():
    specs = _specs([("g9.xlarge", 8, 1)])
    prices = _prices([("g9.xlarge", "us-east-1", "linux", 0.55), ("g9.xlarge", "us-east-2", "linux", 0.5),
                      ("g9.xlarge", "us-west-2", "linux", 0.5), ("g9.xlarge", "eu-west-1", "linux", 0.0)])
    out = repair(prices, specs)
    assert _row(out, "g9.xlarge", region="us-east-1")["usd_per_hour"] == 0.5
    assert _row(out, "g9.xlarge", region="eu-west-1")["price_quality"] == "missing"


def test_zero_is_never_a_price():
    prices = _prices([("g9.xlarge", "eu-west-1", "linux", 0.0)])
    row = _row(repair(prices, _specs([("g9.xlarge", 8, 1)])), "g9.xlarge")
    assert row["usd_per_hour"] is None and row["repair_rule"] == "zero_is_missing"


def test_us_parity_keeps_a_listed_price_below_the_pair():
    # libcloud's defects price above list: a lower value beside two higher ones is kept.
    specs = _specs([("g9.xlarge", 8, 1)])
    prices = _prices([("g9.xlarge", "us-east-1", "linux", 0.5), ("g9.xlarge", "us-east-2", "linux", 0.55),
                      ("g9.xlarge", "us-west-2", "linux", 0.55)])
    row = _row(repair(prices, specs), "g9.xlarge", region="us-east-1")
    assert (row["usd_per_hour"], row["price_quality"]) == (0.5, "list")
