"""As written versus advised, and cost diffs: each as-written cost recomputed here from the catalog's facts."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.inputs import read_paths
from advisor.inputs.compare import evaluate_estate
from advisor.inputs.diff import diff, markdown

FIXTURES = Path(__file__).parent / "fixtures" / "inputs"
runner = CliRunner()


def on_demand(catalog, instance_type: str, region: str = "us-east-1", os: str = "linux") -> float:
    rows = catalog.on_demand.filter((pl.col("instance_type") == instance_type) & (pl.col("region") == region)
                                    & (pl.col("os") == os))
    return rows["usd_per_hour"][0]


@pytest.fixture(scope="module")
def base(catalog):
    return evaluate_estate(read_paths([FIXTURES / "plan_base.json"]), catalog=catalog)


@pytest.fixture(scope="module")
def head(catalog):
    return evaluate_estate(read_paths([FIXTURES / "plan_head.json"]), catalog=catalog)


def rows(answer):
    return {r["id"]: r for r in answer.rows}


def test_two_on_demand_m5_xlarge_as_written(base, catalog):
    web = rows(base)["aws_instance.web"]
    assert on_demand(catalog, "m5.xlarge") == 0.192  # the published us-east-1 Linux price
    assert web["current_monthly_usd"] == 280.32 == round(2 * 0.192 * 730, 2)
    assert web["current_lines"] == "m5.xlarge x2 on-demand $0.192/h x 730 h = $280.32"
    assert web["status"] == "ok" and web["monthly_usd"] is not None
    assert web["saving_usd"] == round(280.32 - web["monthly_usd"], 2)
    assert web["change"].startswith("ec2 m5.xlarge x2 on_demand -> ")
    assert (web["vcpu"], web["memory_gib"], web["arch"]) == ("4", "16", "x86_64")  # sized as the type it runs on


def test_mixed_instances_as_written(base, catalog):
    from advisor.catalog.rates import rate_table

    asg = rows(base)["module.workers.aws_autoscaling_group.this"]
    table = rate_table(catalog, "us-east-1", "linux", "shared")
    spot = table.filter((pl.col("instance_type") == "c5.large") & (pl.col("purchase_option") == "spot"))
    expected = round(3 * on_demand(catalog, "c5.large") * 730, 2) + round(3 * spot["usd_per_hour"][0] * 730, 2)
    assert asg["current_monthly_usd"] == pytest.approx(expected, abs=0.005)
    assert asg["interruptible"] == "true"  # it runs Spot as written: it tolerates interruption


def test_unknown_values_are_unknown_never_zero(head):
    builder = rows(head)["module.ci.aws_instance.builder"]
    assert builder["status"] == "unknown" and builder["error"] == "instance_type: known only after apply"
    assert builder["current_monthly_usd"] is None and builder["monthly_usd"] is None
    assert builder["saving_usd"] is None
    assert head.summary["unknown"] == 2  # the builder and the Lambda function (its load is not in a plan)
    priced = [r["current_monthly_usd"] for r in head.rows if r["current_monthly_usd"] is not None]
    assert head.summary["as_written_monthly_usd"] == round(sum(priced), 2)


def test_fargate_as_written(head, catalog):
    from advisor.candidates.regional import regional

    svc = rows(head)['aws_ecs_service.svc["checkout"]']
    vcpu = regional(catalog, "fargate.vcpu_usd_per_hour_arm64", "us-east-1").value
    gb = regional(catalog, "fargate.gb_usd_per_hour_arm64", "us-east-1").value
    on_demand_part = 2 * (1 * vcpu + 2 * gb) * 730
    assert "x2 on_demand x2 spot" in svc["as_written"]
    spot_part = svc["current_monthly_usd"] - round(on_demand_part, 2)
    assert 0 < spot_part < round(on_demand_part, 2)  # Fargate Spot is cheaper than on-demand, and not free
    assert svc["current_lines"].startswith("Fargate task 1 vCPU / 2 GB arm64 x2")


def test_pods_pinned_to_a_node_type_are_packed_onto_it(catalog):
    answer = evaluate_estate(read_paths([FIXTURES / "chart_rendered.yaml"]), catalog=catalog)
    db = rows(answer)["statefulset/shop/shop-db"]
    spec = catalog.specs.filter(pl.col("instance_type") == "r6i.xlarge").row(0, named=True)
    per_node = min(math.floor(spec["eks_allocatable_vcpu"] / 1.5), math.floor(spec["eks_allocatable_memory_gib"] / 6),
                   spec["eks_max_pods"] - 2)
    nodes = math.ceil(2 / per_node)
    assert db["current_monthly_usd"] == round(nodes * on_demand(catalog, "r6i.xlarge") * 730, 2)
    assert rows(answer)["job/shop/reindex"]["status"] == "unknown"
    assert len(answer.skipped) == 4


def test_ecs_file_as_written(catalog):
    from advisor.candidates.regional import regional

    answer = evaluate_estate(read_paths([FIXTURES / "ecs_taskdefs.json"]), catalog=catalog)
    api = rows(answer)["ecs/api-svc"]
    vcpu = regional(catalog, "fargate.vcpu_usd_per_hour_x86", "us-east-1").value
    gb = regional(catalog, "fargate.gb_usd_per_hour_x86", "us-east-1").value
    assert api["current_monthly_usd"] == round(3 * (0.5 * vcpu + 1 * gb) * 730, 2)
    assert rows(answer)["ecs/batch-worker"]["current_monthly_usd"] is None  # EC2 capacity: not in the file


def test_diff_of_two_plans(base, head):
    d = diff(base, head)
    by = {c.id: c for c in d.changes}
    web = by["aws_instance.web"]
    assert (web.change, web.before_as_written, web.after_as_written) == ("changed", 280.32, 420.48)
    assert web.delta_as_written == 140.16
    legacy = by["aws_instance.legacy"]
    assert legacy.change == "removed" and legacy.delta_as_written == -legacy.before_as_written
    assert by["module.ci.aws_instance.builder"].delta_as_written is None  # unknown, out of the totals
    known = [c.delta_as_written for c in d.changes if c.delta_as_written is not None]
    assert d.delta_as_written == round(sum(known), 2)
    text = markdown(d, gate=100)
    assert "| changed | `aws_instance.web` | $280.32 | $420.48 | +$140.16 |" in text
    assert "| removed | `aws_instance.legacy` | $60.74 | - | -$60.74 |" in text
    assert "`module.ci.aws_instance.builder`: instance_type: known only after apply" in text
    assert "is over the limit of $100.00" in text


def test_diff_command_and_policy_gate():
    args = ["diff", str(FIXTURES / "plan_base.json"), str(FIXTURES / "plan_head.json"), "-f", "markdown"]
    over = runner.invoke(app, [*args, "--fail-above-usd", "100"])
    assert over.exit_code == 3, over.output
    assert over.output.startswith("### Monthly cost change: +$")
    within = runner.invoke(app, [*args, "--fail-above-usd", "100000"])
    assert within.exit_code == 0 and "is within the limit" in within.output
    same = runner.invoke(app, ["diff", str(FIXTURES / "plan_base.json"), str(FIXTURES / "plan_base.json"),
                               "-f", "json", "--fail-above-usd", "0"])
    assert same.exit_code == 0
    doc = json.loads(same.output)
    assert doc["monthly_change_as_written_usd"] == 0 and not doc["gate_failed"]


def test_evaluate_accepts_a_plan_and_adds_current_and_saving_columns(tmp_path):
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["evaluate", str(FIXTURES / "plan_base.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        got = {r["id"]: r for r in csv.DictReader(handle)}
    assert got["aws_instance.web"]["current_monthly_usd"] == "280.32"
    assert float(got["aws_instance.web"]["saving_usd"]) == round(280.32 - float(got["aws_instance.web"]
                                                                                 ["monthly_usd"]), 2)
    summary = json.loads((tmp_path / "out.csv.summary.json").read_text())
    assert {s["source_address"] for s in summary["skipped"]} == {"aws_security_group.web", "data.aws_ami.al2023"}


def test_import_writes_the_contract_csv_which_evaluates(tmp_path):
    out = tmp_path / "workloads.csv"
    result = runner.invoke(app, ["import", str(FIXTURES / "plan_head.json"), str(FIXTURES / "chart_rendered.yaml"),
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        got = {r["id"]: r for r in csv.DictReader(handle)}
    assert got["module.ci.aws_instance.builder"]["unknown"] == "instance_type: known only after apply"
    assert got["aws_instance.web"]["vcpu"] == "4" and got["aws_instance.web"]["source_line"] == "13"
    evaluated = runner.invoke(app, ["evaluate", str(out), "-o", str(tmp_path / "e.csv")])
    assert evaluated.exit_code == 0, evaluated.output


def test_api_evaluates_a_plan_and_manifests():
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    settings = Settings(evaluation_executor="thread", solver_executor="thread", warm_up=False)
    with TestClient(create_app(settings)) as client:
        plan = client.post("/v1/evaluations", content=(FIXTURES / "plan_base.json").read_bytes(),
                           headers={"Content-Type": "application/json"})
        assert plan.status_code == 200, plan.text
        web = next(r for r in plan.json()["rows"] if r["id"] == "aws_instance.web")
        assert web["current_monthly_usd"] == 280.32
        upload = client.post("/v1/evaluations", files={"file": ("chart.yaml",
                                                                (FIXTURES / "chart_rendered.yaml").read_bytes())})
        assert upload.status_code == 200, upload.text
        assert len(upload.json()["skipped"]) == 4
        bad = client.post("/v1/evaluations", content=b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: [",
                          headers={"Content-Type": "application/yaml"})
        assert bad.status_code == 422 and "YAML" in bad.json()["message"]


def test_review_page_upload_reads_a_plan():
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    settings = Settings(evaluation_executor="thread", solver_executor="thread", warm_up=False)
    with TestClient(create_app(settings)) as client:
        page = client.post("/review/upload", files={"file": ("plan.json", (FIXTURES / "plan_head.json").read_bytes())})
    assert page.status_code == 200, page.text[:500]
    assert "aws_instance.web" in page.text and "module.workers.aws_autoscaling_group.this" in page.text


def test_diff_of_two_manifest_directories(tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    after.mkdir()
    text = (FIXTURES / "chart_rendered.yaml").read_text()
    (before / "chart.yaml").write_text(text)
    (after / "chart.yaml").write_text(text.replace("  replicas: 2\n  selector:\n    matchLabels:\n      "
                                                   "app.kubernetes.io/name: shop-db",
                                                   "  replicas: 5\n  selector:\n    matchLabels:\n      "
                                                   "app.kubernetes.io/name: shop-db"))
    result = runner.invoke(app, ["diff", str(before), str(after), "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    changed = [c for c in doc["changes"] if c["change"] == "changed"]
    assert [c["id"] for c in changed] == ["statefulset/shop/shop-db"]
    db = changed[0]
    assert db["after_as_written"] > db["before_as_written"]  # 5 pods need more r6i.xlarge nodes than 2
    assert doc["monthly_change_as_written_usd"] == db["delta_as_written"]
