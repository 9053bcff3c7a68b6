"""The HTTP API (FastAPI TestClient): every route's success, each kind of bad input, auth, limits, request ids,
metrics and logs. Property-based coverage against the OpenAPI document is in test_api_schemathesis.py."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient

from advisor.batch import OUTPUT_COLUMNS
from advisor.errors import InputError
from api import jobs
from api.app import create_app
from api.logs import JsonFormatter
from api.settings import Settings
from models.recommendation import Recommendation

WORKLOAD = {"id": "api-1", "vcpu": 2, "memory_gib": 8, "replicas": 2, "horizon_months": 36}
CSV_ROWS = [
    {"id": "web-1", "vcpu": "2", "memory_gib": "8", "replicas": "2", "team": "web"},
    {"id": "fn-1", "vcpu": "", "memory_gib": "", "replicas": "", "team": "payments",
     "requests_per_month": "5000000", "avg_duration_ms": "120"},
    {"id": "batch-1", "vcpu": "4", "memory_gib": "16", "replicas": "1", "team": "data"},
]


def settings(**overrides) -> Settings:
    base = {"evaluation_executor": "thread", "solver_executor": "thread", "warm_up": False}
    return Settings(**{**base, **overrides})


@contextmanager
def client_with(**overrides) -> Iterator[TestClient]:
    with TestClient(create_app(settings(**overrides))) as c:
        yield c


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with client_with() as c:
        yield c


def to_csv(rows: list[dict[str, str]]) -> bytes:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def assert_error(response: httpx.Response, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    if code:
        assert body["code"] == code, body
    if field:
        assert field in [e["field"] for e in body["errors"]], body
    return body


# --- meta ----------------------------------------------------------------------------------------------------

def test_index_links_every_resource(client):
    body = client.get("/").json()
    assert body["links"]["recommendations"] == "/v1/recommendations"
    assert {"evaluations", "plans", "catalog_version", "instance_types", "limits", "catalog_check", "health",
            "metrics", "openapi", "docs"} <= set(body["links"])


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def test_index_sends_a_browser_to_the_review_page(client):
    page = client.get("/", headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/review"
    for accept in ("*/*", "application/json", "application/json, text/html"):
        answer = client.get("/", headers={"Accept": accept}, follow_redirects=False)
        assert answer.status_code == 200, accept
        assert answer.json()["links"]["review"] == "/review"


@pytest.mark.parametrize("path, asset", [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_docs_pages_load_their_assets_from_this_server(client, path, asset):
    import re

    page = client.get(path)
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "googleapis" not in page.text and "cdn." not in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:;" in policy and "http" not in policy
    script = client.get(f"/docs/assets/{asset}")
    assert script.status_code == 200 and len(script.content) > 500_000


def test_healthz_names_the_catalog_version(client, catalog):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "catalog_version": catalog.version, "catalog_as_of": catalog.as_of}


def test_openapi_uses_the_domain_models_with_examples(client):
    doc = client.get("/openapi.json").json()
    components = doc["components"]["schemas"]
    assert {"Workload", "Recommendation", "RecommendationRequest", "ErrorBody", "PlanRequest",
            "EvaluationResponse"} <= set(components)
    assert components["Workload"]["examples"][0]["id"] == "api-1"
    assert components["RecommendationRequest"]["examples"]
    post = doc["paths"]["/v1/recommendations"]["post"]
    assert post["responses"]["200"]["content"]["application/json"]["example"]["workload_id"]
    assert post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    evaluation = doc["paths"]["/v1/evaluations"]["post"]["requestBody"]["content"]
    assert {"application/json", "text/csv", "multipart/form-data"} <= set(evaluation)
    assert "security" not in post  # auth is off by default


def test_request_id_is_generated_echoed_or_replaced(client):
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123.x"}).headers["x-request-id"] == "abc-123.x"
    for insane in ("x" * 300, "has space", "<script>"):
        echoed = client.get("/healthz", headers={"X-Request-ID": insane}).headers["x-request-id"]
        assert echoed != insane and len(echoed) == 32
    # on errors too, and in the error body
    response = client.get("/no/such/path", headers={"X-Request-ID": "trace-404"})
    assert assert_error(response, 404, "not_found")["request_id"] == "trace-404"


def test_metrics_count_requests_by_route_and_status(client):
    client.get("/v1/catalog/version")
    client.get("/v1/catalog/instance-types/not.a-type")
    text = client.get("/metrics").text
    assert 'advisor_http_requests_total{method="GET",route="/v1/catalog/version",status="200"}' in text
    assert ('advisor_http_requests_total{method="GET",route="/v1/catalog/instance-types/{instance_type}",'
            'status="404"}') in text
    assert 'advisor_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/catalog/version"' in text
    assert "/not.a-type" not in text  # routes, never raw paths: bounded label cardinality


def test_access_log_is_one_json_line_per_request(client, caplog):
    with caplog.at_level(logging.INFO, logger="api.access"):
        client.get("/healthz", headers={"X-Request-ID": "log-me"})
    records = [r for r in caplog.records if r.name == "api.access"]
    assert records
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["message"] == "request"
    assert line["route"] == "/healthz" and line["status"] == 200 and line["method"] == "GET"
    assert line["duration_ms"] >= 0 and line["request_id"] == "log-me"


# --- recommendations -----------------------------------------------------------------------------------------

def test_recommendation_is_the_contract_model(client, catalog):
    response = client.post("/v1/recommendations", json={"workload": WORKLOAD, "top_k": 3})
    assert response.status_code == 200, response.text
    rec = Recommendation.model_validate(response.json())
    assert rec.workload_id == "api-1"
    assert rec.choice is not None and rec.choice.monthly_usd > 0
    assert rec.catalog.version == catalog.version
    assert rec.rejected  # every option not chosen is explained


def test_same_shape_is_answered_from_the_cache_with_its_own_id(client):
    body = {"workload": {**WORKLOAD, "id": "cache-me", "replicas": 5}, "top_k": 2}
    first = client.post("/v1/recommendations", json=body)
    second = client.post("/v1/recommendations", json=body)
    other = client.post("/v1/recommendations", json={**body, "workload": {**body["workload"], "id": "ünïcode \"id\""}})
    assert first.status_code == second.status_code == other.status_code == 200
    assert first.content == second.content
    assert other.json() == {**first.json(), "workload_id": "ünïcode \"id\""}
    assert 'advisor_recommendation_cache_total{result="hit"} 2.0' in client.get("/metrics").text


def test_solver_time_limit_comes_from_settings(monkeypatch):
    seen = {}

    def fake(workload, **kwargs):
        seen.update(kwargs)
        raise InputError("stop here", field="workload.vcpu")

    monkeypatch.setattr(jobs, "recommend", fake)
    with client_with(max_solver_seconds=1.5, recommendation_cache_size=0) as c:
        assert_error(c.post("/v1/recommendations", json={"workload": WORKLOAD}), 422, "invalid_input", "workload.vcpu")
    assert seen["time_limit_s"] == 1.5


BAD_WORKLOADS = [
    pytest.param({**WORKLOAD, "vcpu": "two"}, "workload.vcpu", id="wrong-type"),
    pytest.param({**WORKLOAD, "memory_gib": -1}, "workload.memory_gib", id="negative"),
    pytest.param({**WORKLOAD, "os": "plan9"}, "workload.os", id="unknown-enum"),
    pytest.param({k: v for k, v in WORKLOAD.items() if k != "id"}, "workload.id", id="missing-id"),
    pytest.param({**WORKLOAD, "vcpu": 1e308}, "workload.vcpu", id="huge-float"),
    pytest.param({**WORKLOAD, "replicas": 10**30}, "workload.replicas", id="huge-int"),
    pytest.param({**WORKLOAD, "id": "x" * 100_000}, "workload.id", id="very-long-string"),
    pytest.param({**WORKLOAD, "gpu_model": "y" * 5000}, "workload.gpu_model", id="long-gpu-model"),
    pytest.param({**WORKLOAD, "colour": "blue"}, "workload.colour", id="unknown-field"),
    pytest.param({**WORKLOAD, "region": "xx-nowhere-9"}, "workload.region", id="unknown-region"),
    pytest.param({**WORKLOAD, "region": "Mars"}, "workload.region", id="malformed-region"),
    pytest.param({**WORKLOAD, "horizon_months": 0}, "workload.horizon_months", id="zero"),
    pytest.param({**WORKLOAD, "allowed_services": ["ec2", "mainframe"]}, "workload.allowed_services.1",
                 id="unknown-service"),
    pytest.param({"id": "fn", "requests_per_month": 10}, "workload", id="cross-field"),
    pytest.param({**WORKLOAD, "interruptible": {"nested": [1, 2]}}, "workload.interruptible", id="object-for-bool"),
]


@pytest.mark.parametrize(("workload", "field"), BAD_WORKLOADS)
def test_bad_workloads_get_422_naming_the_field(client, workload, field):
    body = assert_error(client.post("/v1/recommendations", json={"workload": workload}), 422, None, field)
    assert body["code"] == "invalid_input"
    assert len(json.dumps(body)) < 5000  # hostile values are shortened, never echoed whole


@pytest.mark.parametrize(("extra", "field"), [({"top_k": -1}, "top_k"), ({"top_k": 10**6}, "top_k"),
                                              ({"top_k": "many"}, "top_k"), ({"include_free_tier": "maybe"},
                                                                               "include_free_tier"),
                                              ({"extra": 1}, "extra")])
def test_bad_request_options_get_422(client, extra, field):
    assert_error(client.post("/v1/recommendations", json={"workload": WORKLOAD, **extra}), 422, "invalid_input", field)


@pytest.mark.parametrize(("content", "content_type", "status", "code"), [
    (b"{not json", "application/json", 400, "invalid_json"),
    (b"\xff\xfe\x00garbage", "application/json", 400, None),
    (b"", "application/json", 400, "empty_body"),
    (b"", None, 400, "empty_body"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, None),
    (b'{"workload": {"id": "a", "vcpu": ' + b"9" * 5000 + b', "memory_gib": 1}}', "application/json", 400, None),
    (b'{"workload": {"id": "a", "vcpu": NaN, "memory_gib": Infinity}}', "application/json", 422, "invalid_input"),
    (b"[1, 2, 3]", "application/json", 422, "invalid_input"),
    (b'"just a string"', "application/json", 422, "invalid_input"),
    (b"null", "application/json", 422, "invalid_input"),
    (json.dumps({"workload": WORKLOAD}).encode(), "text/plain", 415, "unsupported_media_type"),
    (json.dumps({"workload": WORKLOAD}).encode(), None, 415, "unsupported_media_type"),
    (b"id,vcpu\na,1\n", "text/csv", 415, "unsupported_media_type"),
])
def test_bodies_that_are_not_json_objects(client, content, content_type, status, code):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/v1/recommendations", content=content, headers=headers)
    assert_error(response, status, code)


def test_wrong_method_and_unknown_path(client):
    response = client.get("/v1/recommendations")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    assert_error(client.post("/v1/nothing-here", json={}), 404, "not_found")


def test_unexpected_errors_are_a_logged_500_with_the_request_id(monkeypatch, caplog):
    def broken(workload, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "recommend", broken)
    with client_with(recommendation_cache_size=0) as c, caplog.at_level(logging.ERROR, logger="api"):
        response = c.post("/v1/recommendations", json={"workload": WORKLOAD}, headers={"X-Request-ID": "r-500"})
    body = assert_error(response, 500, "internal_error")
    assert "r-500" in body["message"] and "boom" not in response.text  # no internals leak to the client
    assert any("unexpected error" in r.getMessage() and r.exc_info for r in caplog.records)


# --- evaluations ---------------------------------------------------------------------------------------------

def check_rows(body: dict, ids: list[str]) -> list[dict]:
    rows = body["rows"]
    assert [r["id"] for r in rows] == ids
    for row in rows:
        assert set(OUTPUT_COLUMNS) <= set(row)
        assert row["status"] in ("ok", "error")
    assert body["summary"]
    return rows


def test_evaluation_of_a_csv_body(client, catalog):
    response = client.post("/v1/evaluations", content=to_csv(CSV_ROWS), headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    rows = check_rows(response.json(), ["web-1", "fn-1", "batch-1"])
    assert all(r["status"] == "ok" and r["monthly_usd"] > 0 for r in rows), rows
    assert rows[1]["team"] == "payments"  # unknown columns pass through
    assert {r["catalog_version"] for r in rows} == {catalog.version}


def test_evaluation_of_a_multipart_upload(client):
    files = {"file": ("workloads.csv", to_csv(CSV_ROWS), "text/csv")}
    response = client.post("/v1/evaluations", files=files)
    assert response.status_code == 200, response.text
    check_rows(response.json(), ["web-1", "fn-1", "batch-1"])


def test_evaluation_of_json_workloads_keeps_order_and_reports_bad_rows(client):
    workloads = [WORKLOAD, {"id": "bad", "vcpu": "lots", "memory_gib": 4}, {"id": "fn", "requests_per_month": 1e6,
                                                                          "avg_duration_ms": 50, "owner": "x"}]
    response = client.post("/v1/evaluations", json={"workloads": workloads, "include_free_tier": True})
    assert response.status_code == 200, response.text
    rows = check_rows(response.json(), ["api-1", "bad", "fn"])
    assert [r["status"] for r in rows] == ["ok", "error", "ok"]
    assert "vcpu" in rows[1]["error"]


def test_worker_processes_answer_recommendations_and_evaluations():
    with client_with(evaluation_executor="process", solver_executor="process", solver_workers=1,
                     warm_up=True) as c:
        response = c.post("/v1/evaluations", content=to_csv(CSV_ROWS[:1]), headers={"content-type": "text/csv"})
        assert response.status_code == 200, response.text
        check_rows(response.json(), ["web-1"])
        first = c.post("/v1/recommendations", json={"workload": WORKLOAD})
        again = c.post("/v1/recommendations", json={"workload": {**WORKLOAD, "id": "same-shape"}})
        assert first.status_code == again.status_code == 200
        assert Recommendation.model_validate(first.json()).choice is not None
        assert again.json() == {**first.json(), "workload_id": "same-shape"}


@pytest.mark.parametrize(("content", "content_type", "status", "code"), [
    (b"", "text/csv", 400, "empty_body"),
    (b"\xff\xfe\xfa not utf-8", "text/csv", 400, "invalid_csv"),
    (b"\n\n", "text/csv", 400, "invalid_csv"),
    (b"id,vcpu,memory_gib\n", "text/csv", 422, "invalid_input"),
    (b'id,vcpu\n"unterminated,1\n' + b"x" * 200_000, "text/csv", 400, "invalid_csv"),
    (b"id,vcpu\na,1\n", "application/xml", 415, "unsupported_media_type"),
    (b"id,vcpu\na,1\n", None, 415, "unsupported_media_type"),
    (b"{nope", "application/json", 400, "invalid_json"),
    (b'{"workloads": []}', "application/json", 422, "invalid_input"),
    (b'{"workloads": {"id": "a"}}', "application/json", 422, "invalid_input"),
    (b'{"workloads": [1, "two"]}', "application/json", 422, "invalid_input"),
    (b'{"rows": []}', "application/json", 422, "invalid_input"),
    (b"[" * 50_000, "application/json", 400, "invalid_json"),
])
def test_evaluation_bad_bodies(client, content, content_type, status, code):
    headers = {"content-type": content_type} if content_type else {}
    assert_error(client.post("/v1/evaluations", content=content, headers=headers), status, code)


HOSTILE_CSVS = {
    "ragged-long-row": b"id,vcpu,memory_gib\na,1,2,3,4\nb,1,2\n",
    "ragged-short-row": b"id,vcpu,memory_gib\na\nb,1,2\n",
    "duplicate-header": b"id,id,vcpu\na,b,1\n",
    "input-column-named-like-an-output": b"id,vcpu,memory_gib,status,monthly_usd\na,1,2,x,y\n",
    "unterminated-quote": b'id,vcpu,memory_gib\n"a,1,2\n',
    "nul-byte": b"id,vcpu,memory_gib\na\x00,1,2\n",
    "bom-and-crlf": "\ufeffid,vcpu,memory_gib\r\na,1,2\r\n".encode(),
    "semicolons": b"id;vcpu;memory_gib\na;1;2\n",
    "formula": b"id,vcpu,memory_gib\n=HYPERLINK(1),1,2\n",
    "overflowing-number": b"id,vcpu,memory_gib\na,1e400,2\n",
    "unknown-region": b"id,vcpu,memory_gib,region\na,1,2,xx-nowhere-1\nb,1,2,us-east-1\n",
    "tiny-job-duration": b"id,vcpu,memory_gib,jobs_per_month,job_duration_minutes\na,1,2,10,1e-320\n",
    "empty-header-cell": b"id,,vcpu,memory_gib\na,,1,2\n",
}


@pytest.mark.parametrize("data", list(HOSTILE_CSVS.values()), ids=list(HOSTILE_CSVS))
def test_hostile_csvs_never_get_a_server_error(client, data):
    response = client.post("/v1/evaluations", content=data, headers={"content-type": "text/csv"})
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        assert len(response.json()["rows"]) == sum(1 for line in data.splitlines()[1:] if line.strip())
    else:
        assert_error(response, response.status_code)


def test_evaluation_json_errors_name_the_field(client):
    body = assert_error(client.post("/v1/evaluations", json={"workloads": [WORKLOAD, 7]}), 422, "invalid_input")
    assert body["errors"][0]["field"] == "workloads.1"


def test_evaluation_multipart_without_a_file_part(client):
    response = client.post("/v1/evaluations", data={"other": "x"}, files={"not_file": ("a.csv", b"id\na\n")})
    assert_error(response, 422, "invalid_input")
    assert "'file'" in response.json()["message"]


def test_evaluation_row_limit(client):
    rows = [{"id": f"w{i}", "vcpu": "1", "memory_gib": "2"} for i in range(4)]
    with client_with(max_rows=3) as c:
        too_many = c.post("/v1/evaluations", content=to_csv(rows), headers={"content-type": "text/csv"})
        body = assert_error(too_many, 413, "too_many_rows")
        assert "3" in body["message"] and "ADVISOR_MAX_ROWS" in body["message"]
        as_json = [{"id": r["id"], "vcpu": 1, "memory_gib": 2} for r in rows]
        assert_error(c.post("/v1/evaluations", json={"workloads": as_json}), 413, "too_many_rows")
        assert c.post("/v1/evaluations", json={"workloads": as_json[:3]}).status_code == 200


def test_evaluation_input_errors_name_field_and_row(client, monkeypatch):
    def rejects(data, **kwargs):
        raise InputError("vcpu: not a number", field="vcpu", row=7)

    monkeypatch.setattr(jobs.batch, "evaluate_csv", rejects)
    body = assert_error(client.post("/v1/evaluations", content=to_csv(CSV_ROWS), headers={"content-type": "text/csv"}),
                        422, "invalid_input", "vcpu")
    assert body["errors"][0]["row"] == 7


def test_evaluation_not_implemented_is_501(client, monkeypatch):
    def missing(data, **kwargs):
        raise NotImplementedError

    monkeypatch.setattr(jobs.batch, "evaluate_csv", missing)
    response = client.post("/v1/evaluations", content=to_csv(CSV_ROWS), headers={"content-type": "text/csv"})
    assert "not available" in assert_error(response, 501, "not_implemented")["message"]


def test_evaluation_answers_are_strict_json():
    assert jobs.dumps({"a": float("nan"), "b": [float("inf")], "c": 10**5000}) == (
        b'{"a":null,"b":[null],"c":"an integer of about 5001 digits"}')


# --- plans ---------------------------------------------------------------------------------------------------

def test_plan_answers_the_contract(client):
    response = client.post("/v1/plans", json={"workloads": [WORKLOAD, {**WORKLOAD, "id": "w2"}],
                                              "constraints": {"max_monthly_usd": 5000}})
    assert response.status_code == 200, response.text
    plan = response.json()
    assert {"placements", "shared", "totals", "solver", "explanation", "catalog"} <= set(plan)
    assert [p["workload_id"] for p in plan["placements"]] == [WORKLOAD["id"], "w2"]
    assert plan["totals"]["monthly_usd"] <= 5000 and plan["solver"]["status"] in ("OPTIMAL", "FEASIBLE")


def test_infeasible_plan_is_422_naming_the_constraints(client):
    response = client.post("/v1/plans", json={"workloads": [WORKLOAD], "constraints": {"max_monthly_usd": 1}})
    body = assert_error(response, 422, "invalid_input")
    assert "max_monthly_usd" in body["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"workloads": [{**WORKLOAD, "vcpu": -1}]}, "workloads.0.vcpu"),
    ({"workloads": [WORKLOAD, WORKLOAD]}, "workloads"),
    ({"workloads": []}, "workloads"),
    ({"constraints": {}}, "workloads"),
    ({"workloads": [WORKLOAD], "constraints": {"max_spot_share": 2}}, "constraints.max_spot_share"),
    ({"workloads": [WORKLOAD], "constraints": {"colour": "red"}}, "constraints.colour"),
    ({"workloads": [{**WORKLOAD, "region": "zz-nowhere-1"}]}, "workloads.0.region"),
    ({"workloads": "all of them"}, "workloads"),
])
def test_plan_bad_input_is_422(client, body, field):
    assert_error(client.post("/v1/plans", json=body), 422, "invalid_input", field)


def test_plan_non_json_is_400(client):
    assert_error(client.post("/v1/plans", content=b"workloads", headers={"content-type": "application/json"}), 400)
    assert_error(client.post("/v1/plans", content=b"", headers={"content-type": "application/json"}), 400)


# --- catalog -------------------------------------------------------------------------------------------------

def test_catalog_version(client, catalog):
    body = client.get("/v1/catalog/version").json()
    assert body["version"] == catalog.version and body["as_of"] == catalog.as_of
    assert "us-east-1" in body["regions"] and body["sources"]


def test_catalog_instance_types(client):
    body = client.get("/v1/catalog/instance-types", params={"region": "eu-west-1", "os": "windows"}).json()
    assert body["region"] == "eu-west-1" and body["os"] == "windows" and body["count"] == len(body["instance_types"])
    m5 = next(t for t in body["instance_types"] if t["instance_type"] == "m5.large")
    assert m5["vcpu"] == 2 and m5["on_demand_usd_per_hour"] > 0 and m5["price_quality"]


def test_catalog_instance_type_record_with_rates(client):
    body = client.get("/v1/catalog/instance-types/m5.large", params={"region": "us-east-1"}).json()
    assert body["instance_type"] == "m5.large" and body["price_quality"] == "list"
    options = {r["purchase_option"] for r in body["rates"]}
    assert {"on_demand", "reserved", "spot"} <= options
    assert body["catalog"]["version"]


@pytest.mark.parametrize(("path", "params", "status", "field"), [
    ("/v1/catalog/instance-types/zz9.large", {}, 404, None),
    ("/v1/catalog/instance-types/m5.large", {"region": "xx-nowhere-1"}, 404, None),
    ("/v1/catalog/instance-types", {"region": "xx-nowhere-1"}, 404, None),
    ("/v1/catalog/instance-types", {"region": "Not A Region"}, 422, "region"),
    ("/v1/catalog/instance-types", {"region": "r" * 5000}, 422, "region"),
    ("/v1/catalog/instance-types", {"os": "beos"}, 422, "os"),
    ("/v1/catalog/instance-types/M5 LARGE", {}, 422, "instance_type"),
    ("/v1/catalog/instance-types/" + "m" * 300 + ".large", {}, 422, "instance_type"),
])
def test_catalog_bad_lookups(client, path, params, status, field):
    assert_error(client.get(path, params=params), status, None, field)


def test_catalog_limits_with_source_and_quality(client):
    body = client.get("/v1/catalog/limits").json()
    assert body["missing"] == []
    limits = {item["name"]: item for item in body["limits"]}
    assert limits["lambda.max_timeout_seconds"]["value"] == 900
    assert limits["lambda.max_memory_mb"]["value"] == 10240
    assert limits["fargate.max_task_vcpu"]["value"] == 16 and limits["fargate.valid_sizes"]["value"]
    assert limits["eks.max_pods_prefix_delegation_small"]["value"] == 110
    for item in limits.values():
        assert item["quality"] in ("list", "documented", "estimate")
        assert item["source"]["title"] and item["source"]["as_of"]


def test_catalog_check_summary_without_the_repairs_list(client):
    body = client.get("/v1/catalog/check").json()
    assert isinstance(body["repairs"], int) and body["repairs"] > 0
    assert body["nonpositive_unmarked"] == 0
    assert {"region", "os", "list", "derived", "estimate", "imported", "missing"} <= set(body["counts"][0])


# --- auth ----------------------------------------------------------------------------------------------------

def test_auth_is_off_by_default(client):
    assert client.get("/v1/catalog/version").status_code == 200


def test_api_key_required_when_configured():
    with client_with(api_key="s3cret-key") as c:
        missing = c.get("/v1/catalog/version")
        assert_error(missing, 401, "unauthorized")
        assert "X-API-Key" in missing.headers["www-authenticate"]
        assert_error(c.get("/v1/catalog/version", headers={"X-API-Key": "wrong"}), 401, "unauthorized")
        assert_error(c.get("/v1/catalog/version", headers={"X-API-Key": "s3cret-key "}), 401)
        assert_error(c.get("/v1/catalog/version", headers={"X-API-Key": "s3cr\xe9t".encode("latin-1")}), 401)
        assert c.get("/v1/catalog/version", headers={"X-API-Key": "s3cret-key"}).status_code == 200
        # open: probes, scrapers, index and documentation
        for path in ("/healthz", "/metrics", "/", "/openapi.json", "/docs", "/redoc",
                     "/docs/assets/swagger-ui-bundle.js", "/docs/assets/redoc.standalone.js"):
            assert c.get(path).status_code == 200, path
        # checked before any body is read: a huge unauthenticated upload is refused with 401, not 413
        assert_error(c.post("/v1/evaluations", content=b"x" * (6 * 1024 * 1024), headers={"content-type": "text/csv"}),
                     401)
        doc = c.get("/openapi.json").json()
        assert doc["paths"]["/v1/recommendations"]["post"]["security"]


def test_api_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("ADVISOR_API_KEY", "from-env")
    monkeypatch.setenv("ADVISOR_MAX_ROWS", "7")
    loaded = Settings()
    assert loaded.api_key is not None and loaded.api_key.get_secret_value() == "from-env"
    assert loaded.max_rows == 7
    assert "from-env" not in repr(loaded)
    monkeypatch.setenv("ADVISOR_API_KEY", "")
    assert Settings().api_key is None


# --- limits --------------------------------------------------------------------------------------------------

def test_body_limit_by_content_length():
    with client_with(max_body_bytes=2048) as c:
        body = json.dumps({"workload": {**WORKLOAD, "id": "x" * 4000}})
        response = c.post("/v1/recommendations", content=body, headers={"content-type": "application/json"})
        message = assert_error(response, 413, "body_too_large")["message"]
        assert "2,048" in message
        # also on routes that would never read the body
        assert_error(c.post("/healthz", content=b"y" * 4096), 413, "body_too_large")


def test_body_limit_while_streaming_without_content_length():
    def chunks():
        for _ in range(10):
            yield b"id,vcpu,memory_gib\n" * 20

    with client_with(max_body_bytes=1024) as c:
        response = c.post("/v1/evaluations", content=chunks(), headers={"content-type": "text/csv"})
        assert "content-length" not in response.request.headers
        assert_error(response, 413, "body_too_large")


def test_body_limit_rejects_a_bad_content_length():
    async def call() -> httpx.Response:
        app = create_app(settings())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as ac:
            request = ac.build_request("POST", "/v1/recommendations", content=b"{}",
                                       headers={"content-type": "application/json"})
            request.headers["content-length"] = "12abc"
            return await ac.send(request)

    assert_error(asyncio.run(call()), 400, "bad_request")


def test_healthz_answers_while_the_solver_is_busy_and_the_queue_bound_gives_503(monkeypatch):
    release = threading.Event()
    entered = threading.Event()

    def slow(workload, **kwargs):
        entered.set()
        assert release.wait(10)
        raise InputError("released", field="workload")

    monkeypatch.setattr(jobs, "recommend", slow)

    async def scenario() -> tuple[int, int, int]:
        app = create_app(settings(solver_workers=1, max_queued_solves=0, recommendation_cache_size=0))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as ac:
            first = asyncio.create_task(ac.post("/v1/recommendations", json={"workload": WORKLOAD}))
            while not entered.is_set():  # the solve is running in its thread
                await asyncio.sleep(0.001)
            health = await ac.get("/healthz")  # answered while the solver thread is still blocked
            busy = await ac.post("/v1/recommendations", json={"workload": {**WORKLOAD, "vcpu": 3}})
            release.set()
            return health.status_code, busy.status_code, (await first).status_code

    health, busy, first = asyncio.run(scenario())
    assert (health, busy, first) == (200, 503, 422)


# --- CORS ----------------------------------------------------------------------------------------------------

def test_cors_when_configured():
    with client_with(cors_origins="https://planner.example, https://other.example") as c:
        preflight = c.options("/v1/recommendations", headers={
            "Origin": "https://planner.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://planner.example"
        simple = c.get("/healthz", headers={"Origin": "https://other.example"})
        assert simple.headers["access-control-allow-origin"] == "https://other.example"
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
        assert "access-control-allow-origin" not in c.get("/healthz", headers={"Origin": "https://evil.example"}).headers


def test_no_cors_by_default(client):
    assert "access-control-allow-origin" not in client.get("/healthz", headers={"Origin": "https://a.example"}).headers


# --- server --------------------------------------------------------------------------------------------------

def test_server_runs_uvicorn_with_the_factory(monkeypatch):
    import uvicorn

    from api import server

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.update(app=app, **kwargs))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("ADVISOR_SOLVER_WORKERS", raising=False)
    server.run(host="127.0.0.1", port=8123, workers=2)
    assert calls["app"] == "api.app:create_app" and calls["factory"] is True
    assert (calls["host"], calls["port"], calls["workers"]) == ("127.0.0.1", 8123, 2)
    assert calls["access_log"] is False and calls["log_config"]["formatters"]["json"]
    import os

    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR")  # one metrics view over both workers
    assert int(os.environ["ADVISOR_SOLVER_WORKERS"]) == max(1, (os.cpu_count() or 1) // 2)
    assert calls["http"].__name__ == "NoDelayProtocol"


def test_server_refuses_bad_settings(monkeypatch):
    from api import server

    monkeypatch.setenv("ADVISOR_MAX_BODY_BYTES", "lots")
    with pytest.raises(InputError, match="ADVISOR_MAX_BODY_BYTES"):
        server.run()


def test_concurrent_requests_of_one_shape_share_one_solve(monkeypatch):
    solves = []
    release = threading.Event()
    real = jobs.recommend

    def counted(workload, **kwargs):
        solves.append(workload.id)
        assert release.wait(10)
        return real(workload, **kwargs)

    monkeypatch.setattr(jobs, "recommend", counted)

    async def scenario() -> list[httpx.Response]:
        app = create_app(settings(solver_workers=2))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as ac:
            tasks = [asyncio.create_task(ac.post("/v1/recommendations", json={"workload": {**WORKLOAD, "id": f"w{i}"}}))
                     for i in range(5)]
            registry = app.state.advisor.metrics.registry
            while registry.get_sample_value("advisor_recommendation_cache_total", {"result": "shared"}) != 4:
                await asyncio.sleep(0.001)  # until the other four wait on the first one's solve
            release.set()
            return list(await asyncio.gather(*tasks))

    responses = asyncio.run(scenario())
    assert [r.status_code for r in responses] == [200] * 5
    assert len(solves) == 1
    assert [r.json()["workload_id"] for r in responses] == [f"w{i}" for i in range(5)]


def test_worker_processes_exit_when_the_server_is_killed(tmp_path):
    """A pool worker holds both ends of its task pipe, so without a watch it would outlive a killed server."""
    import subprocess
    import sys
    import time

    script = tmp_path / "server.py"
    script.write_text(
        "import os, sys\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "import multiprocessing\n"
        "from api import jobs\n"
        "if __name__ == '__main__':\n"
        "    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn'),\n"
        "                               initializer=jobs.exit_with_parent)\n"
        "    print(pool.submit(os.getpid).result(), flush=True)\n"
        "    os._exit(0)  # like SIGKILL: no shutdown, no cleanup\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True)
    worker = int(out.stdout.strip())

    def alive(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 15
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(worker)
