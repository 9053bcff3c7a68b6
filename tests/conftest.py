"""Test isolation: the catalog cache and any imports live in a temporary ADVISOR_HOME, never the user's."""

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A local Ray cluster on 127.0.0.1 with two CPUs, one per test module that asks for it (its address; the
    engines connect to it instead of starting their own). Skipped, with the reason, only when the ray extra is
    not installed. Workers get this run's ADVISOR_* settings and the repository on PYTHONPATH."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only (see ray_engine.py)
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")
    env = {k: v for k, v in os.environ.items() if k.startswith("ADVISOR_") or k == "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                      env.get("PYTHONPATH")]))
    ray.init(address="local", _node_ip_address="127.0.0.1", num_cpus=2, include_dashboard=False,
             runtime_env={"env_vars": env}, logging_level="ERROR", log_to_driver=False)
    address = ray.get_runtime_context().gcs_address
    assert address.startswith("127.0.0.1:")
    yield address
    ray.shutdown()
