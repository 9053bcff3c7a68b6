"""live.py against botocore's Stubber: real request/response shapes, never the network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

boto3 = pytest.importorskip("boto3")
from botocore.stub import Stubber  # noqa: E402

from advisor.catalog.importers import import_file  # noqa: E402
from advisor.catalog.importers.live import fetch_price_list, fetch_spot_history  # noqa: E402
from advisor.errors import FactMissing  # noqa: E402

FIX = Path(__file__).parent / "fixtures" / "import"
START = datetime(2021, 2, 1, tzinfo=UTC)
END = datetime(2021, 2, 9, 12, tzinfo=UTC)


def client(service: str, region: str):
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=region)
    return session.client(service, region_name=region)


def price_filters(instance_type: str) -> list[dict]:
    return [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in (
        ("regionCode", "us-east-1"), ("instanceType", instance_type), ("operatingSystem", "Linux"),
        ("preInstalledSw", "NA"))]


def gp_params(instance_type: str, token: str | None = None) -> dict:
    params = {"ServiceCode": "AmazonEC2", "Filters": price_filters(instance_type), "FormatVersion": "aws_v1",
              "MaxResults": 100}
    if token:
        params["NextToken"] = token
    return params


def test_fetch_price_list_paginates_and_parses_like_the_file():
    price_list = json.loads((FIX / "get_products_m5_large.json").read_text())["PriceList"]
    pricing = client("pricing", "us-east-1")
    with Stubber(pricing) as stub:
        # m5.large: two pages (the second empty), then the family query "m5" for host rows
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": price_list, "NextToken": "p2"},
                          gp_params("m5.large"))
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []},
                          gp_params("m5.large", "p2"))
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []}, gp_params("m5"))
        batch = fetch_price_list(pricing, region="us-east-1", instance_types=["m5.large"])
        stub.assert_no_pending_responses()
    assert batch.kind == "prices" and batch.published == "2021-02-05"
    assert batch.source.endswith("(pricing.get_products us-east-1)")
    expected = import_file(FIX / "get_products_m5_large.json").frame
    assert batch.frame.drop("source").equals(expected.drop("source"))


def test_fetch_price_list_with_nothing_found_says_so():
    pricing = client("pricing", "us-east-1")
    with Stubber(pricing) as stub:
        stub.add_response("get_products", {"PriceList": []}, gp_params("m5.large"))
        stub.add_response("get_products", {"PriceList": []}, gp_params("m5"))
        with pytest.raises(FactMissing, match="no products for m5.large"):
            fetch_price_list(pricing, region="us-east-1", instance_types=["m5.large"])


def test_fetch_spot_history_paginates_with_datetime_timestamps():
    records = json.loads((FIX / "spot_price_history_m5_large.json").read_text())["SpotPriceHistory"]
    for rec in records:
        rec["Timestamp"] = datetime.fromisoformat(rec["Timestamp"])
    ec2 = client("ec2", "us-east-1")
    base = {"InstanceTypes": ["m5.large"], "ProductDescriptions": ["Linux/UNIX"], "StartTime": START,
            "EndTime": END, "MaxResults": 1000}
    with Stubber(ec2) as stub:
        stub.add_response("describe_spot_price_history",
                          {"SpotPriceHistory": records[:9], "NextToken": "t1"}, base)
        stub.add_response("describe_spot_price_history",
                          {"SpotPriceHistory": records[9:], "NextToken": ""}, base | {"NextToken": "t1"})
        batch = fetch_spot_history(ec2, instance_types=["m5.large"], start_time=START, end_time=END)
        stub.assert_no_pending_responses()
    row = batch.frame.row(0, named=True)
    assert (row["instance_type"], row["region"], row["os"], row["zones"]) == ("m5.large", "us-east-1", "linux", 5)
    assert row["usd_per_hour"] == pytest.approx(0.0423)
    assert batch.published == "2021-02-09"
    assert batch.source.endswith("(ec2.describe_spot_price_history us-east-1)")


def test_fetch_spot_history_empty_window_is_fact_missing():
    ec2 = client("ec2", "eu-west-1")
    with Stubber(ec2) as stub:
        stub.add_response("describe_spot_price_history", {"SpotPriceHistory": [], "NextToken": ""})
        with pytest.raises(FactMissing, match="no prices for m5.large"):
            fetch_spot_history(ec2, instance_types=["m5.large"], start_time=START, end_time=END)
