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
