"""The fact files in data/facts: every file loads, every fact is sourced and dated, prices are sane,
and the tables the advisor leans on (Fargate sizes, Lambda limits, RI ratios ...) hold together."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from advisor.catalog import manifest
from advisor.catalog.facts import QUALITIES, FactBook

FACTS_DIR = Path(__file__).resolve().parents[1] / "data" / "facts"
FILES = sorted(FACTS_DIR.glob("*.json"))
TAGS = {"AWS", "AWS-PL", "2nd", "calc", "unverified"}
TOPICS = {
    "lambda", "fargate", "eks", "ecs", "batch", "lightsail", "beanstalk", "ebs", "network", "reserved",
    "savings_plans", "spot", "tenancy", "capacity_reservations", "scheduled_instances", "burstable", "gpus",
    "quotas", "regions",
}


@pytest.fixture(scope="module")
def book() -> FactBook:
    return FactBook.load(FACTS_DIR)


def v(book: FactBook, key: str, region: str | None = None):
    return book.value(key, region)


# ------------------------------------------------------------------ files, sources, dates


def test_every_expected_topic_has_a_file():
    assert {p.stem for p in FILES} >= TOPICS


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_file_is_well_formed(path: Path):
    text = path.read_text()
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "2-space indent, one trailing newline"
    assert doc["topic"] == path.stem
    assert doc["title"]
    assert doc["facts"]
    for sid, s in doc["sources"].items():
        assert s["title"], sid
        assert len(s["as_of"]) == 10 and dt.date.fromisoformat(s["as_of"]), sid
        assert s["tag"] in TAGS, sid
    for name, spec in doc["facts"].items():
        assert ("value" in spec) != ("by_region" in spec), name
        assert spec["quality"] in QUALITIES, name
        assert spec["source"] in doc["sources"], name
        assert spec.get("unit"), f"{name} has no unit"
        if spec["quality"] == "estimate":
            assert spec.get("note"), f"estimate {name} must say what it rests on"
        if doc["sources"][spec["source"]]["tag"] in ("unverified", "calc"):
            assert spec["quality"] in ("estimate", "documented"), name
        if doc["sources"][spec["source"]]["tag"] == "unverified":
            assert spec["quality"] == "estimate", name
        if "by_region" in spec:
            assert spec["by_region"], name


def test_every_file_loads_and_every_fact_has_a_dated_source(book: FactBook):
    names = book.names()
    assert len(names) > 150
    for key in names:
        for region in book.regions(key) or [None]:
            fact = book.get(key, region)
            assert fact.source.title
            assert dt.date.fromisoformat(fact.source.as_of) <= dt.date(2027, 1, 1)
            assert fact.value is not None, key


# ------------------------------------------------------------------ prices


def _prices(value, usd_unit: bool, key: str, row: dict | None = None, in_table: bool = False):
    """Yield (key, number, row) for every price inside a fact value.

    A number is a price when its own key names USD, or when the fact's unit is a USD unit and the number is
    not a non-USD column of a table row (vCPU, memory, bounds ...)."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        if "usd" in key.lower() or (usd_unit and not in_table):
            yield key, value, row
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from _prices(item, usd_unit, k, value if in_table else row, in_table)
    elif isinstance(value, list):
        for item in value:
            yield from _prices(item, usd_unit, key, row, True)


def _zero_allowed(key: str, row: dict | None) -> bool:
    payment = (row or {}).get("payment")
    return (key == "upfront_usd" and payment == "No Upfront") or (key == "usd_per_hour" and payment == "All Upfront")


def test_no_price_is_zero_or_negative_unless_documented_free(book: FactBook):
    checked = 0
    for key in book.names():
        name = key.split(".", 1)[1]
        for region in book.regions(key) or [None]:
            fact = book.get(key, region)
            usd_unit = fact.unit.upper().startswith("USD")
            for k, number, row in _prices(fact.value, usd_unit, name):
                checked += 1
                if number > 0 or _zero_allowed(k, row):
                    continue
                assert number == 0 and fact.quality == "documented" and (
                    "fee" in name or "control_plane" in name), f"{key} [{region}] {k} = {number}"
    assert checked > 250


def test_price_scan_sees_table_prices_and_skips_other_columns():
    rows = [{"vcpu": 2, "usd_per_hour": 0.0, "payment": "Partial Upfront"}]
    found = list(_prices(rows, True, "published"))
    assert [(k, n) for k, n, _ in found] == [("usd_per_hour", 0.0)]
    assert not _zero_allowed("usd_per_hour", found[0][2])
    assert [n for _, n, _ in _prices({"linux": 0.05}, True, "rate")] == [0.05]
    assert list(_prices({"linux": 0.05}, False, "rate")) == []


def test_documented_free_services(book: FactBook):
    assert v(book, "ecs.control_plane_usd_per_hour") == 0
    assert v(book, "batch.service_fee_usd") == 0
    assert v(book, "beanstalk.service_fee_usd") == 0
    assert v(book, "eks.control_plane_usd_per_hour_standard") == pytest.approx(0.10)
    assert v(book, "eks.control_plane_usd_per_hour_extended") == pytest.approx(0.60)


# ------------------------------------------------------------------ Lambda


def test_lambda_limits(book: FactBook):
    assert v(book, "lambda.min_memory_mb") == 128
    assert v(book, "lambda.max_memory_mb") == 10240
    assert v(book, "lambda.mb_per_vcpu") == 1769
    assert v(book, "lambda.max_vcpu") == math.ceil(10240 / 1769) == 6
    assert v(book, "lambda.max_timeout_seconds") == 900
    assert v(book, "lambda.ephemeral_included_mb") == 512
    assert v(book, "lambda.ephemeral_max_mb") == 10240
    assert v(book, "lambda.sync_payload_mb") == 6
    assert v(book, "lambda.async_payload_mb") == 1
    assert v(book, "lambda.free_tier_requests") == 1_000_000
    assert v(book, "lambda.free_tier_gb_seconds") == 400_000


@pytest.mark.parametrize("arch", ["x86", "arm64"])
def test_lambda_duration_tiers_are_cumulative_and_falling(book: FactBook, arch: str):
    key = f"lambda.duration_tiers_{arch}"
    assert "us-east-1" in book.regions(key)
    for region in book.regions(key):
        tiers = v(book, key, region)
        bounds = [t["up_to_gb_seconds"] for t in tiers]
        assert bounds[-1] is None and all(b is not None for b in bounds[:-1])
        assert bounds[:-1] == sorted(bounds[:-1])
        rates = [t["usd_per_gb_second"] for t in tiers]
        assert rates == sorted(rates, reverse=True)
    x86 = v(book, "lambda.duration_tiers_x86", "us-east-1")[0]["usd_per_gb_second"]
    arm = v(book, "lambda.duration_tiers_arm64", "us-east-1")[0]["usd_per_gb_second"]
    assert arm / x86 == pytest.approx(0.8, abs=1e-4)


def test_lambda_aws_worked_example_1(book: FactBook):
    """AWS's example: 512 MB, 3M invocations of 1 s -> $18.34 (at $0.00001667) + $0.40; today's rate gives $18.33."""
    rate = v(book, "lambda.duration_tiers_x86", "us-east-1")[0]["usd_per_gb_second"]
    gb_s = 3_000_000 * 1 * 512 / 1024 - v(book, "lambda.free_tier_gb_seconds")
    requests = (3_000_000 - v(book, "lambda.free_tier_requests")) / 1e6
    assert gb_s * rate == pytest.approx(18.33, abs=0.01)
    assert requests * v(book, "lambda.request_usd_per_million", "us-east-1") == pytest.approx(0.40)


def test_lambda_region_gaps_are_missing_not_guessed(book: FactBook):
    from advisor.errors import FactMissing

    with pytest.raises(FactMissing):
        book.get("lambda.duration_tiers_arm64", "eu-west-1")


# ------------------------------------------------------------------ Fargate


def _sizes(book: FactBook) -> dict[float, dict]:
    return {row["vcpu"]: row for row in v(book, "fargate.valid_sizes")}


def test_fargate_valid_sizes(book: FactBook):
    sizes = _sizes(book)
    assert sorted(sizes) == [0.25, 0.5, 1, 2, 4, 8, 16]
    assert sizes[0.25]["memory_gib"] == [0.5, 1, 2]
    assert sizes[0.5]["memory_gib"] == [1, 2, 3, 4]
    assert sizes[1]["memory_gib"] == list(range(2, 9))
    assert sizes[2]["memory_gib"] == list(range(4, 17))
    assert sizes[4]["memory_gib"] == list(range(8, 31))
    assert sizes[8]["memory_gib"] == list(range(16, 61, 4))
    assert sizes[16]["memory_gib"] == list(range(32, 121, 8))
    windows = sorted(c for c, row in sizes.items() if "windows" in row["os"])
    assert windows == [1, 2, 4]
    assert min(windows) == v(book, "fargate.windows_min_vcpu")
    assert all("linux" in row["os"] for row in sizes.values())
    assert max(sizes) == v(book, "fargate.max_task_vcpu")
    assert max(sizes[16]["memory_gib"]) == v(book, "fargate.max_task_memory_gib")


def test_fargate_prices_and_rules(book: FactBook):
    vcpu = v(book, "fargate.vcpu_usd_per_hour_x86", "us-east-1")
    gb = v(book, "fargate.gb_usd_per_hour_x86", "us-east-1")
    assert (vcpu + 2 * gb) * 730 == pytest.approx(36.04, abs=0.01)
    assert v(book, "fargate.vcpu_usd_per_hour_arm64", "us-east-1") < vcpu
    assert v(book, "fargate.spot_vcpu_usd_per_hour", "us-east-1") < vcpu
    assert book.get("fargate.spot_vcpu_usd_per_hour", "us-east-1").is_estimate
    assert v(book, "fargate.spot_supports_windows") is False
    assert v(book, "fargate.minimum_billing_seconds") == 60
    assert v(book, "fargate.ephemeral_included_gib") == 20
    assert v(book, "fargate.ecs_ephemeral_max_gib") == 200
    assert v(book, "fargate.eks_ephemeral_max_gib") == 175


# ------------------------------------------------------------------ EKS


def test_eks_kubelet_reservations(book: FactBook):
    steps = v(book, "eks.kube_reserved_cpu_millicores_steps")

    def reserved_cpu(cores: int) -> float:
        total = 0.0
        for s in steps:
            top = cores if s["cores_to"] is None else min(cores, s["cores_to"])
            total += max(0, top - s["cores_from"]) * s["share"] * 1000
        return total

    assert [round(reserved_cpu(c)) for c in (2, 4, 8, 96)] == [70, 80, 90, 310]
    mem = v(book, "eks.kube_reserved_memory_formula")
    max_pods = v(book, "eks.eni_max_pods")["m5.large"]
    assert max_pods == 29
    assert mem["per_pod_mib"] * max_pods + mem["base_mib"] == 574
    assert v(book, "eks.fargate_pod_memory_overhead_mib") == 256


# ------------------------------------------------------------------ Reserved Instances and Savings Plans


def _published(book: FactBook, itype: str) -> list[dict]:
    return [r for r in v(book, "reserved.published_rates") if r["instance_type"] == itype]


def test_reserved_published_tables_are_complete(book: FactBook):
    for itype in ("m5.large", "c5.xlarge"):
        rows = _published(book, itype)
        assert len(rows) == 12
        assert {(r["class"], r["term"], r["payment"]) for r in rows} == {
            (c, t, p) for c in ("standard", "convertible") for t in ("1yr", "3yr")
            for p in ("No Upfront", "Partial Upfront", "All Upfront")}
    assert v(book, "reserved.term_hours") == {"1yr": 8760, "3yr": 26280}


def test_reserved_ratios_reproduce_published_m5_large(book: FactBook):
    hours = v(book, "reserved.term_hours")
    ratios = {(r["offering_class"], r["term"], r["payment"]): r for r in v(book, "reserved.ratios")}
    assert len(ratios) == 12
    for row in _published(book, "m5.large"):
        od = row["on_demand_usd_per_hour"]
        term_hours = hours[row["term"]]
        ratio = ratios[(row["class"], row["term"], row["payment"])]
        own = ratio["per_instance"]["m5.large"]
        # The m5.large ratios give back the published row within 1%.
        assert own["upfront_ratio"] * od * term_hours == pytest.approx(row["upfront_usd"], rel=0.01, abs=0.5)
        assert own["hourly_ratio"] * od == pytest.approx(row["usd_per_hour"], rel=0.01, abs=1e-4)
        # The family-average ratios (what gets applied to other families) stay within 3% of the real cost.
        published_effective = row["upfront_usd"] / term_hours + row["usd_per_hour"]
        assert ratio["effective_ratio"] * od == pytest.approx(published_effective, rel=0.03)
        assert ratio["effective_ratio"] == pytest.approx(ratio["upfront_ratio"] + ratio["hourly_ratio"], abs=2e-6)
    assert book.get("reserved.ratios").is_estimate


def test_savings_plans_mirror_ri_ratios(book: FactBook):
    ri = {(r["offering_class"], r["term"], r["payment"]): r["effective_ratio"] for r in v(book, "reserved.ratios")}
    for row in v(book, "savings_plans.ratios"):
        cls = "convertible" if row["plan"] == "compute" else "standard"
        assert row["effective_ratio"] == ri[(cls, row["term"], row["payment"])]
    assert book.get("savings_plans.ratios").is_estimate
    assert v(book, "savings_plans.application_order")[0] == "reserved_instances"


# ------------------------------------------------------------------ other topics


def test_spot_and_burstable(book: FactBook):
    assert 0 < v(book, "spot.typical_discount") < v(book, "spot.max_discount") <= 0.9
    labels = [r["label"] for r in v(book, "spot.interruption_ranges")]
    assert labels == ["<5%", "5-10%", "10-15%", "15-20%", ">20%"]
    assert v(book, "spot.default_interruption_bucket") in labels
    assert v(book, "spot.notice_seconds") == 120
    base = v(book, "burstable.baseline_per_vcpu")
    assert base["t3.nano"] == 0.05 and base["t2.2xlarge"] == 0.17 and base["t4g.2xlarge"] == 0.40
    assert {f.split(".")[0] for f in base} == {"t2", "t3", "t3a", "t4g"}
    assert v(book, "burstable.default_credit_mode") == {
        "t2": "standard", "t3": "unlimited", "t3a": "unlimited", "t4g": "unlimited"}


def test_lightsail_bundles(book: FactBook):
    bundles = v(book, "lightsail.bundles")
    ids = [b["id"] for b in bundles]
    assert len(ids) == len(set(ids)) == 50
    first = next(b for b in bundles if b["id"] == "linux_general_2vcpu_0.5gb")
    assert (first["usd_per_month_ipv4"], first["usd_per_month_ipv6_only"], first["cpu_baseline_share"]) == (
        5, 3.5, 0.05)
    for b in bundles:
        assert b["usd_per_month_ipv6_only"] < b["usd_per_month_ipv4"]
        assert b["os"] in ("linux", "windows") and b["kind"] in ("general", "memory", "compute")
        assert b["cpu_baseline_share"] is None or 0 < b["cpu_baseline_share"] <= 1


def test_tenancy_gpus_quotas_regions(book: FactBook):
    assert v(book, "tenancy.dedicated_region_fee_usd_per_hour") == 2.0
    m5 = next(r for r in v(book, "tenancy.dedicated_host_capacity") if r["family"] == "m5")
    assert m5["instances"]["4xlarge"] == 6 and m5["physical_cores"] == 48
    gpus = v(book, "gpus.family_gpu")
    assert gpus["g4dn"] == {"model": "T4", "vendor": "NVIDIA", "memory_gib_per_gpu": 16}
    assert gpus["g4ad"]["vendor"] == "AMD"
    assert len(gpus) == 18
    assert v(book, "quotas.on_demand_standard_default_vcpus") == 5
    regions = v(book, "regions.regions")
    assert regions["us-east-1"] == {"name": "US East (N. Virginia)", "price_list_location": "US East (N. Virginia)"}
    assert regions["eu-west-1"]["price_list_location"] == "EU (Ireland)"
    assert regions["us-gov-west-1"]["price_list_location"] == "AWS GovCloud (US)"
    assert set(v(book, "regions.price_list_location_unverified")) <= set(regions)
    locations = [r["price_list_location"] for r in regions.values()]
    assert len(locations) == len(set(locations))


def test_manifest_matches_data_files():
    listed = {f["path"] for f in manifest.check()["files"]}
    assert {f"facts/{p.name}" for p in FILES} <= listed
