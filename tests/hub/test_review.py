"""Steward decisions from the shell: approve, reject, split, undo; conflicts; audit trail."""

from __future__ import annotations

import json
import sqlite3

import pytest
from singer_project import Project, record, schema

from crmhub.errors import ConfigurationError, RetriableError


@pytest.fixture
def matched(project: Project) -> Project:
    project.configure(
        [
            schema(),
            # 1 and 2 are different people; the test puts them in the queue by hand
            record(id=1, first="Jan", last="Jansen", email="jan@example.nl"),
            record(id=2, first="Piet", last="Pietersen", email="piet@work.nl"),
            # 3 and 4 are the same record twice: the matcher merges them
            record(id=3, first="Anna", last="Bakker", email="anna@example.nl"),
            record(id=4, first="Anna", last="Bakker", email="anna@example.nl"),
        ]
    )
    assert project.cli("ingest").exit_code == 0
    assert project.cli("match").exit_code == 0
    with sqlite3.connect(project.root / "master.db") as conn:
        ids = dict(conn.execute("SELECT source_key, id FROM source_record"))
        masters = dict(
            conn.execute(
                "SELECT s.source_key, x.master_id FROM xref x JOIN source_record s "
                "ON s.id = x.source_record_id"
            )
        )
        conn.execute(
            "INSERT INTO match_candidate (left_record_id, right_record_id, left_master_id, "
            "right_master_id, score, comparison, status, version, created_at) "
            "VALUES (?, ?, ?, ?, 0.71, ?, 'pending', 1, '2026-01-01 00:00:00')",
            (
                ids["1"],
                ids["2"],
                masters["1"],
                masters["2"],
                json.dumps([{"comparison": "email", "label": "email different", "weight": -1.2}]),
            ),
        )
    return project


def q(project: Project, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(project.root / "master.db") as conn:
        return conn.execute(sql).fetchall()


def test_list_show_and_approve_merges_masters(matched: Project) -> None:
    listing = json.loads(matched.cli("review", "list", "--json").output)
    assert listing["total"] == 1
    candidate = listing["candidates"][0]
    assert {candidate["left"]["name"], candidate["right"]["name"]} == {
        "Jan Jansen",
        "Piet Pietersen",
    }
    detail = json.loads(matched.cli("review", "show", str(candidate["id"]), "--json").output)
    given = next(f for f in detail["fields"] if f["field"] == "given_name")
    assert given == {"field": "given_name", "left": "Jan", "right": "Piet", "same": False}
    assert detail["explanation"][0]["label"] == "email different"
    text = matched.cli("review", "show", str(candidate["id"])).output
    assert "* given_name" in text and "email different" in text

    result = matched.cli(
        "review", "approve", str(candidate["id"]), "--as", "sanne", "--version", "1"
    )
    assert result.exit_code == 0, result.output
    assert q(matched, "SELECT count(DISTINCT master_id) FROM xref") == [(2,)]
    assert q(matched, "SELECT count(*) FROM golden_record WHERE status='merged'") == [(1,)]
    assert q(matched, "SELECT actor, action FROM audit_event") == [("sanne", "approve")]
    emails = q(
        matched,
        "SELECT data FROM golden_record WHERE status='active' AND data LIKE '%piet@work.nl%'",
    )
    assert sorted(json.loads(str(emails[0][0]))["emails"]) == ["jan@example.nl", "piet@work.nl"]

    # a second steward with the old version gets a conflict, not a double merge
    again = matched.cli("review", "approve", str(candidate["id"]), "--as", "piet", "--version", "1")
    assert again.exit_code == RetriableError.exit_code
    assert "changed since you opened it: sanne set it to approved" in again.output

    # undo restores both masters
    result = matched.cli("review", "undo", "--as", "sanne")
    assert result.exit_code == 0, result.output
    assert q(matched, "SELECT count(DISTINCT master_id) FROM xref") == [(3,)]
    assert q(matched, "SELECT status FROM match_candidate") == [("pending",)]


def test_reject_and_unknown_candidate(matched: Project) -> None:
    result = matched.cli("review", "reject", "1", "--as", "sanne")
    assert result.exit_code == 0, result.output
    assert q(matched, "SELECT status, decided_by FROM match_candidate") == [("rejected", "sanne")]
    assert matched.cli("review", "approve", "1").exit_code == RetriableError.exit_code
    missing = matched.cli("review", "approve", "999")
    assert missing.exit_code == ConfigurationError.exit_code
    assert "there is no match candidate 999" in missing.output


def test_split_moves_records_and_forbids_remerging(matched: Project) -> None:
    anna = q(
        matched,
        "SELECT x.master_id, s.id FROM xref x JOIN source_record s ON s.id = x.source_record_id "
        "WHERE s.source_key IN ('3', '4') ORDER BY s.id",
    )
    master_id, record_a = anna[0][0], anna[0][1]
    assert anna[1][0] == master_id
    empty = matched.cli("review", "split", str(master_id), str(anna[0][1]), str(anna[1][1]))
    assert empty.exit_code == ConfigurationError.exit_code
    assert "must leave records on both sides" in empty.output
    result = matched.cli("review", "split", str(master_id), str(record_a), "--json")
    assert result.exit_code == 0, result.output
    new_id = json.loads(result.output)["master_ids"][1]
    assert q(matched, f"SELECT count(*) FROM xref WHERE master_id='{new_id}'") == [(1,)]
    assert q(
        matched, "SELECT status FROM match_candidate WHERE right_master_id IS NOT NULL AND score=0"
    ) == [("rejected",)]
    # undo puts it back
    assert matched.cli("review", "undo").exit_code == 0
    assert q(matched, f"SELECT count(*) FROM xref WHERE master_id='{master_id}'") == [(2,)]
    assert q(matched, "SELECT count(*) FROM match_candidate WHERE score=0") == [(0,)]
