"""Sweeps without Ray: scenario validation, multipliers recomputed by hand from the catalog, a failing
scenario beside answered ones, stopping, and the Ray engine's message when the extra is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from advisor.catalog import rates
from advisor.cli import app
from advisor.engines import EngineUnavailable, LocalEngine, get_engine
from advisor.errors import InputError
from advisor.pricing import HOURS_PER_MONTH
from advisor.sweep.base import EstateBase, PortfolioBase
from advisor.sweep.prices import scenario_catalog
from advisor.sweep.run import run_sweep
from advisor.sweep.scenarios import load_scenarios, parse_scenarios

EXAMPLES = Path("data/examples")
IN_PROCESS = LocalEngine(workers=1)
runner = CliRunner()


def _changes(**kinds) -> dict:
    return parse_scenarios({"scenarios": [{"name": "s", "changes": kinds}]}).scenarios[0].changes.model_dump(
        mode="json")


# ------------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(("text", "words"), [
    ("scenarios:\n  - name: tall\n    changes: {workloads: {set: {horizon_months: 0}}}\n",
     ["scenario 'tall'", "horizon_months"]),
    ("scenarios:\n  - name: odd\n    changes: {workloads: {set: {colour: blue}}}\n",
     ["scenario 'odd'", "'colour' is not a workload field"]),
    ("scenarios:\n  - name: cheap\n    changes: {constraints: {max_budget: 5}}\n",
     ["scenario 'cheap'", "'max_budget' is not a portfolio constraint"]),
    ("scenarios:\n  - name: neg\n    changes: {constraints: {max_spot_share: 1.5}}\n",
     ["scenario 'neg'", "max_spot_share"]),
    ("scenarios:\n  - name: free\n    changes: {prices: {purchase_options: {spot: 0}}}\n",
     ["scenario 'free'", "prices.purchase_options.spot"]),
    ("scenarios:\n  - name: x\n    changes: {prices: {purchase_options: {scheduled: 2}}}\n",
     ["scenario 'x'", "prices.purchase_options.scheduled"]),
    ("scenarios:\n  - name: a\n  - name: a\n", ["'a' appears twice"]),
    ("scenarios:\n  - name: a\n    changes: {typo: 1}\n", ["scenario 'a'", "typo"]),
    ("scenarios: [\n", ["not valid YAML"]),
    ("scenarios: []\n", ["scenarios"]),
])
def test_a_bad_scenarios_file_names_the_scenario_and_field(text, words):
    with pytest.raises(InputError) as caught:
        load_scenarios(text)
    for word in words:
        assert word in str(caught.value)


def test_the_example_scenarios_file_loads_with_at_least_five_described_scenarios():
    scenarios = load_scenarios(EXAMPLES / "scenarios.yaml").scenarios
    assert len(scenarios) >= 5
    assert all(s.description and not s.changes.is_empty() for s in scenarios)


def test_workload_changes_are_validated_as_the_model_validates_them():
    changes = _changes(workloads={"set": {"interruptible": "yes", "allowed_services": ["ec2", "lambda"]}})
    assert changes["workloads"]["set"] == {"interruptible": True, "allowed_services": ["ec2", "lambda"]}


# ------------------------------------------------------------------------------------------- multipliers
def _rate(catalog, instance_type: str, option: str, tenancy: str = "shared", **key) -> pl.DataFrame:
    table = rates.rate_table(catalog, "us-east-1", "linux", tenancy)
    row = table.filter((pl.col("instance_type") == instance_type) & (pl.col("purchase_option") == option))
    for name, value in key.items():
        row = row.filter(pl.col(name) == value)
    assert row.height == 1, (instance_type, option, key, row)
    return row.row(0, named=True)


def test_multipliers_move_exactly_the_rates_they_name(catalog):
    scenario, applied = scenario_catalog(_changes(prices={"purchase_options": {"spot": 1.3, "reserved": 0.8},
                                                          "families": {"m5": 2.0}}))
    assert scenario.version.startswith(catalog.version + "+")
    assert [(m["kind"], m["key"], m["factor"]) for m in applied] == [
        ("purchase_option", "spot", 1.3), ("purchase_option", "reserved", 0.8), ("family", "m5", 2.0)]
    od = catalog.on_demand.filter((pl.col("instance_type") == "c5.large") & (pl.col("region") == "us-east-1")
                                  & (pl.col("os") == "linux"))["usd_per_hour"].item()
    discount = catalog.facts.value("spot.typical_discount")
    ratio = next(r for r in catalog.facts.value("reserved.ratios")
                 if (r["term"], r["offering_class"], r["payment"]) == ("3yr", "standard", "All Upfront"))
    # by hand from the catalog's facts: c5.large (not m5) moves by the option factors only
    assert _rate(scenario, "c5.large", "on_demand")["usd_per_hour"] == pytest.approx(od, abs=1e-9)
    assert _rate(scenario, "c5.large", "spot")["usd_per_hour"] == pytest.approx(od * (1 - discount) * 1.3, abs=2e-6)
    reserved = _rate(scenario, "c5.large", "reserved", term="3yr", offering_class="standard", payment="all_upfront")
    assert reserved["upfront_usd"] == pytest.approx(od * 26280 * ratio["upfront_ratio"] * 0.8, abs=0.02)
    # m5.large: every rate x 2, and x the option's factor on top
    for option, factor in (("on_demand", 2.0), ("capacity_reservation", 2.0), ("spot", 2.6)):
        assert _rate(scenario, "m5.large", option)["usd_per_hour"] == pytest.approx(
            _rate(catalog, "m5.large", option)["usd_per_hour"] * factor, abs=2e-6)
    published = _rate(catalog, "m5.large", "reserved", term="1yr", offering_class="standard", payment="no_upfront")
    assert published["quality"] == "list"  # AWS's own published rate, scaled as well
    moved = _rate(scenario, "m5.large", "reserved", term="1yr", offering_class="standard", payment="no_upfront")
    assert (moved["quality"], moved["usd_per_hour"]) == ("list", pytest.approx(published["usd_per_hour"] * 1.6))
    savings = _rate(scenario, "m5.large", "savings_plan", term="1yr", payment="no_upfront", plan_type="compute")
    assert savings["usd_per_hour"] == pytest.approx(
        _rate(catalog, "m5.large", "savings_plan", term="1yr", payment="no_upfront",
              plan_type="compute")["usd_per_hour"] * 2.0, abs=2e-6)


def test_an_on_demand_multiplier_leaves_commitments_and_spot_where_they_were(catalog):
    scenario, _ = scenario_catalog(_changes(prices={"purchase_options": {"on_demand": 1.5}}))
    for option in ("spot", "savings_plan", "reserved"):
        before = rates.rate_table(catalog, "us-east-1", "linux", "shared").filter(
            (pl.col("instance_type") == "c6g.large") & (pl.col("purchase_option") == option))
        after = rates.rate_table(scenario, "us-east-1", "linux", "shared").filter(
            (pl.col("instance_type") == "c6g.large") & (pl.col("purchase_option") == option))
        assert after["usd_per_hour"].to_list() == pytest.approx(before["usd_per_hour"].to_list(), abs=2e-6)
    assert _rate(scenario, "c6g.large", "on_demand")["usd_per_hour"] == pytest.approx(
        _rate(catalog, "c6g.large", "on_demand")["usd_per_hour"] * 1.5, abs=1e-9)


def test_a_service_multiplier_scales_its_price_facts_only(catalog):
    scenario, applied = scenario_catalog(_changes(prices={"services": {"fargate": 1.1}}))
    key = "fargate.vcpu_usd_per_hour_x86"
    assert scenario.facts.value(key, "us-east-1") == pytest.approx(catalog.facts.value(key, "us-east-1") * 1.1)
    assert scenario.facts.value("fargate.max_task_vcpu") == catalog.facts.value("fargate.max_task_vcpu")
    assert key in applied[0]["prices"]


def test_an_on_demand_multiplier_moves_an_estate_row_by_hand(catalog):
    """One on-demand EC2 row: the scenario costs the base + 0.5 x its type's catalog price x 730 h x count."""
    csv = b"id,vcpu,memory_gib,allowed_services,horizon_months\nweb,2,8,ec2,1\n"
    scenarios = parse_scenarios({"scenarios": [
        {"name": "od +50%", "changes": {"prices": {"purchase_options": {"on_demand": 1.5}}}}]})
    result = run_sweep(EstateBase(csv=csv), scenarios, engine=IN_PROCESS)
    from advisor.batch import evaluate_csv

    row = evaluate_csv(csv, catalog=catalog).rows[0]
    assert row["purchase_option"] == "on_demand"
    od = catalog.on_demand.filter((pl.col("instance_type") == row["instance_type"])
                                  & (pl.col("region") == "us-east-1") & (pl.col("os") == "linux"))
    extra = 0.5 * od["usd_per_hour"].item() * HOURS_PER_MONTH * row["count"]
    answer = result.scenarios[0]
    assert result.base.monthly_usd == pytest.approx(row["monthly_usd"], abs=0.005)
    assert answer.monthly_usd == pytest.approx(row["monthly_usd"] + extra, abs=0.01)
    assert answer.saving_monthly_usd == pytest.approx(-extra, abs=0.01)
    assert answer.moved == 0


# ------------------------------------------------------------------------------------------- the sweep
def test_a_failing_scenario_does_not_lose_the_others():
    csv = (EXAMPLES / "workloads.csv").read_bytes()
    scenarios = parse_scenarios({"scenarios": [
        {"name": "unknown family", "changes": {"prices": {"families": {"zz9": 2}}}},
        {"name": "nothing", "description": "no change"},
        {"name": "unknown id", "changes": {"workloads": {"ids": ["nobody"], "set": {"replicas": 2}}}},
        {"name": "3 years", "changes": {"workloads": {"set": {"horizon_months": 36}}}},
        {"name": "budget", "changes": {"constraints": {"max_monthly_usd": 100}}},
    ]})
    result = run_sweep(EstateBase(csv=csv), scenarios, engine=IN_PROCESS)
    bad, nothing, unknown, longer, budget = result.scenarios
    assert (bad.status, bad.error) == ("error", "prices.families: no instance family 'zz9' in the catalog")
    assert unknown.status == "error" and "'nobody'" in unknown.error
    assert nothing.status == "ok" and nothing.monthly_usd == result.base.monthly_usd
    assert (nothing.saving_monthly_usd, nothing.moved, nothing.catalog_version) == (0.0, 0, result.base.catalog_version)
    assert longer.status == "ok" and longer.moved > 0
    assert longer.saving_monthly_usd == pytest.approx(result.base.monthly_usd - longer.monthly_usd, abs=0.011)
    assert budget.status == "error" and budget.error.startswith("constraints: an estate has no portfolio constraints")
    assert [s.name for s in result.scenarios] == ["unknown family", "nothing", "unknown id", "3 years", "budget"]


def test_local_processes_give_the_same_bytes_as_one_process():
    csv = b"id,vcpu,memory_gib,replicas\na,2,8,2\nb,1,2,1\n"
    scenarios = parse_scenarios({"scenarios": [
        {"name": "spot", "changes": {"prices": {"purchase_options": {"spot": 1.3}}}},
        {"name": "od", "changes": {"prices": {"purchase_options": {"on_demand": 0.7}}}}]})
    one = run_sweep(EstateBase(csv=csv), scenarios, engine=IN_PROCESS).model_dump_json()
    two = run_sweep(EstateBase(csv=csv), scenarios, engine=LocalEngine(workers=2)).model_dump_json()
    assert one == two


TINY = {"workloads": [
    {"id": "api", "vcpu": 2, "memory_gib": 4, "replicas": 2, "horizon_months": 12},
    {"id": "batch", "vcpu": 2, "memory_gib": 4, "replicas": 2, "interruptible": True, "horizon_months": 12,
     "allowed_services": ["ec2"]},
], "constraints": {"max_spot_share": 0.5}}


def test_a_portfolio_sweep_reports_binding_constraints_and_moves():
    scenarios = parse_scenarios({"scenarios": [
        {"name": "no spot", "changes": {"constraints": {"max_spot_share": 0}}},
        {"name": "free spot share", "changes": {"constraints": {"max_spot_share": None}}},
        {"name": "bad workload", "changes": {"workloads": {"ids": ["api"], "set": {"peak_replicas": 1,
                                                                                   "replicas": 5}}}},
    ]})
    result = run_sweep(PortfolioBase(portfolio=TINY, time_limit_s=0.3), scenarios, engine=IN_PROCESS)
    no_spot, free, bad = result.scenarios
    assert result.base.status == "ok" and result.base.binding_constraints == []
    assert no_spot.status == "ok" and [(m.field, m.from_value, m.to_value, m.count) for m in no_spot.moves] == [
        ("purchase_option", "spot", "savings_plan", 1)]
    # the planner prices the constraint on its own; with nothing else binding it is what the sweep says it costs
    assert [b.constraint for b in no_spot.binding_constraints] == ["max_spot_share"]
    assert no_spot.binding_constraints[0].costs_monthly_usd == pytest.approx(-no_spot.saving_monthly_usd, abs=0.011)
    assert no_spot.saving_monthly_usd < 0 and no_spot.moved == 1
    assert (free.status, free.saving_monthly_usd, free.moved) == ("ok", 0.0, 0)
    assert bad.status == "error" and "peak_replicas" in bad.error


def test_stopping_keeps_what_was_answered():
    csv = (EXAMPLES / "workloads.csv").read_bytes()
    scenarios = parse_scenarios({"scenarios": [{"name": "a"}, {"name": "b"}]})
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2  # after the base and the first scenario

    result = run_sweep(EstateBase(csv=csv), scenarios, engine=IN_PROCESS, should_stop=stop)
    assert not result.complete
    assert (result.base.status, result.scenarios[0].status, result.scenarios[1].status) == ("ok", "ok", "error")
    assert "stopped" in result.scenarios[1].error


def test_the_sweep_command_writes_csv_one_row_per_scenario(tmp_path):
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text("scenarios:\n  - name: spot up\n    changes: {prices: {purchase_options: {spot: 1.3}}}\n")
    got = runner.invoke(app, ["sweep", str(EXAMPLES / "workloads.csv"), "--scenarios", str(scenarios),
                              "--workers", "1", "--format", "csv"])
    assert got.exit_code == 0, got.output
    lines = got.stdout.splitlines()
    assert lines[0].startswith("scenario,status,monthly_usd") and len(lines) == 3
    assert lines[2].startswith("spot up,ok,")


def test_ray_missing_is_a_clear_usage_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(EngineUnavailable, match=r"pip install -e '\.\[ray\]'"):
        get_engine("ray")
    got = runner.invoke(app, ["evaluate", str(EXAMPLES / "workloads.csv"), "--engine", "ray"])
    assert got.exit_code == 2 and "ray extra" in got.output


def test_service_multipliers_scale_every_price_of_those_services_tiers_included():
    """A Fargate task and a Lambda function (tiered duration prices): x2 on their services doubles each cost."""
    csv = (b"id,vcpu,memory_gib,allowed_services,requests_per_month,avg_duration_ms,function_memory_mb\n"
           b"task,1,2,ecs_fargate,,,\nfn,,,lambda,10000000,100,512\n")
    scenarios = parse_scenarios({"scenarios": [
        {"name": "fargate x2", "changes": {"prices": {"services": {"fargate": 2}}}},
        {"name": "lambda x2", "changes": {"prices": {"services": {"lambda": 2}}}}]})
    result = run_sweep(EstateBase(csv=csv), scenarios, engine=IN_PROCESS)
    from advisor.batch import evaluate_csv

    task, fn = (row["monthly_usd"] for row in evaluate_csv(csv).rows)
    fargate, lam = result.scenarios
    assert fargate.monthly_usd == pytest.approx(2 * task + fn, abs=0.02)
    assert lam.monthly_usd == pytest.approx(task + 2 * fn, abs=0.02)
    assert "lambda.duration_tiers_x86" in lam.multipliers[0].prices


def test_imported_rates_are_multiplied_too(tmp_path, monkeypatch):
    """An imported Price List file (m5.large) wins over estimates; a scenario multiplies its rates as well."""
    monkeypatch.delenv("ADVISOR_CATALOG_VERSION", raising=False)
    monkeypatch.setenv("ADVISOR_HOME", str(tmp_path))
    fixture = Path("tests/fixtures/import/get_products_m5_large.json")
    assert runner.invoke(app, ["catalog", "import", str(fixture)]).exit_code == 0
    from advisor.catalog.store import load_catalog

    base = load_catalog()
    imported = base.imported_prices.filter((pl.col("instance_type") == "m5.large")
                                           & (pl.col("purchase_option") == "reserved"))
    assert imported.height  # the fixture has reserved rates
    scenario, _ = scenario_catalog(_changes(prices={"purchase_options": {"reserved": 0.5},
                                                    "regions": {"us-east-1": 3.0}}))
    before = rates.rate_table(base, "us-east-1", "linux", "shared").filter(
        (pl.col("instance_type") == "m5.large") & (pl.col("purchase_option") == "reserved")
        & (pl.col("quality") == "imported"))
    after = rates.rate_table(scenario, "us-east-1", "linux", "shared").filter(
        (pl.col("instance_type") == "m5.large") & (pl.col("purchase_option") == "reserved")
        & (pl.col("quality") == "imported"))
    assert before.height and before.height == after.height
    assert after["usd_per_hour"].to_list() == pytest.approx([x * 1.5 for x in before["usd_per_hour"]], abs=2e-6)
    assert after["upfront_usd"].to_list() == pytest.approx([x * 1.5 for x in before["upfront_usd"]], abs=0.011)
