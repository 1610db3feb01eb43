"""Fixtures of the tap-sql tests: ERP databases on SQLite (once per session)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from erp_schema import ErpCounts, build_erp


@pytest.fixture(scope="session")
def sqlite_erp(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ErpCounts]:
    """A read-only SQLite ERP database shared by the tests that do not change it."""
    path = tmp_path_factory.mktemp("erp") / "erp.db"
    url = f"sqlite:///{path}"
    counts = build_erp(url, customers=120)
    return url, counts


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite database file of its own for tests that write."""
    path = tmp_path / "db.sqlite"
    path.touch()
    return f"sqlite:///{path}"
