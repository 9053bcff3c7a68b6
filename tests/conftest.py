"""Test isolation: the catalog cache and any imports live in a temporary ADVISOR_HOME, never the user's."""

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
