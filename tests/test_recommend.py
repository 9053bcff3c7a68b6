"""recommend() end to end: each service wins where it should, at a cost recomputed by hand from the facts."""

import math

import pytest

from advisor.recommend import recommend
from models.workload import Workload


def ratio(catalog, cls, term, payment):
    rows = catalog.facts.value("reserved.ratios")
    return next(r for r in rows if r["offering_class"] == cls and r["term"] == term
                and r["payment"].lower().replace(" ", "_") == payment)


def reasons(rec):
    return {(r.service, r.option, r.reason) for r in rec.rejected}


def test_part_time_schedule_stays_on_demand(catalog):
    rec = recommend(Workload(id="w", vcpu=2, memory_gib=8, hours_per_month=200, arch="x86_64",
                             allowed_services="ec2"), catalog=catalog)
    c = rec.choice
    assert (c.service, c.instance_type, c.purchase_option) == ("ec2", "m5a.large", "on_demand")
    assert c.monthly_usd == pytest.approx(round(0.086 * 200, 2))          # $0.086/h x 200 h
    assert rec.baseline.monthly_usd == c.monthly_usd and rec.savings_vs_baseline_usd == 0.0
    # Every commitment (paid 730 h a month) is an alternative that costs more.
    assert all(a.monthly_usd > c.monthly_usd for a in rec.alternatives if a.purchase_option != "on_demand")


def test_steady_three_year_workload_commits_for_three_years(catalog):
    rec = recommend(Workload(id="w", vcpu=2, memory_gib=8, horizon_months=36, allowed_services="ec2"),
                    catalog=catalog)
    c = rec.choice
    assert c.purchase_option in ("reserved", "savings_plan") and c.term == "3yr" and c.payment == "all_upfront"
    r = ratio(catalog, "standard", "3yr", "all_upfront")
    upfront = round(0.077 * 26280 * r["upfront_ratio"], 2)                # m6g.large $0.077/h on-demand
    assert c.instance_type == "m6g.large" and c.upfront_usd == upfront
    assert c.monthly_usd == round(upfront / 36, 2)
    assert c.estimates  # reserved rates derived from ratios are labelled estimates


def test_spot_only_when_interruptible(catalog):
    steady = recommend(Workload(id="w", vcpu=4, memory_gib=16, allowed_services="ec2"), catalog=catalog)
    assert steady.choice.purchase_option != "spot"
    assert ("ec2", "spot", "spot_needs_interruptible") in reasons(steady)
    spot = recommend(Workload(id="w", vcpu=4, memory_gib=16, interruptible=True, allowed_services="ec2"),
                     catalog=catalog)
    c = spot.choice
    discount = catalog.facts.value("spot.typical_discount")
    assert (c.purchase_option, c.instance_type) == ("spot", "m6g.xlarge")
    assert c.monthly_usd == round(0.154 * (1 - discount) * 730, 2)
    assert "estimate" in c.interruption_risk
    stateful = recommend(Workload(id="w", vcpu=4, memory_gib=16, interruptible=True, stateful=True,
                                  allowed_services="ec2"), catalog=catalog)
    assert stateful.choice.purchase_option != "spot"
    assert ("ec2", "spot", "spot_stateful") in reasons(stateful)


def test_byol_needs_a_dedicated_host(catalog):
    rec = recommend(Workload(id="w", vcpu=4, memory_gib=16, replicas=4, byol=True, os="windows"), catalog=catalog)
    c = rec.choice
    assert (c.service, c.tenancy) == ("ec2", "host")
    # spread=az (default): 4 replicas run on at least 2 hosts, one per AZ
    assert c.config["hosts"] == max(math.ceil(4 / c.config["instances_per_host"]), 2)
    for service in ("ecs_ec2", "eks_ec2", "lightsail", "beanstalk", "ecs_fargate"):
        assert (service, None, "needs_dedicated_host") in reasons(rec)
    # BYOL: the host is priced on the Linux rate of the family's largest size x the rule's multiplier.
    rule = catalog.facts.value("tenancy.dedicated_host_price_rule")
    od = next(r for r in rec.alternatives + [c] if r.purchase_option == "on_demand" and r.tenancy == "host")
    assert od.instance_type.startswith("c5.")
    assert od.monthly_usd == round(round(3.06 * rule["multiplier"], 6) * 730 * od.count, 2)  # c5.18xlarge $3.06


def test_dedicated_tenancy_pays_the_region_fee(catalog):
    rec = recommend(Workload(id="w", vcpu=2, memory_gib=8, tenancy="dedicated", allowed_services="ec2"),
                    catalog=catalog)
    c = rec.choice
    # A Dedicated Host also satisfies dedicated tenancy: both are priced and the cheaper wins.
    assert c.tenancy in ("dedicated", "host")
    dedicated = [a for a in [c, *rec.alternatives] if a.tenancy == "dedicated"]
    hosts = [a for a in [c, *rec.alternatives] if a.tenancy == "host"]
    assert dedicated and hosts
    assert c.monthly_usd <= min(a.monthly_usd for a in dedicated + hosts)
    fee = [x for x in dedicated[0].cost_lines if "dedicated per-region fee" in x.item]
    assert fee and fee[0].monthly_usd == 2.0 * 730
    assert not any("dedicated per-region fee" in x.item for x in hosts[0].cost_lines)  # hosts pay no fee
    assert ("lambda", None, "tenancy_unsupported") not in reasons(rec)  # lambda not allowed here at all


def test_twenty_minute_request_rejects_lambda(catalog):
    rec = recommend(Workload(id="w", vcpu=1, memory_gib=2, requests_per_month=1000, avg_duration_ms=20 * 60_000),
                    catalog=catalog)
    assert ("lambda", None, "lambda_timeout_exceeded") in reasons(rec)
    assert rec.choice.service != "lambda"


def test_small_quiet_website_goes_to_lightsail(catalog):
    rec = recommend(Workload(id="site", vcpu=1, memory_gib=1, cpu_utilization=0.05, storage_gib=20,
                             egress_gib_month=10), catalog=catalog)
    c = rec.choice
    assert (c.service, c.instance_type, c.monthly_usd) == ("lightsail", "linux_general_2vcpu_1gb", 7.0)


def test_eks_on_ec2_adds_the_control_plane_fee(catalog):
    w = Workload(id="w", vcpu=1, memory_gib=2, replicas=6, orchestrator="kubernetes", allowed_services="eks_ec2")
    c = recommend(w, catalog=catalog).choice
    fee = [x.monthly_usd for x in c.cost_lines if "EKS control plane" in x.item]
    assert fee == [73.0]                                                   # $0.10/h x 730 h
    assert c.monthly_usd == pytest.approx(sum(x.monthly_usd for x in c.cost_lines))
    assert c.config["nodes"] * c.config["replicas_per_node"] >= 6
    existing = recommend(w.model_copy(update={"existing_cluster": True}), catalog=catalog).choice
    assert existing.monthly_usd == pytest.approx(c.monthly_usd - 73.0)


def test_eks_node_capacity_keeps_kubelet_reservations(catalog):
    c = recommend(Workload(id="w", vcpu=1, memory_gib=4, replicas=2, allowed_services="eks_ec2", arch="x86_64",
                           horizon_months=1), catalog=catalog).choice
    # m5.xlarge-like 4 vCPU / 16 GiB: 16 GiB - (11 x 110 + 255 + 100) MiB leaves 14.46 GiB: 3 replicas of 4 GiB.
    nodes = {x["instance_type"]: x for x in catalog.specs.filter(
        catalog.specs["instance_type"] == c.instance_type).to_dicts()}
    node = nodes[c.instance_type]
    alloc = node["memory_gib"] - (11 * 110 + 255 + 100) / 1024
    assert c.config["replicas_per_node"] == min(int(alloc // 4), int((node["vcpu"] - 0.08) // 1), 108)


def test_fargate_exact_costs(catalog):
    rec = recommend(Workload(id="w", vcpu=1, memory_gib=2, allowed_services="ecs_fargate", arch="x86_64"),
                    catalog=catalog)
    hourly = 1 * 0.04048 + 2 * 0.004445                                   # $0.04937 per task-hour
    od = next(a for a in rec.alternatives if a.purchase_option == "on_demand")
    assert od.monthly_usd == round(hourly * 730, 2) == 36.04
    sp_ratio = catalog.facts.value("fargate.compute_savings_plan_ratio")
    assert rec.choice.purchase_option == "savings_plan"
    plans = [a for a in [rec.choice, *rec.alternatives] if a.purchase_option == "savings_plan"]
    nu = next(a for a in plans if (a.term, a.payment) == ("1yr", "no_upfront"))
    assert nu.monthly_usd == round(hourly * sp_ratio * 730, 2)
    assert rec.choice.monthly_usd <= nu.monthly_usd


def test_eks_fargate_adds_256_mib_before_rounding(catalog):
    rec = recommend(Workload(id="w", vcpu=1, memory_gib=8, allowed_services="eks_fargate", arch="x86_64",
                             orchestrator="kubernetes", existing_cluster=True), catalog=catalog)
    # AWS's worked example: 1 vCPU + 8 GB + 256 MB -> a 2 vCPU / 9 GB Fargate pod.
    assert (rec.choice.config["task_vcpu"], rec.choice.config["task_memory_gib"]) == (2, 9)


def test_lambda_wins_a_spiky_request_workload(catalog):
    rec = recommend(Workload(id="fn", requests_per_month=3e6, avg_duration_ms=1000, function_memory_mb=512,
                             arch="x86_64"), catalog=catalog)
    od = next(a for a in [rec.choice, *rec.alternatives]
              if a.service == "lambda" and a.purchase_option == "on_demand")
    assert od.monthly_usd == 25.6  # 1.5M GB-s x $0.0000166667 + $0.60
    # A 1-year Compute Savings Plan covers the duration: the choice, and cheaper.
    assert rec.choice.service == "lambda" and rec.choice.monthly_usd < 25.6
    free = recommend(Workload(id="fn", requests_per_month=3e6, avg_duration_ms=1000, function_memory_mb=512,
                              arch="x86_64"), catalog=catalog, include_free_tier=True)
    od = next(a for a in [free.choice, *free.alternatives]
              if a.service == "lambda" and a.purchase_option == "on_demand")
    assert 18.73 <= od.monthly_usd <= 18.74


def test_capacity_guarantee_uses_a_reservation(catalog):
    rec = recommend(Workload(id="w", vcpu=2, memory_gib=8, capacity_guarantee=True, allowed_services="ec2"),
                    catalog=catalog)
    c = rec.choice
    assert c.purchase_option in ("capacity_reservation", "reserved")
    if c.purchase_option == "reserved":
        assert c.config["scope"] == "zonal"
    assert ("ec2", "on_demand", "capacity_guarantee_unmet") in reasons(rec)


def test_scheduled_instances_are_always_rejected_with_aws_words(catalog):
    """In our words, with AWS's own statement quoted as AWS's (never as if the product said it)."""
    rec = recommend(Workload(id="w", vcpu=2, memory_gib=8), catalog=catalog)
    scheduled = [r for r in rec.rejected if r.option == "scheduled"]
    assert scheduled and scheduled[0].reason == "scheduled_no_longer_sold"
    statement = catalog.facts.value("scheduled_instances.api_statement")
    assert scheduled[0].message.startswith("AWS no longer sells Scheduled Instances")
    assert f'AWS: "{statement}"' in scheduled[0].message
    assert "We do not have" not in scheduled[0].message


def test_batch_wins_jobs_at_equal_cost_because_its_shape_fits(catalog):
    rec = recommend(Workload(id="j", vcpu=2, memory_gib=4, jobs_per_month=2000, job_duration_minutes=20,
                             deadline_hours=12, interruptible=True), catalog=catalog)
    assert rec.choice.service == "batch"
    # ECS on Fargate Spot costs the same (Batch adds no fee) and is as managed: the tie goes to the service
    # built for jobs (tie-break order: shape fit before ops effort).
    same = [a for a in rec.alternatives if a.monthly_usd == rec.choice.monthly_usd]
    assert same and all(a.service != "batch" for a in same if a.purchase_option == rec.choice.purchase_option
                        and a.config.get("arch") == rec.choice.config.get("arch"))


def test_caps_are_hard_and_explained(catalog):
    w = Workload(id="w", vcpu=2, memory_gib=8, horizon_months=36, allowed_services="ec2", max_upfront_usd=0)
    rec = recommend(w, catalog=catalog)
    assert rec.choice.upfront_usd == 0
    assert any(r.reason == "over_upfront_cap" for r in rec.rejected) or all(
        a.upfront_usd == 0 for a in rec.alternatives)
    broke = recommend(w.model_copy(update={"max_monthly_usd": 1.0}), catalog=catalog)
    assert broke.choice is None
    assert any(r.reason == "over_budget" for r in broke.rejected)


def test_every_service_is_chosen_an_alternative_or_rejected(catalog):
    rec = recommend(Workload(id="w", vcpu=2, memory_gib=8, requests_per_month=1e6, avg_duration_ms=100),
                    catalog=catalog)
    seen = {rec.choice.service} | {a.service for a in rec.alternatives} | {r.service for r in rec.rejected}
    assert seen == {"ec2", "ecs_ec2", "ecs_fargate", "eks_ec2", "eks_fargate", "lambda", "batch", "lightsail",
                    "beanstalk"}
    options = {rec.choice.purchase_option} | {a.purchase_option for a in rec.alternatives} | {
        r.option for r in rec.rejected}
    assert {"on_demand", "spot", "reserved", "savings_plan", "capacity_reservation", "scheduled"} <= options


def test_answer_names_the_catalog(catalog):
    rec = recommend(Workload(id="w", vcpu=1, memory_gib=2), catalog=catalog)
    assert rec.catalog.version == catalog.version and rec.catalog.as_of == catalog.as_of


@pytest.mark.parametrize("ops", ["balanced", "managed", "control"])
def test_ops_preference_is_a_documented_weight(catalog, ops):
    from advisor.optimize.choose import OPS_WEIGHTS

    w = Workload(id="w", vcpu=0.5, memory_gib=1, replicas=2, ops=ops, arch="x86_64",
                 allowed_services="ec2,ecs_fargate,lambda,beanstalk")
    rec = recommend(w, catalog=catalog)

    def weighted(o):
        return round(o.monthly_usd * 100) * OPS_WEIGHTS[ops][o.ops_effort]

    assert all(weighted(rec.choice) <= weighted(a) for a in rec.alternatives)
    if ops == "balanced":
        assert all(rec.choice.monthly_usd <= a.monthly_usd for a in rec.alternatives)
