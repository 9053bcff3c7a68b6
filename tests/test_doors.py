"""One behaviour per situation on every door: the CLI (exit 1), a CSV row (status=error) and the API (422) give
the same error, in the same words, for the same bad value; usage errors exit 2; `--fail-on-errors`; a CSV that
cannot be parsed names its line; no validation-library wording reaches a person."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from advisor import cli
from api.app import create_app
from api.settings import Settings

BASE = {"id": "door-1", "vcpu": "4", "memory_gib": "16"}

# (field, bad value, words the message must contain): each is checked on the three doors
CASES = [
    ("region", "us-north-9", "not a region in the catalog"),
    ("region", "usnorth9", "not an AWS region code (like us-east-1 or eu-west-1)"),
    ("os", "plan9", "must be one of linux, windows, rhel, suse"),
    ("tenancy", "private", "must be one of shared, dedicated, host"),
    ("hours_per_month", "800", "must be at most 730"),
    ("vcpu", "-1", "must be greater than 0"),
    ("replicas", "0", "must be at least 1"),
]
LIBRARY_WORDS = ("Input should", "Value error", "String should", "[a-z]", "pydantic")


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """`advisor ARGV` in this process through the real entry point: (exit code, stderr with lines joined)."""
    monkeypatch.setattr(sys, "argv", ["advisor", *argv])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    code = stop.value.code if isinstance(stop.value.code, int) else 0
    return code, " ".join(capsys.readouterr().err.split())


def without_value(message: str) -> str:
    return re.sub(r" \(got .*\)$", "", message)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(evaluation_executor="thread", solver_executor="thread", warm_up=False)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize("field, value, words", CASES)
def test_a_bad_value_is_the_same_error_on_every_door(field, value, words, client, tmp_path, capsys, monkeypatch):
    workload = {**BASE, field: value}
    # CLI: exit 1, "error: <field>: <message> (got <value>)"
    path = tmp_path / "w.json"
    path.write_text(json.dumps(workload))
    code, stderr = run_cli(["recommend", str(path)], capsys, monkeypatch)
    assert code == 1, stderr
    assert stderr.startswith("error: ")
    cli_message = stderr.removeprefix("error: ")
    # a CSV row: status=error, the same message
    header = ",".join(workload)
    csv = f"{header}\n" + ",".join(workload.values()) + "\n"
    rows = client.post("/v1/evaluations", content=csv, headers={"Content-Type": "text/csv"}).json()["rows"]
    assert rows[0]["status"] == "error"
    assert rows[0]["error"] == cli_message
    # the API: 422 naming workload.<field>, the same words
    body = {"workload": {**workload, **{k: float(v) for k, v in workload.items() if k in ("vcpu", "memory_gib",
                                                                                          "hours_per_month")}}}
    if field == "replicas":
        body["workload"]["replicas"] = int(value)
    answer = client.post("/v1/recommendations", json=body)
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert [e["field"] for e in error["errors"]] == [f"workload.{field}"]
    assert error["message"] == f"workload.{without_value(cli_message)}"
    # and the words are ours
    assert cli_message.startswith(f"{field}: {words}")
    for text in (cli_message, error["message"], error["errors"][0]["message"]):
        assert not any(w in text for w in LIBRARY_WORDS), text


def test_unknown_region_names_a_near_one(capsys, monkeypatch):
    code, stderr = run_cli(["recommend", "--vcpu", "2", "--memory-gib", "4", "--region", "eu-wst-1"], capsys,
                           monkeypatch)
    assert code == 1
    assert "did you mean eu-west-1?" in stderr


def test_usage_errors_exit_2(tmp_path, capsys, monkeypatch):
    workload = Path(__file__).resolve().parents[1] / "data" / "examples" / "api.json"
    code, stderr = run_cli(["report", str(workload), "-o", str(tmp_path / "x.pdf")], capsys, monkeypatch)
    assert code == 2 and ".html or .md" in stderr
    assert not (tmp_path / "x.pdf").exists()
    csv = tmp_path / "in.csv"
    csv.write_text("id,vcpu,memory_gib\na,1,2\n")
    code, stderr = run_cli(["evaluate", str(csv), "-o", str(tmp_path / "out.xlsx")], capsys, monkeypatch)
    assert code == 2 and ".xlsx" in stderr
    code, stderr = run_cli(["evaluate", str(csv), "-o", "-", "--format", "parquet"], capsys, monkeypatch)
    assert code == 2 and "standard output" in stderr
    code, stderr = run_cli(["recommend", "--set", "gpus"], capsys, monkeypatch)
    assert code == 2 and "field=value" in stderr
    code, _ = run_cli(["recommend", "--top-k", "-1"], capsys, monkeypatch)
    assert code == 2


def test_evaluate_fail_on_errors(tmp_path, capsys, monkeypatch):
    csv = tmp_path / "in.csv"
    csv.write_text("id,vcpu,memory_gib\ngood,1,2\nbad,two,2\n")
    out = tmp_path / "out.csv"
    code, _ = run_cli(["evaluate", str(csv), "-o", str(out), "--workers", "1"], capsys, monkeypatch)
    assert code == 0  # rows in error are answers too, by default
    code, stderr = run_cli(["evaluate", str(csv), "-o", str(out), "--workers", "1", "--fail-on-errors"], capsys,
                           monkeypatch)
    assert code == 1 and "1 of 2 rows are in error" in stderr
    assert len(out.read_text().splitlines()) == 3  # everything was still written
    csv.write_text("id,vcpu,memory_gib\ngood,1,2\n")
    code, _ = run_cli(["evaluate", str(csv), "-o", str(out), "--workers", "1", "--fail-on-errors"], capsys,
                      monkeypatch)
    assert code == 0


@pytest.mark.parametrize("text, line, words", [
    ('id,vcpu,memory_gib\na,1,2\nb,"2,4\nc,1,2\n', 3, "a quoted cell is never closed"),
    ("id,vcpu,memory_gib\na,1,2\nb,1,2\nc,2,4,5\n", 4, "4 cells, but the header has 3"),
])
def test_a_structural_csv_error_names_its_line(text, line, words, client, tmp_path, capsys, monkeypatch):
    csv = tmp_path / "in.csv"
    csv.write_text(text)
    code, stderr = run_cli(["evaluate", str(csv), "-o", str(tmp_path / "out.csv"), "--workers", "1"], capsys,
                           monkeypatch)
    assert code == 1
    assert f"line {line}: {words}" in stderr
    answer = client.post("/v1/evaluations", content=text, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_csv"  # not a CSV: the whole body
    assert f"line {line}: {words}" in answer.json()["message"]


def test_a_malformed_region_is_printed_as_written(capsys, monkeypatch):
    """Square brackets in a message are text, not terminal markup (nothing is eaten)."""
    code, stderr = run_cli(["recommend", "--vcpu", "2", "--memory-gib", "4", "--region", "[a-z]-east-1"],
                           capsys, monkeypatch)
    assert code == 1
    assert "(got '[a-z]-east-1')" in stderr


def test_a_column_named_like_the_evaluators_own_is_refused_clearly(client):
    """Found by the schemathesis run: a pass-through key `_row` broke the evaluation (a 500)."""
    answer = client.post("/v1/evaluations", json={"workloads": [{"id": "a", "vcpu": 1, "memory_gib": 2, "_row": 1}]})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "_row"
