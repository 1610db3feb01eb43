"""A project with a matched master, two candidates and three users, for the steward app."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from crmhub.cli import main
from crmhub.config import load_project
from crmhub.store import open_master
from crmhub.web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hub"))
from singer_project import Project, record, schema
from steward_client import PASSWORD


@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per test run; each test gets a copy (ingest, match and argon2 are slow)."""
    project = Project(tmp_path_factory.mktemp("web-template"))
    project.configure(
        [
            schema(),
            # distinct people, put in the review queue by hand below
            record(id=1, first="Jan", last="Jansen", email="jan@example.nl"),
            record(id=2, first="Piet", last="Pietersen", email="piet@work.nl"),
            record(id=3, first="राहुल", last="शर्मा", email="rahul@example.in"),
            record(id=4, first="Priya", last="Patel", email="priya@example.in"),
            # the same record twice: the matcher merges them
            record(id=5, first="Jürgen", last="Müller", email="jm@example.de"),
            record(id=6, first="Jürgen", last="Müller", email="jm@example.de"),
        ]
    )
    runner = CliRunner()
    assert project.cli("ingest").exit_code == 0
    assert project.cli("match").exit_code == 0
    for name, role in (("ada", "admin"), ("sanne", "steward"), ("victor", "viewer")):
        result = runner.invoke(
            main,
            ["-p", str(project.root), "users", "add", name, "--role", role],
            env={"CRMHUB_NEW_PASSWORD": PASSWORD},
        )
        assert result.exit_code == 0, result.output
    with sqlite3.connect(project.root / "master.db") as conn:
        ids = dict(conn.execute("SELECT source_key, id FROM source_record"))
        masters = dict(
            conn.execute(
                "SELECT s.source_key, x.master_id FROM xref x "
                "JOIN source_record s ON s.id = x.source_record_id"
            )
        )
        for a, b, score in (("1", "2", 0.81), ("3", "4", 0.55)):
            conn.execute(
                "INSERT INTO match_candidate (left_record_id, right_record_id, left_master_id, "
                "right_master_id, left_source, right_source, score, comparison, status, "
                "version, created_at) VALUES (?, ?, ?, ?, (SELECT source FROM source_record "
                "WHERE id = ?), (SELECT source FROM source_record WHERE id = ?), ?, ?, "
                "'pending', 1, '2026-01-01 00:00:00')",
                (
                    ids[a],
                    ids[b],
                    masters[a],
                    masters[b],
                    ids[a],
                    ids[b],
                    score,
                    json.dumps(
                        [
                            {"comparison": "family", "label": "family name exact", "weight": 3.1},
                            {"comparison": "email", "label": "email different", "weight": -1.4},
                        ]
                    ),
                ),
            )
    return project.root


@pytest.fixture
def web_project(web_template: Path, tmp_path: Path) -> Project:
    root = tmp_path / "project"
    shutil.copytree(web_template, root)
    project = Project.__new__(Project)
    project.root = root
    return project


@pytest.fixture
def client(web_project: Project) -> Iterator[TestClient]:
    project = load_project(web_project.root)
    master = open_master(project.master_url())
    app = create_app(project, master)
    with TestClient(app, base_url="http://testserver") as c:
        yield c
    master.dispose()
