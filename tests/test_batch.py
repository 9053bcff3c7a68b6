"""The CSV path: every row answered or explained, in order, identical to recommend(), safe to open."""

import json
import os
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from advisor.batch import OUTPUT_COLUMNS, Evaluator, evaluate_csv, evaluate_records
from advisor.batch_io import neutralise
from advisor.cli import app
from advisor.recommend import recommend
from models.workload import Workload

CSV = b"""id,team,vcpu,memory_gib,replicas,hours_per_month,os,interruptible,requests_per_month,avg_duration_ms,notes
web-1,shop,2,8,2,730,linux,false,,,keep me
web-2,shop,2,8,2,730,linux,false,,,=HYPERLINK("http://x")
bad-type,shop,two,8,1,730,linux,,,,
bad-neg,shop,-1,8,1,730,linux,,,,
bad-enum,shop,2,8,1,730,plan9,,,,
,shop,2,8,1,730,linux,,,,
web-1,shop,1,2,1,730,linux,,,,
bad-hours,shop,2,8,1,800,linux,,,,
fn-1,api,,,,,,,3000000,120,
batch-1,data,4,16,3,200,windows,true,,,@risky
"""


def rows_by_id(result):
    return [(r["id"], r["status"], r["error"]) for r in result.rows]


@pytest.fixture(scope="module")
def result(catalog):
    return evaluate_csv(CSV, catalog=catalog)


def test_one_output_row_per_input_row_in_order_with_pass_through(result):
    ids = [r["id"] for r in result.rows]
    assert ids == ["web-1", "web-2", "bad-type", "bad-neg", "bad-enum", None, "web-1", "bad-hours", "fn-1",
                   "batch-1"]
    assert list(result.rows[0])[:11] == ["id", "team", "vcpu", "memory_gib", "replicas", "hours_per_month", "os",
                                         "interruptible", "requests_per_month", "avg_duration_ms", "notes"]
    assert list(result.rows[0])[11:] == OUTPUT_COLUMNS
    assert result.rows[0]["notes"] == "keep me" and result.rows[9]["team"] == "data"


def test_each_broken_row_names_its_field_and_the_rest_is_answered(result):
    errors = {r["id"]: r["error"] for r in result.rows if r["status"] == "error"}
    assert errors["bad-type"].startswith("vcpu:") and "two" in errors["bad-type"]
    assert errors["bad-neg"].startswith("vcpu:") and "-1" in errors["bad-neg"]
    assert errors["bad-enum"].startswith("os:") and "plan9" in errors["bad-enum"]
    assert errors[None].startswith("id: empty")
    assert errors["bad-hours"].startswith("hours_per_month:")
    duplicate = result.rows[6]
    assert duplicate["status"] == "error" and duplicate["error"].startswith("id: duplicate of line 2")
    answered = [r["id"] for r in result.rows if r["status"] == "ok"]
    assert answered == ["web-1", "web-2", "fn-1", "batch-1"]
    assert result.summary["rows"] == 10 and result.summary["ok"] == 4 and result.summary["errors"] == 6
    assert result.summary["errors_by_reason"] == {"hours_per_month": 1, "id": 2, "os": 1, "vcpu": 2}


def test_results_identical_to_recommend(result, catalog):
    for row in (r for r in result.rows if r["status"] == "ok"):
        data = {k: v for k, v in row.items() if k not in OUTPUT_COLUMNS and k not in ("team", "notes")
                and v not in (None, "")}
        rec = recommend(Workload.model_validate(data), catalog=catalog)
        assert (row["service"], row["instance_type"], row["purchase_option"], row["monthly_usd"],
                row["upfront_usd"], row["baseline_monthly_usd"], row["catalog_version"]) == (
            rec.choice.service, rec.choice.instance_type, rec.choice.purchase_option, rec.choice.monthly_usd,
            rec.choice.upfront_usd, rec.baseline.monthly_usd, rec.catalog.version)


def test_identical_shapes_are_solved_once(catalog):
    evaluator = Evaluator(catalog)
    frame = pl.DataFrame({"id": [f"r{i}" for i in range(300)], "vcpu": ["2"] * 300, "memory_gib": ["8"] * 300,
                          "team": [f"t{i % 7}" for i in range(300)]})
    out = evaluator.evaluate(frame, 0)
    assert len(evaluator.answers) == 1 and out.height == 300
    assert out["monthly_usd"].n_unique() == 1 and out["team"].to_list() == frame["team"].to_list()


def test_a_duplicate_id_names_its_first_line_chunks_later(catalog):
    """Ids are remembered across chunks: a later chunk's repeat names the line of the first, and a repeat
    inside one chunk names that chunk's first; a blank id is its own error, never a duplicate."""
    evaluator = Evaluator(catalog)
    first = pl.DataFrame({"id": ["a", "b", None, "c"], "vcpu": ["2"] * 4, "memory_gib": ["8"] * 4})
    second = pl.DataFrame({"id": ["d", "b", "d", None, "a"], "vcpu": ["2"] * 5, "memory_gib": ["8"] * 5})
    one = evaluator.evaluate(first, 0)
    two = evaluator.evaluate(second, first.height)
    assert one["status"].to_list() == ["ok", "ok", "error", "ok"]
    assert two["error"].to_list() == [None, "id: duplicate of line 3 (got 'b')", "id: duplicate of line 6 (got 'd')",
                                      "id: empty (every row needs an id)", "id: duplicate of line 2 (got 'a')"]


def test_records_and_csv_agree(catalog):
    records = [{"id": "a", "vcpu": 2, "memory_gib": 8, "interruptible": True, "allowed_services": ["ec2", "lambda"]},
               {"id": "b", "vcpu": "x", "memory_gib": 8}]
    got = evaluate_records(records, catalog=catalog)
    csv = evaluate_csv(b'id,vcpu,memory_gib,interruptible,allowed_services\na,2,8,true,"ec2;lambda"\nb,x,8,,\n',
                       catalog=catalog)
    assert [(r["status"], r["monthly_usd"]) for r in got.rows] == [(r["status"], r["monthly_usd"]) for r in csv.rows]
    assert got.rows[0]["service"] == "ec2" and got.rows[1]["error"].startswith("vcpu:")


def test_required_tenancy_and_chosen_tenancy_both_survive(catalog):
    out = evaluate_csv(b"id,vcpu,memory_gib,tenancy\na,2,8,dedicated\n", catalog=catalog).rows[0]
    assert out["tenancy"] == "dedicated" and out["chosen_tenancy"] in ("dedicated", "host")  # a host satisfies it


def test_empty_and_header_only_inputs(catalog):
    assert evaluate_csv(b"", catalog=catalog).rows == []
    header_only = evaluate_csv(b"id,vcpu,memory_gib\n", catalog=catalog)
    assert header_only.rows == [] and header_only.summary["rows"] == 0


def test_formula_injection_is_neutralised_for_csv_only():
    frame = pl.DataFrame({"a": ["=1+1", "+2", "-3", "@x", "\tt", "\rr", "ok", None], "n": [1, -2, 3, 4, 5, 6, 7, 8]})
    out = neutralise(frame)
    assert out["a"].to_list() == ["'=1+1", "'+2", "'-3", "'@x", "'\tt", "'\rr", "ok", None]
    assert out["n"].to_list() == frame["n"].to_list()  # numbers are left alone


def test_cli_writes_every_format_and_the_summary(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(CSV)
    runner = CliRunner()
    for suffix in ("csv", "json", "parquet"):
        out = tmp_path / f"out.{suffix}"
        result = runner.invoke(app, ["evaluate", str(src), "-o", str(out), "--workers", "1"])
        assert result.exit_code == 0, result.output
        summary = json.loads(Path(f"{out}.summary.json").read_text())
        assert summary["rows"] == 10 and summary["ok"] == 4
    csv_out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert csv_out.height == 10 and csv_out["notes"][1].startswith("'=HYPERLINK")
    assert csv_out["team"][9] == "data" and csv_out["notes"][9] == "'@risky"
    json_out = json.loads((tmp_path / "out.json").read_text())
    assert json_out[1]["notes"].startswith("=HYPERLINK")           # JSON keeps values as they are
    parquet_out = pl.read_parquet(tmp_path / "out.parquet")
    assert parquet_out["notes"][9] == "@risky" and parquet_out["monthly_usd"].dtype == pl.Float64


def test_parallel_workers_give_the_same_answers(catalog, monkeypatch):
    import advisor.batch as batch

    monkeypatch.setattr(batch, "PARALLEL_MIN_SHAPES", 2)
    frame = pl.DataFrame({"id": [f"r{i}" for i in range(6)], "vcpu": ["1", "2", "4", "1", "2", "4"],
                          "memory_gib": ["2", "8", "16", "4", "4", "8"]})
    with Evaluator(catalog, workers=2) as parallel:
        a = parallel.evaluate(frame, 0)
    b = Evaluator(catalog, workers=1).evaluate(frame, 0)
    assert a.equals(b)


def test_the_vectorized_path_split_over_workers_gives_one_process_answers(catalog, monkeypatch):
    """Whole region/OS groups go to each worker; every row's answer is the single-process one."""
    import advisor.batch as batch

    monkeypatch.setattr(batch, "PARALLEL_MIN_VECTOR", 2)
    rows = [(region, os, f"{1 + i % 7 * 0.37:.2f}", f"{2 + i * 0.61:.2f}")
            for region in ("us-east-1", "eu-west-1") for os in ("linux", "windows") for i in range(20)]
    frame = pl.DataFrame({"id": [f"r{i}" for i in range(len(rows))], "region": [r[0] for r in rows],
                          "os": [r[1] for r in rows], "vcpu": [r[2] for r in rows],
                          "memory_gib": [r[3] for r in rows], "allowed_services": ["ec2"] * len(rows)})
    with Evaluator(catalog, workers=2) as parallel:
        a = parallel.evaluate(frame, 0)
    b = Evaluator(catalog, workers=1).evaluate(frame, 0)
    assert a.equals(b)
    assert a["status"].to_list() == ["ok"] * len(rows)


def test_split_by_group_orders_shapes_by_region_and_os_in_pieces_of_at_most_the_size():
    from advisor.batch import split_by_group

    keys = [(("region", r), ("os", o), ("vcpu", str(i))) for r, o, n in
            [("a", None, 5), ("b", "linux", 3), ("a", "windows", 2), ("a", None, 2)] for i in range(n)]
    pieces = split_by_group(keys, 4)
    assert [len(p) for p in pieces] == [4, 4, 4]
    flat = [k for p in pieces for k in p]
    assert sorted(map(str, flat)) == sorted(map(str, keys))  # nothing lost or repeated
    groups = [(dict(k)["region"], dict(k)["os"]) for k in flat]
    assert groups == [("a", None)] * 7 + [("b", "linux")] * 3 + [("a", "windows")] * 2  # each group together
    values = [(r, o, str(i)) for r, o, i in [("a", None, 0), ("b", "x", 1), ("a", None, 2)]]
    assert split_by_group(values, 8, ("region", "os", "vcpu")) == [[values[0], values[2], values[1]]]


def test_vectorized_tasks_are_balanced_over_the_workers_and_bounded():
    from advisor.batch import VECTOR_TASK_SHAPES, balanced_size

    assert balanced_size(10_000, 2) == 5_000  # not 8,192 and 1,808: one worker idle most of the time
    assert -(-100_000 // balanced_size(100_000, 2)) == 14  # 13 pieces of the cap would leave one worker alone
    for shapes in [1, 2, 3, 999, 8_192, 8_193, 16_385, 50_000, 123_457]:
        for workers in [1, 2, 3, 4]:
            size = balanced_size(shapes, workers)
            pieces = -(-shapes // size)
            assert size <= VECTOR_TASK_SHAPES  # a worker's memory stays bounded
            assert pieces >= min(workers, shapes)  # every worker gets a piece
            assert pieces * size - shapes < pieces  # the last piece is short by less than one per piece


def test_json_output_writes_contract_numbers_and_booleans_as_such_without_losing_text():
    from advisor.batch_io import typed_for_json

    chunk = pl.DataFrame({"id": ["a", "b"], "vcpu": ["2", "0.5"], "replicas": ["3", ""],
                          "interruptible": ["true", "FALSE"], "memory_gib": ["8", "lots"], "team": ["x", "7"]})
    out = typed_for_json(chunk)
    assert out["vcpu"].to_list() == [2.0, 0.5] and out["replicas"].to_list() == [3, None]
    assert out["interruptible"].to_list() == [True, False]
    assert out["memory_gib"].to_list() == ["8", "lots"]       # one bad value: the column keeps its text
    assert out["team"].to_list() == ["x", "7"]                # not a contract field: left as written


def test_workers_share_the_cores_for_polars_and_leave_the_parent_as_it_was(monkeypatch):
    """Each worker's polars pool gets the cores divided by the workers (two workers' full pools contend);
    the variable is set for the child only."""
    from concurrent.futures import ProcessPoolExecutor

    from advisor.workers import spawn_context

    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with ProcessPoolExecutor(1, mp_context=spawn_context(cpus)) as pool:
        assert pool.submit(pl.thread_pool_size).result() == 1
    with ProcessPoolExecutor(1, mp_context=spawn_context(1)) as pool:
        assert pool.submit(pl.thread_pool_size).result() == cpus
    assert "POLARS_MAX_THREADS" not in os.environ
