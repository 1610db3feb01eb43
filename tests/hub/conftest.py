"""Fixtures for the hub's tests: throw-away projects whose sources are real tap processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from singer_project import Project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A fresh project folder."""
    return Project(tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def master_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same tests on the embedded SQLite master and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'master.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
