"""Fixtures of the sync tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync_project import SyncProject


@pytest.fixture
def project(tmp_path: Path) -> SyncProject:
    """A fresh project: source `shop` with six customers, SQL target `crm`."""
    p = SyncProject(tmp_path)
    p.write()
    return p
