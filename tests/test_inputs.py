"""Readers (advisor/inputs): Kubernetes quantities and effective pod requests, CronJob schedules, Terraform plans
(modules, count/for_each, unknown values, delete/replace, mixed instances), ECS task definitions and services,
content detection, and every skipped object listed with its reason. No prices here: readers know formats only."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.inputs import detect, read_paths, read_text
from advisor.inputs import ecs as ecs_reader
from advisor.inputs.kubernetes import pod_request, runs_per_month
from advisor.inputs.quantity import parse
from advisor.inputs.terraform import mixed_split

FIXTURES = Path(__file__).parent / "fixtures" / "inputs"


# --------------------------------------------------------------------------- Kubernetes quantities
@pytest.mark.parametrize("text, value", [
    ("500m", Decimal("0.5")), ("1.5", Decimal("1.5")), ("512Mi", Decimal(512 * 2**20)), ("1G", Decimal(10**9)),
    ("2e3", Decimal(2000)), ("1Ki", Decimal(1024)), ("100M", Decimal(10**8)), (".5", Decimal("0.5")),
    ("1E", Decimal(10**18)),  # E alone is exa, not an exponent
    ("1e3", Decimal(1000)), ("1E-2", Decimal("0.01")), ("+2", Decimal(2)), ("250u", Decimal("0.00025")),
    ("1.5Gi", Decimal(3 * 2**29)), (2, Decimal(2)), (0.25, Decimal("0.25")), ("0", Decimal(0)),
])
def test_quantities_in_kubernetes_grammar(text, value):
    assert parse(text) == value


@pytest.mark.parametrize("text", ["1.5.5", "abc", "10 Mi", "-1", "1mi", "Mi", "", "1Kib", "1e", True, None])
def test_malformed_quantities_are_refused_naming_the_field(text):
    with pytest.raises(InputError, match="cpu"):
        parse(text, what="cpu")


def _c(name, requests=None, limits=None, **extra):
    return {"name": name, "resources": {"requests": requests or {}, "limits": limits or {}}, **extra}


def test_effective_request_maxes_init_containers_and_sums_apps():
    pod = {"containers": [_c("a", {"cpu": "500m"}), _c("b", {"cpu": "250m"})],
           "initContainers": [_c("migrate", {"cpu": "2"}), _c("warm", {"cpu": "1"})]}
    assert pod_request(pod, "cpu") == Decimal(2)  # init peak, not the sum 3.75 and not the apps' 0.75
    pod["initContainers"] = [_c("tiny", {"cpu": "100m"})]
    assert pod_request(pod, "cpu") == Decimal("0.75")  # apps summed win over a small init


def test_native_sidecars_run_beside_later_init_containers_and_the_apps():
    sidecar = _c("proxy", {"cpu": "500m"}, restartPolicy="Always")
    pod = {"containers": [_c("app", {"cpu": "250m"})], "initContainers": [sidecar, _c("migrate", {"cpu": "1"})]}
    # the migrate step runs with the sidecar already started: 1 + 0.5; the apps run with it: 0.25 + 0.5
    assert pod_request(pod, "cpu") == Decimal("1.5")
    pod["initContainers"] = [_c("migrate", {"cpu": "1"}), sidecar]  # a sidecar started after: not during migrate
    assert pod_request(pod, "cpu") == Decimal(1)


def test_limits_stand_in_for_missing_requests_and_overhead_is_added():
    pod = {"containers": [_c("a", limits={"memory": "1Gi"}), _c("b", {"memory": "512Mi"}, {"memory": "2Gi"})],
           "overhead": {"memory": "120Mi"}}
    assert pod_request(pod, "memory") == Decimal((1024 + 512 + 120) * 2**20)
    assert pod_request(pod, "cpu") is None  # nobody states CPU: unknown, not 0


@pytest.mark.parametrize("schedule, runs", [
    ("@hourly", 730.0), ("0 0 1 * *", 1.0), ("*/15 * * * *", 2920.0), ("0 9 * * 1-5", 261 / 12),
    ("30 2 * * *", 365 / 12), ("@weekly", 52 / 12), ("CRON_TZ=Europe/Paris 0 * * * *", 730.0),
])
def test_cron_schedules_give_runs_a_month(schedule, runs):
    assert runs_per_month(schedule) == pytest.approx(runs)


def test_a_bad_schedule_is_refused():
    with pytest.raises(InputError, match="schedule"):
        runs_per_month("every day")


# --------------------------------------------------------------------------- Kubernetes manifests
def test_helm_rendered_chart():
    result = read_paths([FIXTURES / "chart_rendered.yaml"])
    items = {i.id: i for i in result.items}
    web = items["deployment/shop/shop-web"]
    assert web.fields["vcpu"] == 2.0  # the migrate init container (2) beats apps + sidecar (0.5 + 0.25 + 0.1)
    assert web.fields["memory_gib"] == 1.0  # migrate's 1Gi beats 512Mi + 128Mi (limit) + 64Mi
    assert (web.fields["replicas"], web.fields["peak_replicas"]) == (4, 12)  # the HPA's min 4 over 3, max 12
    assert web.fields["arch"] == "arm64" and web.fields["interruptible"] is True
    assert web.source.line == 32 and "shop/templates/deployment.yaml" in web.source.address
    db = items["statefulset/shop/shop-db"]
    assert db.fields["stateful"] is True and db.fields["storage_gib"] == 100.0
    assert db.written.instance_type == "r6i.xlarge" and db.written.on_demand is None  # pods packed on nodes
    agent = items["daemonset/shop/node-agent"]
    assert agent.fields["memory_gib"] == pytest.approx(10**8 / 2**30)  # 100M is decimal
    assert any("every node" in n for n in agent.notes)
    report = items["cronjob/shop/nightly-report"]
    assert report.fields["jobs_per_month"] == pytest.approx(365 / 12 * 2)
    assert report.fields["job_duration_minutes"] == 30.0 and any("estimate" in n for n in report.notes)
    assert items["job/shop/reindex"].unknown == (
        "job_duration_minutes: a Job does not say how long it runs (no activeDeadlineSeconds)",)
    recs = items["deployment/shop/shop-recs"]
    assert (recs.fields["gpus"], recs.fields["arch"]) == (1, "x86_64")
    assert any("g5, g6" in n for n in recs.notes)
    skipped = {s.source.address.split(" (")[0]: s.reason for s in result.skipped}
    assert set(skipped) == {"ServiceAccount/shop/shop", "ConfigMap/shop/shop-config", "Service/shop/shop-web",
                            "Rollout/shop/shop-canary"}
    assert "runs no pods" in skipped["Service/shop/shop-web"]
    assert "Rollout" in skipped["Rollout/shop/shop-canary"] and "not read" in skipped["Rollout/shop/shop-canary"]


def test_scaled_to_zero_and_missing_hpa_targets_are_listed():
    text = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle}
spec:
  replicas: 0
  template: {spec: {containers: [{name: a, resources: {requests: {cpu: 1, memory: 1Gi}}}]}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: lost}
spec: {scaleTargetRef: {kind: Deployment, name: nowhere}, maxReplicas: 3}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  template: {spec: {containers: [{name: a, resources: {requests: {cpu: lots}}}]}}
"""
    result = read_text(Path("m.yaml"), text)
    assert result.items == []
    reasons = [s.reason for s in result.skipped]
    assert "scaled to zero" in reasons[0]
    assert "not a Kubernetes quantity" in reasons[1] and "container a: cpu" in reasons[1]
    assert "nowhere" in reasons[2] and "not in these files" in reasons[2]


# --------------------------------------------------------------------------- Terraform plans
def test_plan_with_modules_counts_unknowns_deletes_and_replaces():
    result = read_paths([FIXTURES / "plan_head.json"])
    items = {i.id: i for i in result.items}
    web = items["aws_instance.web"]  # count = 3: one workload of 3 replicas
    assert web.fields["replicas"] == 3 and web.written.instance_type == "m5.xlarge"
    assert (web.written.on_demand, web.written.spot) == (3, 0)
    assert web.fields["region"] == "us-east-1"  # the provider's region from var.region
    builder = items["module.ci.aws_instance.builder"]
    assert builder.written is None and builder.unknown == ("instance_type: known only after apply",)
    assert items["aws_instance.db"].action == "replace"
    asg = items["module.workers.aws_autoscaling_group.this"]
    assert asg.action == "update" and (asg.written.on_demand, asg.written.spot) == (3, 5)
    assert asg.written.instance_type == "c5.large" and asg.fields["peak_replicas"] == 12
    assert items["aws_lambda_function.thumbs"].unknown[0].startswith("requests_per_month")
    skipped = {s.source.address: s.reason for s in result.skipped}
    assert skipped == {
        "aws_security_group.web": "resource type aws_security_group is not read (it runs no compute this advisor "
                                  "places, or is not supported yet)",
        "data.aws_ami.al2023": "a data source: read, runs nothing",
        "aws_instance.legacy": "deleted by this plan (actions: delete): it will not run",
    }
    assert result.skipped[0].source.line is not None  # a pretty-printed plan: lines are known


def test_ecs_service_finds_its_task_definition_by_family_and_splits_capacity_providers():
    items = {i.id: i for i in read_paths([FIXTURES / "plan_head.json"]).items}
    svc = items['aws_ecs_service.svc["checkout"]']
    assert (svc.fields["vcpu"], svc.fields["memory_gib"], svc.fields["arch"]) == (1.0, 2.0, "arm64")
    assert (svc.written.service, svc.written.on_demand, svc.written.spot) == ("ecs_fargate", 2, 2)
    worker = items["aws_ecs_task_definition.worker"]  # container-level sizes, no service: one task
    assert (worker.fields["vcpu"], worker.fields["memory_gib"], worker.fields["replicas"]) == (0.75, 1.5, 1)
    assert worker.written is None  # EC2 launch type: the capacity is elsewhere


@pytest.mark.parametrize("desired, base, pct, split", [
    (6, 1, 25, (3, 3)), (8, 1, 25, (3, 5)), (10, 2, 50, (6, 4)), (5, 0, 25, (2, 3)), (4, 0, 0, (0, 4)),
    (3, 5, 0, (3, 0)), (7, 0, 100, (7, 0)),
])
def test_mixed_instances_policy_split(desired, base, pct, split):
    assert mixed_split(desired, base, pct) == split


def _plan(resources: list[dict], provider: dict | None = None) -> str:
    return json.dumps({"format_version": "1.2", "planned_values": {"root_module": {"child_modules": [
        {"address": "module.m", "resources": resources}]}},
        "configuration": {"provider_config": {"aws": provider or {"name": "aws"}}}})


def test_planned_values_without_changes_and_regions():
    lt = {"address": "module.m.aws_launch_template.lt", "mode": "managed", "type": "aws_launch_template",
          "values": {"name": "lt", "instance_type": "m5.large", "instance_market_options": [{"market_type": "spot"}],
                     "placement": [{"tenancy": "dedicated"}]}}
    asg = {"address": "module.m.aws_autoscaling_group.g", "mode": "managed", "type": "aws_autoscaling_group",
           "values": {"min_size": 2, "max_size": 4, "desired_capacity": None, "launch_template": [{"name": "lt"}],
                      "region": "eu-west-1"}}
    result = read_text(Path("p.json"), _plan([lt, asg]))
    [item] = result.items
    assert item.fields["region"] == "eu-west-1"  # the resource's own region (AWS provider 6)
    assert item.fields["replicas"] == 2 and item.fields["tenancy"] == "dedicated"  # min size; the template's
    assert (item.written.on_demand, item.written.spot) == (0, 2)
    no_region = read_text(Path("p.json"), _plan([{**asg, "values": {**asg["values"], "region": None}}, lt]))
    assert "region: neither the resource" in no_region.items[0].unknown[-1]


def test_lightsail_node_group_and_batch():
    resources = [
        {"address": "module.m.aws_lightsail_instance.blog", "mode": "managed", "type": "aws_lightsail_instance",
         "values": {"bundle_id": "medium_3_0", "blueprint_id": "wordpress"}},
        {"address": "module.m.aws_eks_node_group.ng", "mode": "managed", "type": "aws_eks_node_group",
         "values": {"instance_types": None, "capacity_type": "SPOT", "ami_type": "AL2_ARM_64",
                    "scaling_config": [{"desired_size": 3, "max_size": 6, "min_size": 1}]}},
        {"address": "module.m.aws_batch_compute_environment.ce", "mode": "managed",
         "type": "aws_batch_compute_environment",
         "values": {"compute_resources": [{"type": "SPOT", "max_vcpus": 256, "instance_type": ["optimal"]}]}},
    ]
    result = read_text(Path("p.json"), _plan(resources, {"name": "aws", "expressions": {
        "region": {"constant_value": "us-west-2"}}}))
    items = {i.id: i for i in result.items}
    assert items["module.m.aws_lightsail_instance.blog"].written.instance_type == "medium_3_0"
    ng = items["module.m.aws_eks_node_group.ng"]
    assert ng.written.instance_type == "t3.medium" and (ng.written.on_demand, ng.written.spot) == (0, 3)
    assert ng.fields["arch"] == "arm64" and ng.fields["region"] == "us-west-2"
    assert "compute environment does not say" in items["module.m.aws_batch_compute_environment.ce"].unknown[0]


# --------------------------------------------------------------------------- ECS
def test_ecs_task_definitions_and_services():
    result = read_paths([FIXTURES / "ecs_taskdefs.json"])
    items = {i.id: i for i in result.items}
    api = items["ecs/api-svc"]  # the service names its task definition by ARN: matched by family
    assert (api.fields["vcpu"], api.fields["memory_gib"], api.fields["replicas"]) == (0.5, 1.0, 3)
    assert (api.written.service, api.written.on_demand) == ("ecs_fargate", 3)
    worker = items["ecs/batch-worker"]  # containers summed: 1024 + 256 units; 3072 MiB + 512 MiB reservation
    assert (worker.fields["vcpu"], worker.fields["memory_gib"]) == (1.25, 3.5)
    assert items["ecs/trainer"].fields["gpus"] == 1
    assert [(s.source.address, s.reason) for s in result.skipped] == [
        ("service/ghost", "its task definition 'ghost' is not in this file")]


@pytest.mark.parametrize("text, vcpu", [("256", 0.25), ("1024", 1.0), ("1 vCPU", 1.0), ("0.5 vcpu", 0.5)])
def test_ecs_task_cpu(text, vcpu):
    assert ecs_reader.task_vcpu(text) == vcpu


@pytest.mark.parametrize("text, gib", [("512", 0.5), ("2048", 2.0), ("2 GB", 2.0), ("3GB", 3.0)])
def test_ecs_task_memory(text, gib):
    assert ecs_reader.task_memory_gib(text) == gib


def test_ecs_sizes_refuse_nonsense():
    with pytest.raises(InputError, match="cpu"):
        ecs_reader.task_vcpu("2 GB")
    with pytest.raises(InputError, match="memory"):
        ecs_reader.task_memory_gib("lots")


@pytest.mark.parametrize("strategy, count, split", [
    ((("FARGATE", 1, 1), ("FARGATE_SPOT", 3, 0)), 4, (2, 2)),
    ((("FARGATE_SPOT", 1, 0),), 5, (0, 5)),
    ((("FARGATE", 1, 2), ("FARGATE_SPOT", 1, 0)), 2, (2, 0)),
])
def test_capacity_provider_split(strategy, count, split):
    assert ecs_reader.split_providers(strategy, count) == split


# --------------------------------------------------------------------------- detection and directories
def test_formats_are_detected_by_content_not_name(tmp_path):
    plan = tmp_path / "plan.txt"
    plan.write_text((FIXTURES / "plan_base.json").read_text())
    manifests = tmp_path / "manifests.txt"
    manifests.write_text((FIXTURES / "chart_rendered.yaml").read_text())
    assert detect(plan, plan.read_text()) == "terraform"
    assert detect(manifests, manifests.read_text()) == "kubernetes"
    assert detect(Path("x.json"), (FIXTURES / "ecs_taskdefs.json").read_text()) == "ecs"
    assert detect(Path("x.json"), '{"hello": 1}') is None


def test_a_directory_is_read_file_by_file_and_unknown_files_are_listed(tmp_path):
    (tmp_path / "a.yaml").write_text((FIXTURES / "chart_rendered.yaml").read_text())
    (tmp_path / "b.json").write_text('{"hello": 1}')
    (tmp_path / "notes.txt").write_text("hi")
    result = read_paths([tmp_path])
    assert len(result.items) == 6
    reasons = {Path(s.source.file).name: s.reason for s in result.skipped if s.source.kind == "file"}
    assert "not a format this advisor reads" in reasons["b.json"]
    assert "not a .json, .yaml" in reasons["notes.txt"]


def test_the_contract_csv_reads_through_the_same_interface():
    result = read_paths([Path("data/examples/workloads.csv")])
    assert len(result.items) == 55 and result.formats == ["contract"]
    assert all(i.written is None for i in result.items)


def test_for_each_services_take_the_task_definition_of_their_own_key():
    def task(key, cpu):
        return {"address": f'aws_ecs_task_definition.app["{key}"]', "mode": "managed",
                "type": "aws_ecs_task_definition",
                "change": {"actions": ["create"], "after": {
                    "family": key, "cpu": cpu, "memory": "2048", "requires_compatibilities": ["FARGATE"],
                    "container_definitions": json.dumps([{"name": key, "image": "x"}])},
                    "after_unknown": {"arn": True}}}

    def service(key):
        return {"address": f'aws_ecs_service.svc["{key}"]', "mode": "managed", "type": "aws_ecs_service",
                "change": {"actions": ["create"], "after": {"name": key, "desired_count": 2, "launch_type": "FARGATE"},
                           "after_unknown": {"task_definition": True}}}

    plan = {"format_version": "1.2", "resource_changes": [task("a", "256"), task("b", "1024"), service("b"),
                                                          service("a")],
            "configuration": {"provider_config": {"aws": {"name": "aws", "expressions": {
                "region": {"constant_value": "eu-west-1"}}}},
                "root_module": {"resources": [{"address": "aws_ecs_service.svc", "type": "aws_ecs_service",
                                               "expressions": {"task_definition": {"references": [
                                                   "aws_ecs_task_definition.app[each.key].arn",
                                                   "aws_ecs_task_definition.app"]}}}]}}}
    items = {i.id: i for i in read_text(Path("p.json"), json.dumps(plan)).items}
    assert items['aws_ecs_service.svc["a"]'].fields["vcpu"] == 0.25
    assert items['aws_ecs_service.svc["b"]'].fields["vcpu"] == 1.0
