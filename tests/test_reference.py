"""The README is the reference, generated from the code: it and the code must agree, and `advisor fields`
prints the same."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from advisor import reference
from advisor.cli import EXIT_CODES, app
from api.settings import Settings
from models.recommendation import Option, Recommendation
from models.workload import Workload


def test_readme_reference_is_the_generated_one():
    """Fails after a field, command or setting changes until `python -m advisor.reference --write` is run."""
    block = reference.readme_block(reference.README.read_text(encoding="utf-8"))
    assert block, "README.md has no generated reference block"
    assert block == reference.markdown()


def test_every_workload_field_has_a_row_with_its_type_default_and_meaning():
    rows = {r.name: r for r in reference.workload_fields()}
    assert list(rows) == list(Workload.model_fields)
    for name, row in rows.items():
        assert row.meaning and row.kind and row.default, name
    assert rows["id"].default == "required"
    assert rows["hours_per_month"].kind == "number > 0, <= 730" and rows["hours_per_month"].default == "730"
    assert rows["os"].kind == "one of linux, windows, rhel, suse" and rows["os"].default == "linux"
    assert rows["replicas"].kind == "integer >= 1, <= 100,000"
    assert rows["vcpu"].default == "empty"


def test_every_answer_field_is_described():
    paths = {r.name: r for r in reference.answer_fields()}
    expected = set(Recommendation.model_fields) | {f"option.{n}" for n in Option.model_fields}
    assert expected <= set(paths)
    assert [p for p, r in paths.items() if not r.meaning] == []


def test_every_setting_and_exit_code_is_listed():
    names = {r.name for r in reference.settings()}
    assert {f"ADVISOR_{n.upper()}" for n in Settings.model_fields} <= names
    assert {"ADVISOR_HOME", "ADVISOR_CATALOG_VERSION"} <= names
    assert [r.meaning for r in reference.settings() if not r.meaning] == []
    assert {int(r.name) for r in reference.exit_codes()} == set(EXIT_CODES) == {0, 1, 2, 3}


def test_every_command_is_listed():
    names = {r.name.split(" [")[0].split(" FILE")[0] for r in reference.commands()}
    for command in ("advisor recommend", "advisor evaluate", "advisor plan", "advisor report", "advisor fields",
                    "advisor serve", "advisor catalog import", "advisor catalog list", "advisor import",
                    "advisor diff"):
        assert any(n.startswith(command) for n in names), command


def test_advisor_fields_prints_the_reference():
    runner = CliRunner()
    table = runner.invoke(app, ["fields", "--format", "json"])
    assert table.exit_code == 0
    rows = json.loads(table.stdout)
    assert [r["name"] for r in rows] == list(Workload.model_fields)
    one = runner.invoke(app, ["fields", "hours_per_month", "--format", "json"])
    assert json.loads(one.stdout) == [r for r in rows if r["name"] == "hours_per_month"]
    assert runner.invoke(app, ["fields", "--format", "markdown"]).stdout.strip() == reference.markdown()
    unknown = runner.invoke(app, ["fields", "colour"])
    assert unknown.exit_code == 2
