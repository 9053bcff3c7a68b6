"""Importers: AWS price files in their real formats -> normalized frames (fixtures: tests/fixtures/import)."""

from __future__ import annotations

import copy
import gzip
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from advisor.catalog.importers import (
    PRICE_SCHEMA,
    SPOT_ADVISOR_SCHEMA,
    SPOT_HISTORY_SCHEMA,
    ImportBatch,
    detect_format,
    import_data,
    import_file,
)
from advisor.catalog.importers.price_list import KEY_COLUMNS, REGION_BY_LOCATION
from advisor.catalog.importers.spot_history import region_of_zone
from advisor.errors import ImportFormatError, InputError

FIX = Path(__file__).parent / "fixtures" / "import"
OFFER = FIX / "ec2_offer_us_east_1_trimmed.json"
GP_M5 = FIX / "get_products_m5_large.json"
GP_C5 = FIX / "get_products_c5_xlarge_list.json"
ADVISOR = FIX / "spot_advisor_data.json"
HISTORY = FIX / "spot_price_history_m5_large.json"
HISTORY_PAGES = FIX / "spot_price_history_pages.json"

# aws-facts.md §5.1: m5.large Linux shared us-east-1 (class, term, payment) -> (upfront, hourly)
M5_RI = {
    ("standard", "1yr", "no_upfront"): (0.0, 0.060),
    ("standard", "1yr", "partial_upfront"): (252.0, 0.029),
    ("standard", "1yr", "all_upfront"): (494.0, 0.0),
    ("standard", "3yr", "no_upfront"): (0.0, 0.041),
    ("standard", "3yr", "partial_upfront"): (505.0, 0.019),
    ("standard", "3yr", "all_upfront"): (949.0, 0.0),
    ("convertible", "1yr", "no_upfront"): (0.0, 0.071),
    ("convertible", "1yr", "partial_upfront"): (294.0, 0.034),
    ("convertible", "1yr", "all_upfront"): (577.0, 0.0),
    ("convertible", "3yr", "no_upfront"): (0.0, 0.049),
    ("convertible", "3yr", "partial_upfront"): (592.0, 0.023),
    ("convertible", "3yr", "all_upfront"): (1161.0, 0.0),
}
C5_RI = {
    ("standard", "1yr", "no_upfront"): (0.0, 0.107),
    ("standard", "1yr", "partial_upfront"): (447.0, 0.051),
    ("standard", "1yr", "all_upfront"): (876.0, 0.0),
    ("standard", "3yr", "no_upfront"): (0.0, 0.071),
    ("standard", "3yr", "partial_upfront"): (867.0, 0.033),
    ("standard", "3yr", "all_upfront"): (1629.0, 0.0),
    ("convertible", "1yr", "no_upfront"): (0.0, 0.123),
    ("convertible", "1yr", "partial_upfront"): (514.0, 0.059),
    ("convertible", "1yr", "all_upfront"): (1007.0, 0.0),
    ("convertible", "3yr", "no_upfront"): (0.0, 0.082),
    ("convertible", "3yr", "partial_upfront"): (999.0, 0.038),
    ("convertible", "3yr", "all_upfront"): (1957.0, 0.0),
}


def load(path: Path):
    return json.loads(path.read_text())


def rows(frame: pl.DataFrame, **where) -> list[dict]:
    out = frame
    for k, v in where.items():
        out = out.filter(pl.col(k).is_null() if v is None else pl.col(k) == v)
    return out.to_dicts()


def one(frame: pl.DataFrame, **where) -> dict:
    found = rows(frame, **where)
    assert len(found) == 1, f"expected exactly one row for {where}, got {found}"
    return found[0]


def ri_table(frame: pl.DataFrame, instance_type: str) -> dict:
    ri = rows(frame, instance_type=instance_type, purchase_option="reserved")
    return {(r["offering_class"], r["term"], r["payment"]): (r["upfront_usd"], r["usd_per_hour"]) for r in ri}


@pytest.fixture(scope="module")
def offer() -> ImportBatch:
    return import_file(OFFER)


# --------------------------------------------------------------------------- offer file
def test_offer_file_batch_metadata_and_schema(offer):
    assert offer.kind == "prices"
    assert offer.published == "2021-02-05"
    assert offer.source == ("AmazonEC2 offer file version 20210205204500 "
                            "(ec2_offer_us_east_1_trimmed.json)")
    assert dict(offer.frame.schema) == PRICE_SCHEMA
    assert offer.frame["published"].unique().to_list() == ["2021-02-05"]
    assert offer.frame["source"].unique().to_list() == [offer.source]


def test_offer_file_m5_large_on_demand(offer):
    row = one(offer.frame, instance_type="m5.large", os="linux", tenancy="shared", purchase_option="on_demand")
    assert row | {"source": None} == {
        "instance_type": "m5.large", "region": "us-east-1", "os": "linux", "tenancy": "shared",
        "purchase_option": "on_demand", "term": None, "offering_class": None, "payment": None,
        "upfront_usd": 0.0, "usd_per_hour": 0.096, "published": "2021-02-05", "source": None}


def test_offer_file_m5_large_reserved_rows_match_published_prices(offer):
    assert ri_table(offer.frame, "m5.large") == M5_RI
    ri = rows(offer.frame, instance_type="m5.large", purchase_option="reserved")
    assert {(r["region"], r["os"], r["tenancy"]) for r in ri} == {("us-east-1", "linux", "shared")}


def test_offer_file_dedicated_host_unused_windows_rhel_suse_rows(offer):
    f = offer.frame
    assert one(f, instance_type="m5.large", tenancy="dedicated")["usd_per_hour"] == 0.113
    host = one(f, tenancy="host")
    assert (host["instance_type"], host["region"], host["os"], host["purchase_option"], host["usd_per_hour"]) == \
        ("m5", "us-east-1", "linux", "on_demand", 5.069)
    unused = one(f, purchase_option="capacity_reservation_unused")
    assert (unused["instance_type"], unused["tenancy"], unused["usd_per_hour"], unused["term"]) == \
        ("c5.xlarge", "shared", 0.17, None)
    assert one(f, instance_type="m5.large", os="windows")["usd_per_hour"] == 0.192  # regionCode path
    assert one(f, instance_type="m5.large", os="rhel")["usd_per_hour"] == 0.156
    assert one(f, instance_type="m5.large", os="suse")["usd_per_hour"] == 0.126
    # old record without regionCode/capacitystatus: region from `location`
    assert one(f, instance_type="c4.large")["region"] == "us-east-1"


def test_offer_file_skips_what_is_not_a_plain_price(offer):
    f = offer.frame
    assert f.height == 13 + 7  # m5.large OD+12 RI; dedicated, host, windows, rhel, suse, unused, c4.large
    # 0.0 on-demand Compute Instance: missing, not free
    assert rows(f, instance_type="m5.xlarge") == []
    assert f.filter((pl.col("purchase_option") != "reserved") & (pl.col("usd_per_hour") <= 0)).height == 0
    # SQL Std pre-installed, BYOL: only the plain Windows row remains
    assert len(rows(f, os="windows")) == 1
    # Local Zone (locationType "AWS Local Zone", though regionCode says us-west-2)
    assert rows(f, instance_type="c5.large") == [] and rows(f, region="us-west-2") == []
    # instance on a Dedicated Host (HostBoxUsage), host reservation (tenancy Reserved), Fee product
    assert rows(f, instance_type="r5.large") == [] and rows(f, instance_type="m5d") == []
    # AllocatedCapacityReservation: only the Unused row for c5.xlarge
    assert len(rows(f, instance_type="c5.xlarge")) == 1
    assert set(f["os"]) <= {"linux", "windows", "rhel", "suse"}
    assert set(f["tenancy"]) <= {"shared", "dedicated", "host"}


def test_offer_file_filters_keep_host_rows_of_requested_families():
    b = import_file(OFFER, regions=["us-east-1"], instance_types=["m5.large"])
    assert set(b.frame["instance_type"]) == {"m5.large", "m5"}
    with pytest.raises(ImportFormatError, match="filter"):
        import_file(OFFER, regions=["eu-west-1"])


# --------------------------------------------------------------------------- GetProducts
def test_get_products_gives_the_same_rows_as_the_offer_file(offer):
    gp = import_file(GP_M5)
    assert gp.kind == "prices" and gp.published == "2021-02-05"
    assert gp.source == "AmazonEC2 GetProducts price list version 20210205204500 (get_products_m5_large.json)"
    from_offer = offer.frame.filter((pl.col("instance_type") == "m5.large") & (pl.col("os") == "linux")
                                    & (pl.col("tenancy") == "shared"))
    assert gp.frame.height == 13
    assert gp.frame.drop("source").equals(from_offer.drop("source"))


def test_get_products_accepts_records_pages_and_a_single_record():
    doc = load(GP_M5)
    reference = import_data(doc, source="x").frame
    record = json.loads(doc["PriceList"][0])
    assert import_data([record], source="x").frame.equals(reference)  # list of parsed records
    assert import_data(doc["PriceList"], source="x").frame.equals(reference)  # list of JSON strings
    assert import_data([doc, {"PriceList": []}], source="x").frame.equals(reference)  # pages
    assert import_data(record, source="x").frame.equals(reference)  # one record


def test_get_products_list_c5_xlarge_on_demand_reserved_and_unused():
    b = import_file(GP_C5)
    assert b.published == "2020-06-18"
    f = b.frame
    assert one(f, purchase_option="on_demand")["usd_per_hour"] == 0.17
    assert one(f, purchase_option="capacity_reservation_unused")["usd_per_hour"] == 0.17
    assert ri_table(f, "c5.xlarge") == C5_RI
    assert f.height == 14  # AllocatedCapacityReservation (0.0) skipped


def test_get_products_rejects_other_services_and_bad_strings():
    with pytest.raises(ImportFormatError, match="AmazonRDS"):
        import_data({"PriceList": [json.dumps({"product": {}, "terms": {}, "serviceCode": "AmazonRDS"})]},
                    source="x")
    with pytest.raises(ImportFormatError, match="element 0 is not valid JSON"):
        import_data({"PriceList": ["{not json"]}, source="x")
    with pytest.raises(ImportFormatError, match="empty"):
        import_data({"FormatVersion": "aws_v1", "PriceList": []}, source="x")


# --------------------------------------------------------------------------- price edge cases
def _offer_doc() -> dict:
    return load(OFFER)


def test_conflicting_duplicate_prices_are_an_error_but_exact_duplicates_are_merged():
    doc = _offer_doc()
    twin = copy.deepcopy(doc["products"]["6C86BEPQVG73ZGGR"])
    twin["sku"] = "ILLUSTTWIN000001"
    doc["products"]["ILLUSTTWIN000001"] = twin
    od = json.loads(json.dumps(doc["terms"]["OnDemand"]["6C86BEPQVG73ZGGR"]).replace(
        "6C86BEPQVG73ZGGR", "ILLUSTTWIN000001"))
    doc["terms"]["OnDemand"]["ILLUSTTWIN000001"] = od
    assert import_data(doc, source="x").frame.drop("source").equals(import_file(OFFER).frame.drop("source"))
    dim = next(iter(next(iter(od.values()))["priceDimensions"].values()))
    dim["pricePerUnit"]["USD"] = "0.0970000000"
    with pytest.raises(ImportFormatError, match="conflicting prices"):
        import_data(doc, source="x")


def test_instance_on_a_dedicated_host_is_never_read_as_a_price():
    """HostBoxUsage rows are 0.0 or a per-instance add-on billed on top of the host."""
    doc = _offer_doc()
    term = doc["terms"]["OnDemand"]["ILLUSTHBOX000001"]
    dim = next(iter(next(iter(term.values()))["priceDimensions"].values()))
    dim["pricePerUnit"]["USD"] = "0.0460000000"
    frame = import_data(doc, source="x").frame
    assert rows(frame, instance_type="r5.large") == []
    assert rows(frame, tenancy="host") == rows(frame, instance_type="m5")


def test_bad_price_string_is_a_format_error():
    doc = _offer_doc()
    term = doc["terms"]["OnDemand"]["6C86BEPQVG73ZGGR"]
    dim = next(iter(next(iter(term.values()))["priceDimensions"].values()))
    dim["pricePerUnit"]["USD"] = "n/a"
    with pytest.raises(ImportFormatError, match="6C86BEPQVG73ZGGR.*not a number"):
        import_data(doc, source="x")


def test_offer_file_without_usable_products_or_date():
    doc = _offer_doc()
    doc["products"] = {"URVAJM83XJ7HC9TD": doc["products"]["URVAJM83XJ7HC9TD"]}
    with pytest.raises(ImportFormatError, match="no EC2 compute prices"):
        import_data(doc, source="x")
    doc = _offer_doc()
    del doc["publicationDate"]
    with pytest.raises(ImportFormatError, match="as_of"):
        import_data(doc, source="x")
    assert import_data(doc, source="x", as_of="2021-03-01").published == "2021-03-01"


def test_region_map_covers_the_commercial_regions():
    values = set(REGION_BY_LOCATION.values())
    assert {"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1",
            "ap-southeast-1", "ap-southeast-2", "ap-south-1", "sa-east-1", "ca-central-1"} <= values
    assert REGION_BY_LOCATION["US East (N. Virginia)"] == "us-east-1"
    assert REGION_BY_LOCATION["EU (Ireland)"] == REGION_BY_LOCATION["Europe (Ireland)"] == "eu-west-1"
    assert not any(v.startswith(("us-gov", "cn-")) for v in values)


# --------------------------------------------------------------------------- spot advisor
def test_spot_advisor_labels_come_from_the_files_ranges():
    b = import_file(ADVISOR, as_of="2026-09-01")
    assert b.kind == "spot_advisor" and b.published == "2026-09-01"
    assert dict(b.frame.schema) == SPOT_ADVISOR_SCHEMA
    row = one(b.frame, instance_type="m5.large", region="us-east-1", os="linux")
    assert (row["savings_pct"], row["interruption_index"], row["interruption_label"],
            row["interruption_max_pct"], row["published"]) == (70, 1, "5-10%", 11, "2026-09-01")
    real = one(b.frame, instance_type="m5.large", region="ap-southeast-1", os="windows")
    assert (real["savings_pct"], real["interruption_label"]) == (41, "5-10%")
    assert b.frame.height == 8


def test_spot_advisor_reads_other_range_labels_and_defaults_to_today():
    doc = load(ADVISOR)
    doc["ranges"][1] = {"index": 1, "label": "moderate", "dots": 1, "max": 12}
    b = import_data(doc, source="feed")
    assert one(b.frame, instance_type="m5.large", region="us-east-1", os="linux")["interruption_label"] == "moderate"
    assert b.published in {datetime.now(UTC).date().isoformat(), date.today().isoformat()}
    assert b.source == "EC2 Spot Instance Advisor data (feed)"


def test_spot_advisor_bad_input():
    doc = load(ADVISOR)
    doc["spot_advisor"]["us-east-1"]["Linux"]["m5.large"]["r"] = 9
    with pytest.raises(ImportFormatError, match="'r'=9 is not in 'ranges'"):
        import_data(doc, source="x")
    doc = load(ADVISOR)
    del doc["ranges"]
    with pytest.raises(ImportFormatError, match="ranges"):
        import_data(doc, source="x")
    doc = load(ADVISOR)
    doc["spot_advisor"]["us-east-1"]["Linux"]["m5.large"]["s"] = "70"
    with pytest.raises(ImportFormatError, match="integer"):
        import_data(doc, source="x")
    with pytest.raises(InputError):
        import_data(load(ADVISOR), source="x", as_of="01/09/2026")


# --------------------------------------------------------------------------- spot history
def test_spot_history_median_of_latest_price_per_zone():
    b = import_file(HISTORY)
    assert b.kind == "spot_history" and b.published == "2021-02-09"
    assert dict(b.frame.schema) == SPOT_HISTORY_SCHEMA
    row = one(b.frame, instance_type="m5.large")
    # latest per AZ: 1f 0.0437, 1a 0.0423, 1b 0.0389, 1c 0.0381, 1d 0.0431
    assert (row["region"], row["os"], row["zones"], row["published"]) == ("us-east-1", "linux", 5, "2021-02-09")
    assert row["usd_per_hour"] == pytest.approx(0.0423, abs=1e-12)


def test_spot_history_pages_and_datetime_timestamps_give_the_same_frame():
    single = import_file(HISTORY).frame.drop("source")
    assert import_file(HISTORY_PAGES).frame.drop("source").equals(single)
    doc = load(HISTORY)
    for rec in doc["SpotPriceHistory"]:  # boto3 returns tz-aware datetimes
        rec["Timestamp"] = datetime.fromisoformat(rec["Timestamp"])
    assert import_data(doc, source="boto3").frame.drop("source").equals(single)


def test_spot_history_even_zone_count_os_mapping_and_regions():
    ts = "2026-09-01T00:00:00Z"
    recs = [
        {"AvailabilityZone": "eu-west-1a", "InstanceType": "c5.large", "ProductDescription": "Windows",
         "SpotPrice": "0.10", "Timestamp": ts},
        {"AvailabilityZone": "eu-west-1b", "InstanceType": "c5.large", "ProductDescription": "Windows (Amazon VPC)",
         "SpotPrice": "0.20", "Timestamp": "2026-09-02T10:00:00+00:00"},
        {"AvailabilityZone": "us-west-2-lax-1a", "InstanceType": "c5.large",
         "ProductDescription": "Linux/UNIX (Amazon VPC)", "SpotPrice": "0.05", "Timestamp": ts},
        {"AvailabilityZone": "us-east-1a", "InstanceType": "c5.large", "ProductDescription": "SUSE Linux",
         "SpotPrice": "0.07", "Timestamp": ts},
        {"AvailabilityZone": "us-east-1a", "InstanceType": "c5.large", "ProductDescription": "Red Hat Enterprise Linux",
         "SpotPrice": "0.08", "Timestamp": ts},
        {"AvailabilityZone": "us-east-1a", "InstanceType": "c5.large",
         "ProductDescription": "Ubuntu Pro Linux", "SpotPrice": "0.09", "Timestamp": ts},
    ]
    b = import_data({"SpotPriceHistory": recs}, source="x")
    win = one(b.frame, os="windows")
    assert (win["region"], win["zones"], win["published"]) == ("eu-west-1", 2, "2026-09-02")
    assert win["usd_per_hour"] == pytest.approx(0.15)
    assert one(b.frame, os="linux")["region"] == "us-west-2-lax-1"
    assert {r["os"] for r in rows(b.frame, region="us-east-1")} == {"suse", "rhel"}
    assert b.frame.height == 4 and b.published == "2026-09-02"


def test_region_of_zone():
    assert region_of_zone("us-east-1f") == "us-east-1"
    assert region_of_zone("ap-northeast-1d") == "ap-northeast-1"
    assert region_of_zone("us-west-2-lax-1a") == "us-west-2-lax-1"
    with pytest.raises(ImportFormatError):
        region_of_zone("use1-az1")


def test_spot_history_bad_records():
    good = load(HISTORY)
    bad = copy.deepcopy(good)
    bad["SpotPriceHistory"][0]["SpotPrice"] = "cheap"
    with pytest.raises(ImportFormatError, match="SpotPrice"):
        import_data(bad, source="x")
    bad = copy.deepcopy(good)
    del bad["SpotPriceHistory"][0]["Timestamp"]
    with pytest.raises(ImportFormatError, match="Timestamp"):
        import_data(bad, source="x")
    with pytest.raises(ImportFormatError, match="no spot prices"):
        import_data({"SpotPriceHistory": []}, source="x")


# --------------------------------------------------------------------------- detection and files
def test_format_detection_is_by_content_not_name(tmp_path):
    misnamed = tmp_path / "spot-advisor-data.json"
    misnamed.write_bytes(GP_M5.read_bytes())
    assert import_file(misnamed).kind == "prices"
    assert detect_format(load(OFFER)) == "ec2_offer_file"
    assert detect_format(load(GP_C5)) == "get_products"
    assert detect_format(load(ADVISOR)) == "spot_advisor"
    assert detect_format(load(HISTORY_PAGES)) == "spot_history"


@pytest.mark.parametrize("doc, match", [
    ({"hello": "world"}, r"unrecognized price data: got a JSON object with keys \['hello'\]"),
    ([], "unrecognized price data"),
    ([{"a": 1}, {"b": 2}], "unrecognized price data: got a JSON list of 2 items"),
    ({"offerCode": "AmazonRDS", "products": {}, "terms": {}}, "only the AmazonEC2 offer file"),
    ({"formatVersion": "v1.0", "regions": {}}, "expected an EC2 offer file"),
])
def test_unknown_json_is_a_format_error_with_a_message(doc, match):
    with pytest.raises(ImportFormatError, match=match):
        import_data(doc, source="x")


def test_unreadable_files_are_format_errors(tmp_path):
    bad = tmp_path / "index.json"
    bad.write_text('{"offerCode": "AmazonEC2", "products": {')
    with pytest.raises(ImportFormatError, match=r"index.json: not valid JSON .* line 1"):
        import_file(bad)
    csv = tmp_path / "index.csv"
    csv.write_text('"FormatVersion","v1.0"\n"Disclaimer","..."\n')
    with pytest.raises(ImportFormatError, match="CSV offer file"):
        import_file(csv)
    binary = tmp_path / "blob.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ImportFormatError, match="UTF-8"):
        import_file(binary)
    scalar = tmp_path / "n.json"
    scalar.write_text("42")
    with pytest.raises(ImportFormatError, match="unrecognized"):
        import_file(scalar)
    with pytest.raises(InputError):
        import_file(tmp_path / "missing.json")


def test_gzip_files_are_read(tmp_path):
    gz = tmp_path / "index.json.gz"
    gz.write_bytes(gzip.compress(OFFER.read_bytes()))
    assert import_file(gz).frame.drop("source").equals(import_file(OFFER).frame.drop("source"))


def test_import_is_deterministic_whatever_the_input_order():
    for path in (OFFER, GP_C5, ADVISOR, HISTORY):
        assert import_file(path, as_of="2026-09-01").frame.equals(import_file(path, as_of="2026-09-01").frame)
    doc = _offer_doc()
    doc["products"] = dict(reversed(list(doc["products"].items())))
    doc["terms"]["Reserved"] = {
        sku: dict(reversed(list(terms.items()))) for sku, terms in reversed(list(doc["terms"]["Reserved"].items()))}
    shuffled = import_data(doc, source="ec2_offer_us_east_1_trimmed.json").frame
    assert shuffled.equals(import_file(OFFER).frame)
    assert shuffled.equals(shuffled.sort(KEY_COLUMNS, nulls_last=True))


def test_live_module_explains_a_missing_boto3(monkeypatch):
    from advisor.catalog.importers import live

    monkeypatch.setitem(sys.modules, "boto3", None)  # makes `import boto3` raise ImportError
    with pytest.raises(live.AwsExtraMissing, match=r"pip install -e '\.\[aws\]'"):
        live.fetch_spot_history(object(), instance_types=["m5.large"], start_time=datetime(2026, 1, 1),
                                end_time=datetime(2026, 1, 2))
    with pytest.raises(live.AwsExtraMissing, match="aws extra"):
        live.fetch_price_list(object(), region="us-east-1", instance_types=["m5.large"])
