"""Fixtures for target-crm tests: simulators on loopback, per-test output paths."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from simulators.hubspot import HubSpotSimulator

FAST_RETRY = {
    "max_retries": 3,
    "backoff_base_seconds": 0.05,
    "backoff_max_seconds": 0.2,
    "request_timeout_seconds": 1.0,
}


@pytest.fixture
def out(tmp_path: Path) -> dict[str, Any]:
    """Results, error and report paths of one test."""
    return {
        "results_path": str(tmp_path / "results.jsonl"),
        "error_file": str(tmp_path / "errors.csv"),
        "report_path": str(tmp_path / "report.json"),
    }


@pytest.fixture
def hubspot() -> Iterator[HubSpotSimulator]:
    """A HubSpot simulator with HubSpot's real limits (100 per batch, 100 per 10 s)."""
    sim = HubSpotSimulator(rate_limit=100).start()
    yield sim
    sim.stop()


@pytest.fixture
def hubspot_config(hubspot: HubSpotSimulator, out: dict[str, Any]) -> dict[str, Any]:
    """Config of the hubspot profile against the simulator."""
    return {
        "profile": "hubspot",
        "base_url": hubspot.url,
        "access_token": "good-token",
        **FAST_RETRY,
        **out,
    }


@pytest.fixture(scope="session")
def tryton_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The shared Tryton template database (built once, cached across runs)."""
    sys.path.insert(0, str(Path(__file__).parent.parent))
    from tryton_server import cached_template

    cache = getattr(request.config, "cache", None)
    cache_dir = (
        Path(str(cache.mkdir("tryton-template")))
        if cache is not None
        else tmp_path_factory.mktemp("tryton-template")
    )
    return cached_template(cache_dir)


@pytest.fixture(scope="module")
def tryton(tryton_template: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real trytond for this module, on a copy of the template (tests use own keys)."""
    from tryton_server import running_trytond

    with running_trytond(tmp_path_factory.mktemp("trytond"), tryton_template) as server:
        yield server


@pytest.fixture
def tryton_config(tryton: Any, out: dict[str, Any]) -> dict[str, Any]:
    """Config of the tryton profile against the running server."""
    return {
        "profile": "tryton",
        "tryton_url": tryton.url,
        "database": tryton.db,
        "username": tryton.user,
        "password": tryton.password,
        **FAST_RETRY,
        "request_timeout_seconds": 30.0,
        **out,
    }


@pytest.fixture
def salesforce() -> Iterator[Any]:
    """A Salesforce simulator."""
    from simulators.salesforce import SalesforceSimulator

    sim = SalesforceSimulator().start()
    yield sim
    sim.stop()


@pytest.fixture
def salesforce_config(salesforce: Any, out: dict[str, Any]) -> dict[str, Any]:
    """Config of the salesforce profile against the simulator."""
    return {
        "profile": "salesforce",
        "instance_url": salesforce.url,
        "access_token": "good-token",
        "bulk_poll_seconds": 0.05,
        **FAST_RETRY,
        **out,
    }


@pytest.fixture
def dynamics() -> Iterator[Any]:
    """A Dataverse simulator (service protection: 6000 requests / 5 min)."""
    from simulators.dynamics import DynamicsSimulator

    sim = DynamicsSimulator(rate_limit=6000).start()
    yield sim
    sim.stop()


@pytest.fixture
def dynamics_config(dynamics: Any, out: dict[str, Any]) -> dict[str, Any]:
    """Config of the dynamics365 profile against the simulator."""
    return {
        "profile": "dynamics365",
        "base_url": dynamics.url,
        "access_token": "good-token",
        **FAST_RETRY,
        **out,
    }
