"""Test isolation: the catalog cache and any imports live in a temporary ADVISOR_HOME, never the user's."""

import os
import tempfile

import pytest

os.environ.setdefault("ADVISOR_HOME", tempfile.mkdtemp(prefix="advisor-test-home-"))


@pytest.fixture(scope="session")
def catalog():
    from advisor.catalog.store import load_catalog

    return load_catalog()
