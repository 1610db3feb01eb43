"""The hub's recording of a target's results into the publish ledger, rule by rule, on the
embedded SQLite master and on a real PostgreSQL; and the reading of the results file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crmhub.publish.ledger import Outcome, record_outcomes
from crmhub.publish.results import ResultsTail
from crmhub.store import Master, open_master
from crmhub.store.models import PublishRecord

T1 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
T2 = datetime(2026, 12, 2, 11, 30, 0, tzinfo=UTC)
T3 = datetime(2026, 12, 3, 12, 45, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def master(request: pytest.FixtureRequest, tmp_path: Path) -> Master:
    if request.param == "sqlite":
        return open_master(f"sqlite:///{tmp_path / 'master.db'}")
    url: str = request.getfixturevalue("postgres_url")
    return open_master(url)


def _outcome(
    key: str,
    action: str,
    at: datetime,
    *,
    remote_id: str | None = None,
    content_hash: str | None = None,
    error: str | None = None,
    stream: str = "customers",
    disposition: str | None = "live",
) -> Outcome:
    return Outcome(stream, key, action, remote_id, content_hash, error, disposition, at)


def _ledger(master: Master, target: str = "crm") -> dict[tuple[str, str], dict[str, Any]]:
    columns = (
        "remote_id",
        "content_hash",
        "status",
        "action",
        "disposition",
        "error",
        "attempts",
        "pushed_at",
        "run_id",
    )
    with master.session() as s:
        rows = s.scalars(select(PublishRecord).where(PublishRecord.target == target)).all()
        return {(r.stream, r.record_key): {c: getattr(r, c) for c in columns} for r in rows}


def test_each_rule_of_the_ledger_across_three_runs(master: Master) -> None:
    with master.session() as s:
        counts = record_outcomes(
            s,
            "crm",
            [
                _outcome("A", "create", T1, remote_id="r-a", content_hash="h-a1"),
                _outcome("B", "error", T1, content_hash="h-b1", error="too long"),
                _outcome("C", "error", T1, remote_id="r-c", content_hash="h-c1", error="401"),
                # the last outcome of a key wins
                _outcome("D", "error", T1, content_hash="h-d1", error="first try"),
                _outcome("D", "update", T1, remote_id="r-d", content_hash="h-d1"),
                _outcome("O-1", "create", T1, remote_id="r-o", stream="orders", content_hash="h-o"),
            ],
            1,
        )
    assert counts == {"accepted": 3, "failed": 2}
    first = _ledger(master)
    assert first[("customers", "A")] == {
        "remote_id": "r-a",
        "content_hash": "h-a1",
        "status": "accepted",
        "action": "create",
        "disposition": "live",
        "error": None,
        "attempts": 1,
        "pushed_at": T1,
        "run_id": 1,
    }
    # a new record that failed: no hash accepted, no disposition, on the retry list
    assert first[("customers", "B")] == {
        "remote_id": None,
        "content_hash": None,
        "status": "failed",
        "action": "error",
        "disposition": None,
        "error": "too long",
        "attempts": 1,
        "pushed_at": T1,
        "run_id": 1,
    }
    assert first[("customers", "C")]["remote_id"] == "r-c"
    assert first[("customers", "C")]["content_hash"] is None
    assert first[("customers", "D")]["status"] == "accepted"
    assert first[("customers", "D")]["action"] == "update"
    assert first[("customers", "D")]["error"] is None
    assert first[("orders", "O-1")]["remote_id"] == "r-o"

    with master.session() as s:
        counts = record_outcomes(
            s,
            "crm",
            [
                # accepted before, fails now: the accepted hash and remote id stay
                _outcome("A", "error", T2, remote_id="r-other", content_hash="h-a2", error="x"),
                # failed before without a remote id: the first one the CRM gives is kept
                _outcome("B", "error", T2, remote_id="r-b", content_hash="h-b2", error="again"),
                # failed before with a remote id: it is not replaced
                _outcome("C", "error", T2, remote_id="r-c2", content_hash="h-c2", error="401"),
                _outcome("D", "update", T2, remote_id="r-d", content_hash="h-d2"),
            ],
            2,
        )
    assert counts == {"accepted": 1, "failed": 3}
    second = _ledger(master)
    assert second[("customers", "A")] == {
        "remote_id": "r-a",
        "content_hash": "h-a1",
        "status": "failed",
        "action": "error",
        "disposition": "live",
        "error": "x",
        "attempts": 1,
        "pushed_at": T2,
        "run_id": 2,
    }
    assert second[("customers", "B")]["remote_id"] == "r-b"
    assert second[("customers", "B")]["attempts"] == 2
    assert second[("customers", "B")]["content_hash"] is None
    assert second[("customers", "C")]["remote_id"] == "r-c"
    assert second[("customers", "C")]["attempts"] == 2
    assert second[("customers", "C")]["error"] == "401"
    assert second[("customers", "D")]["content_hash"] == "h-d2"
    assert second[("customers", "D")]["attempts"] == 1
    assert second[("orders", "O-1")] == first[("orders", "O-1")]

    with master.session() as s:
        counts = record_outcomes(
            s,
            "crm",
            [
                # accepted after two failures: counted as the third push since the last
                # acceptance, error cleared, the new hash and remote id stored
                _outcome("B", "create", T3, remote_id="r-b", content_hash="h-b3"),
                _outcome(
                    "A", "archive", T3, remote_id="r-a", content_hash="h-a3", disposition="merged"
                ),
            ],
            3,
        )
    assert counts == {"accepted": 2, "failed": 0}
    third = _ledger(master)
    assert third[("customers", "B")] == {
        "remote_id": "r-b",
        "content_hash": "h-b3",
        "status": "accepted",
        "action": "create",
        "disposition": "live",
        "error": None,
        "attempts": 3,
        "pushed_at": T3,
        "run_id": 3,
    }
    assert third[("customers", "A")]["attempts"] == 2
    assert third[("customers", "A")]["disposition"] == "merged"
    assert third[("customers", "C")] == second[("customers", "C")]
    # another target's ledger is its own
    assert _ledger(master, "other") == {}


def test_results_tail_reads_complete_lines_while_the_target_runs(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_bytes(b'{"stream": "customers", "key": "OLD", "action": "create"}\n')
    tail = ResultsTail(results, results.stat().st_size)
    line = (
        b'{"stream": "customers", "key": "M1", "action": "create", "remote_id": 17, '
        b'"content_hash": "h1", "error": null, "at": "2026-12-01T10:00:00Z", '
        b'"disposition": "live"}\n'
    )
    with results.open("ab") as fh:
        fh.write(line + b'{"stream": "customers", "key": "M2", "act')
    (first,) = tail.read(final=False)  # the line being written is left for later
    assert first == Outcome("customers", "M1", "create", "17", "h1", None, "live", T1)
    with results.open("ab") as fh:
        fh.write(b'ion": "error", "error": "bad", "at": "2026-12-02T11:30:00"}\n{"stream": "cu')
    (second,) = tail.read(final=False)
    assert (second.key, second.action, second.error, second.at) == ("M2", "error", "bad", T2)
    assert second.remote_id is None and second.disposition is None
    # the target stopped: a last line cut short is unreadable (its record goes out again)
    assert tail.read(final=True) == []
    assert tail.unreadable == 1


def test_results_tail_reads_what_orjson_refuses_and_counts_broken_lines(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_bytes(
        b'{"stream": "customers", "key": "M\xe9", "action": "create", "at": "nonsense"}\n'
        b"[1, 2]\n"
        b'{"stream": "customers", "action": "create"}\n'
        b"\n"
        b'{"stream": "orders", "key": "O1", "action": "skip", "at": "2026-12-03T12:45:00Z"}'
    )
    tail = ResultsTail(results, 0)
    before = datetime.now(UTC)
    odd, order = tail.read(final=True)
    # not UTF-8: read by the standard module with a replacement character; a time stamp
    # that is no time: now
    assert (odd.key, odd.action) == ("M\ufffd", "create")
    assert odd.at >= before
    assert (order.stream, order.key, order.action, order.at) == ("orders", "O1", "skip", T3)
    assert tail.unreadable == 2  # not an object; no key
