"""`advisor catalog import` changes one catalog on purpose: it says which (the ADVISOR_HOME, the versions), other
homes are untouched, and a process can pin the version it answers from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.catalog.store import load_catalog
from advisor.cli import app
from advisor.errors import CatalogError

FIXTURE = Path(__file__).parent / "fixtures" / "import" / "get_products_m5_large.json"
runner = CliRunner()


def test_import_says_which_catalog_it_changed_and_pins_hold(tmp_path, monkeypatch):
    home, other = tmp_path / "home", tmp_path / "other"
    monkeypatch.delenv("ADVISOR_CATALOG_VERSION", raising=False)
    monkeypatch.setenv("ADVISOR_HOME", str(other))
    untouched = load_catalog().version
    monkeypatch.setenv("ADVISOR_HOME", str(home))
    before = load_catalog().version
    assert before == untouched  # two fresh homes: the bundled facts

    result = runner.invoke(app, ["catalog", "import", str(FIXTURE)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    after = load_catalog().version
    assert after != before
    assert f"changed the catalog under {home} (ADVISOR_HOME): version {before} -> {after}" in text
    assert f"ADVISOR_CATALOG_VERSION={after}" in text

    monkeypatch.setenv("ADVISOR_HOME", str(other))
    assert load_catalog().version == untouched  # another home never sees it

    monkeypatch.setenv("ADVISOR_HOME", str(home))
    monkeypatch.setenv("ADVISOR_CATALOG_VERSION", before)  # pinned before the import
    with pytest.raises(CatalogError, match=re.escape(f"ADVISOR_CATALOG_VERSION={before}")):
        load_catalog()
    monkeypatch.setenv("ADVISOR_CATALOG_VERSION", after)
    assert load_catalog().version == after

    monkeypatch.delenv("ADVISOR_CATALOG_VERSION")
    cleared = runner.invoke(app, ["catalog", "clear-imports"])
    assert cleared.exit_code == 0
    assert f"version {after} -> {before}" in " ".join(cleared.output.split())
