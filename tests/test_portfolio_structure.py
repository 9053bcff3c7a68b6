"""The planner's structure: service facts come from the candidate (a generator that forgets them is an error,
never 0 vCPU), typed keys print and sort as the plan document's ids always did, and the phases' time adds up."""

import dataclasses
import json

import pytest

from advisor.candidates.base import Candidate, Compute, Context, Line, RunsOn, vcpu_quota
from advisor.candidates.registry import generate_all
from advisor.portfolio import phases
from advisor.portfolio.facts import (
    MissingFacts,
    fee_kind,
    reserved_instances_cover,
    savings_plan_covers,
    shares_nodes,
)
from advisor.portfolio.keys import ClusterKey, CommitmentKey, HostKey, PoolKey
from advisor.portfolio.options import as_option
from advisor.portfolio.plan import parse
from models.workload import Workload

RUNS_ON = {"ec2": {RunsOn.INSTANCES, RunsOn.DEDICATED_HOSTS}, "beanstalk": {RunsOn.INSTANCES},
           "ecs_ec2": {RunsOn.NODE_GROUP}, "eks_ec2": {RunsOn.NODE_GROUP},
           "batch": {RunsOn.INSTANCES, RunsOn.FARGATE_TASKS}, "ecs_fargate": {RunsOn.FARGATE_TASKS},
           "eks_fargate": {RunsOn.FARGATE_TASKS}, "lambda": {RunsOn.FUNCTIONS}, "lightsail": {RunsOn.BUNDLES}}


@pytest.fixture(scope="module")
def example_candidates(catalog):
    with open("data/examples/portfolio.json") as handle:
        portfolio = parse(json.load(handle))
    ctx = Context(catalog)
    return {w.id: generate_all(w, ctx).candidates for w in portfolio.workloads}


def test_every_generator_sets_the_service_facts_from_what_it_provisions(catalog, example_candidates):
    """Each service's candidates say what they run on and the vCPU they provision, recomputed here from the
    catalog's specs (instances x vCPU per type) and the task size: Batch's EC2 environments are instances of
    their own, not a node group other workloads may share; hosts, functions and bundles count 0 vCPU."""
    vcpu_of = dict(catalog.specs.select("instance_type", "vcpu").iter_rows())
    seen = set()
    for candidates in example_candidates.values():
        for c in candidates:
            assert c.compute is not None, c.service
            assert c.compute.runs_on in RUNS_ON[c.service], (c.service, c.compute.runs_on)
            seen.add(c.service)
            if c.compute.runs_on in (RunsOn.INSTANCES, RunsOn.NODE_GROUP):
                assert c.compute.vcpu == vcpu_of[c.instance_type] * c.count
                assert c.compute.quota == ("standard" if c.instance_type[0] in "acdhimrtz" else None)
            elif c.compute.runs_on is RunsOn.FARGATE_TASKS:
                assert c.compute.vcpu == c.config["task_vcpu"] * c.count and c.compute.quota is None
            else:
                assert c.compute.vcpu == 0 and c.compute.quota is None
    assert seen == set(RUNS_ON)   # the example reaches every service


def test_a_candidate_without_service_facts_is_an_error_not_zero_vcpu(example_candidates):
    w = Workload(id="x", vcpu=2, memory_gib=4)
    ec2 = next(c for c in example_candidates["crawler"] if c.service == "ec2" and c.purchase_option == "spot")
    assert as_option(w, ec2).vcpu_milli == ec2.compute.vcpu * 1000 > 0 and as_option(w, ec2).spot
    forgotten = dataclasses.replace(ec2, service="new_service", compute=None)
    with pytest.raises(MissingFacts, match="new_service candidates carry no service facts"):
        as_option(w, forgotten)


def test_owned_commitments_and_clusters_follow_the_facts_not_the_name():
    """A service the portfolio has never heard of is counted by what its candidate says it runs on."""
    line = (Line("compute", 100.0),)
    nodes = Candidate("future_k8s", "on_demand", line, instance_type="m7g.large", count=2,
                      compute=Compute(RunsOn.NODE_GROUP, 4.0, "standard"))
    bundles = Candidate("future_vps", "on_demand", line, instance_type="bundle-2", compute=Compute(RunsOn.BUNDLES, 0))
    tasks = Candidate("future_tasks", "on_demand", line, compute=Compute(RunsOn.FARGATE_TASKS, 1.0))
    assert shares_nodes(nodes) and not shares_nodes(bundles) and not shares_nodes(tasks)
    assert reserved_instances_cover(nodes) and not reserved_instances_cover(bundles)
    assert not reserved_instances_cover(tasks)
    assert savings_plan_covers(tasks) and savings_plan_covers(nodes) and not savings_plan_covers(bundles)


def test_vcpu_quota_classes_by_family():
    assert [vcpu_quota(t) for t in ("m6g.large", "c5.xlarge", "t4g.micro", "z1d.large", "r7i.2xlarge")] == [
        "standard"] * 5
    assert [vcpu_quota(t) for t in ("g5.xlarge", "p4d.24xlarge", "x2gd.large", "f1.2xlarge", "vt1.3xlarge", None)] == [
        None] * 6


def test_keys_print_and_sort_as_the_plan_ids_always_did():
    host = HostKey("us-east-1", "c5", "reserved", "1yr", None)
    assert str(host) == "host:us-east-1:c5:reserved:1yr:None"
    keys = [PoolKey("eks_ec2", "us-east-1", "linux", "shared", o, t, None, None, p, 730.0, 12, "any")
            for o, t, p in (("reserved", "1yr", "all_upfront"), ("on_demand", None, None), ("spot", None, None))]
    assert str(keys[1]) == "eks_ec2|us-east-1|linux|shared|on_demand|None|None|None|None|730.0|12|any"
    assert sorted(keys) == sorted(keys, key=str) == [keys[1], keys[0], keys[2]]
    # clusters: ordered as the tuple (..., horizon, hours, architecture), job) earlier versions sorted by
    a = ClusterKey(dataclasses.replace(keys[1], hours_per_month=300.0, horizon_months=36))
    b = ClusterKey(dataclasses.replace(keys[1], hours_per_month=730.0, horizon_months=12), job="etl")
    legacy = {a: str(((*("eks_ec2", "us-east-1", "linux", "shared", "on_demand"), None, None, None, None, 36, 300.0,
                       "any"), "")),
              b: str(((*("eks_ec2", "us-east-1", "linux", "shared", "on_demand"), None, None, None, None, 12, 730.0,
                       "any"), "etl"))}
    assert a.order == legacy[a] and b.order == legacy[b]
    assert sorted([a, b]) == sorted([a, b], key=lambda k: legacy[k]) == [b, a]
    # commitments to buy: listed in the order of the text of their fields, None and all
    rows = [("savings_plan", "m6g.large", "us-east-1", "shared", "1yr", None, "compute", "all_upfront"),
            ("reserved_instances", "m6g.large", "us-east-1", "shared", "3yr", "standard", None, "no_upfront"),
            ("host_reservation", "c5", "us-east-1", "host", "1yr", None, None, "partial_upfront")]
    assert [dataclasses.astuple(k) for k in sorted(CommitmentKey(*r) for r in rows)] == sorted(rows, key=str)


def test_the_phases_time_is_in_one_table_and_adds_up():
    """Every phase has its time (an end or a share), the ends come in the order the phases run, none past the
    limit, and a budget's arithmetic is that table's."""
    for phase in phases.PHASES:
        assert (phase.until is None) != (phase.share is None), phase.name
        assert 0 < (phase.until or phase.share) <= 1 and phase.why
    ends = [p.until for p in (phases.BINDING_PRICES, phases.RELAXATION, phases.POOLED_CHOICE, phases.PLAN_SEARCH,
                              phases.BOUNDS, phases.ANSWER)]
    assert ends == sorted(ends) and ends[-1] == 1.0
    budget = phases.Budget(20.0)
    assert budget.until(phases.RELAXATION) == pytest.approx(12.0)
    assert budget.share(phases.PLAN_PACKING) == pytest.approx(2.0)
    assert budget.left(phases.ANSWER) >= phases.MIN_PHASE_S
    with pytest.raises(AssertionError):
        budget.share(phases.BOUNDS)   # an end, not a share


def test_fees_paid_once_are_marked_by_the_generator_not_recognised_by_their_text(example_candidates):
    """The EKS control plane and the dedicated per-region fee carry their kind; renaming a line cannot turn it
    into, or out of, a fee paid once per region."""
    kinds = {line.shared_fee for cs in example_candidates.values() for c in cs for line in c.lines}
    assert kinds == {None, "eks", "dedicated"}
    for cs in example_candidates.values():
        for c in cs:
            for line in c.lines:
                if line.shared_fee == "eks":
                    assert c.service in ("eks_ec2", "eks_fargate") and line.item.startswith("EKS control plane")
                if line.shared_fee == "dedicated":
                    assert c.tenancy == "dedicated"
    assert fee_kind(Line("EKS control plane, renamed", 73.0)) is None
    assert fee_kind(Line("control plane", 73.0, shared_fee="eks")) == "eks"
