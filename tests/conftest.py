"""Test isolation: the catalog cache and any imports live in a temporary ADVISOR_HOME, never the user's."""

import json
import os
import tempfile

import pytest

os.environ.setdefault("ADVISOR_HOME", tempfile.mkdtemp(prefix="advisor-test-home-"))


@pytest.fixture(scope="session")
def catalog():
    from advisor.catalog.store import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def catalog_for_properties(catalog):
    """The same catalog, under a name that says hypothesis reuses it across examples."""
    return catalog


@pytest.fixture(scope="session")
def example():
    """The bundled example portfolio (data/examples/portfolio.json)."""
    with open("data/examples/portfolio.json") as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def planned(example, catalog):
    """The example planned once at a 5 s limit, shared read-only by the audit and plan-document tests (each
    tampers with its own deep copy)."""
    from advisor.portfolio.plan import plan

    return plan(example, catalog=catalog, time_limit_s=5)
