"""Golden record search keys and the candidate queue order, on SQLite and PostgreSQL.

The search must find what a LIKE over the JSON found (and accents/scripts it did not), only
active masters, and follow every write; the queue's two-run merge must give exactly the
order of sorting every candidate by (|score - 0.5|, id) or (-score, id).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session

from crmhub.match.recompute import recompute
from crmhub.steward.queries import queue
from crmhub.store import open_master
from crmhub.store.engine import Master, alembic_config
from crmhub.store.models import GoldenRecord, MatchCandidate, SourceRecord, Xref
from crmhub.store.search_keys import (
    GoldenSearchKey,
    fill_search_keys,
    refresh_search_keys,
    search_goldens,
    search_keys,
)


@pytest.fixture(params=["sqlite", "postgres"])
def master(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Master]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'master.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    m = open_master(url)
    try:
        yield m
    finally:
        m.dispose()


PEOPLE: list[dict[str, Any]] = [
    {
        "given_name": "Jürgen",
        "family_name": "Müller",
        "emails": ["JM@Example.de"],
        "phones": ["+4930123456789"],
    },
    {
        "given_name": "राहुल",
        "family_name": "शर्मा",
        "emails": ["rahul@example.in"],
        "phones": ["09812345678"],
        "addresses": [{"city": "Pune", "country": "IN"}],
    },
    {
        "given_name": "Anna",
        "name_particle": "van der",
        "family_name": "Berg",
        "emails": ["anna@example.nl"],
        "phones": ["06 1234 5678"],
        "addresses": [{"city": "Utrecht", "country": "NL"}],
    },
    {"organization_name": "Müller Bau GmbH", "emails": ["info@mueller-bau.de"]},
    {"given_name": "Anna", "family_name": "Mueller", "emails": ["anna.m@example.de"]},
]


def _add(s: Session, data: dict[str, Any], n: int, status: str = "active") -> GoldenRecord:
    golden = GoldenRecord(master_id=f"M{n:015X}", data=data, status=status, version=1)
    s.add(golden)
    return golden


def _names(s: Session, query: str) -> list[str]:
    ids = search_goldens(s, query)
    by_id = {g.id: g for g in s.scalars(select(GoldenRecord).where(GoldenRecord.id.in_(ids)))}
    out = []
    for i in ids:
        d = by_id[i].data
        out.append(d.get("organization_name") or f"{d.get('given_name')} {d.get('family_name')}")
    return out


def test_search_by_name_email_and_phone(master: Master) -> None:
    with master.session() as s:
        goldens = [_add(s, d, n) for n, d in enumerate(PEOPLE, start=1)]
        refresh_search_keys(s, goldens)
    with master.session() as s:
        muller = {"Jürgen Müller", "Müller Bau GmbH", "Anna Mueller"}
        for spelling in ("Müller", "MUELLER", "mül", "Muel"):
            assert set(_names(s, spelling)) == muller, spelling
        assert set(_names(s, "muller")) == {"Jürgen Müller", "Müller Bau GmbH"}
        assert _names(s, "jurgen muller") == ["Jürgen Müller"]
        assert _names(s, "anna mue") == ["Anna Mueller"], "every word must match"
        assert _names(s, "rahul sharma") == ["राहुल शर्मा"], "Devanagari transliterated"
        assert _names(s, "शर्मा") == ["राहुल शर्मा"]
        assert _names(s, "van der berg") == ["Anna Berg"]
        assert _names(s, "jm@example.DE") == ["Jürgen Müller"], "emails case-folded"
        assert _names(s, "info@") == ["Müller Bau GmbH"], "an email by its start"
        assert _names(s, "rahul@") == ["राहुल शर्मा"]
        # phones: E.164, national form (trunk 0) and the last digits all meet
        assert _names(s, "+49 30 123456789") == ["Jürgen Müller"]
        assert _names(s, "030 123456789") == ["Jürgen Müller"]
        assert _names(s, "0612345678") == ["Anna Berg"], "stored '06 1234 5678' (NL)"
        assert _names(s, "+31 6 12345678") == ["Anna Berg"]
        assert _names(s, "+91 98123 45678") == ["राहुल शर्मा"]
        assert set(_names(s, "345678")) == {"Anna Berg", "राहुल शर्मा"}
        assert _names(s, "12345") == [], "fewer than six digits is no phone search"
        assert _names(s, "schmidt") == [] and _names(s, "") == []


def test_only_active_masters_and_limit(master: Master) -> None:
    with master.session() as s:
        goldens = [
            _add(s, {"given_name": "Jan", "family_name": f"Jansen{n % 3}"}, n) for n in range(120)
        ]
        goldens.append(_add(s, {"given_name": "Jan", "family_name": "Jansen0"}, 500, "merged"))
        goldens.append(_add(s, {"given_name": "Jan", "family_name": "Jansen0"}, 501, "retired"))
        refresh_search_keys(s, goldens)
    with master.session() as s:
        assert len(search_goldens(s, "jan", limit=50)) == 50
        found = search_goldens(s, "jan jansen0", limit=100)
        assert len(found) == 40, "merged and retired masters are not offered"
        assert len(set(found)) == len(found)


def test_keys_follow_recompute_and_fill_matches_refresh(master: Master) -> None:
    with master.session() as s:
        record = SourceRecord(
            source="erp",
            stream="customers",
            source_key="1",
            entity="customer",
            payload={},
            canonical={"given_name": "Piet", "family_name": "Pietersen"},
            content_hash="x",
        )
        s.add(record)
        s.add(GoldenRecord(master_id="M000000000000001", version=0, status="active"))
        s.flush()
        s.add(Xref(source_record_id=record.id, master_id="M000000000000001", method="auto"))
        s.flush()
        recompute(s, ["M000000000000001"], {"erp": 1})
    with master.session() as s:
        assert len(search_goldens(s, "pietersen")) == 1
        record = s.scalars(select(SourceRecord)).one()
        record.canonical = {"given_name": "Piet", "family_name": "Bakker"}
        s.flush()
        recompute(s, ["M000000000000001"], {"erp": 1})
    with master.session() as s:
        assert search_goldens(s, "pietersen") == [], "the old name's key is gone"
        assert len(search_goldens(s, "bakker")) == 1
        before = sorted(s.execute(select(GoldenSearchKey.golden_id, GoldenSearchKey.key)).all())
    with master.engine.begin() as connection:
        assert fill_search_keys(connection, batch=1) == len(before)
    with master.session() as s:
        after = sorted(s.execute(select(GoldenSearchKey.golden_id, GoldenSearchKey.key)).all())
        assert after == before


def test_refresh_writes_only_the_keys_that_changed(master: Master) -> None:
    with master.session() as s:
        goldens = [_add(s, dict(d), n) for n, d in enumerate(PEOPLE, start=1)]
        written = refresh_search_keys(s, goldens)
        assert written == len(s.execute(select(GoldenSearchKey.key)).all())
        assert refresh_search_keys(s, goldens) == 0, "unchanged values: nothing rewritten"
        berg = goldens[2]
        berg.data = {**berg.data, "family_name": "Bergman", "emails": ["anna@example.nl", "a@b.nl"]}
        # the new family name and the new email; "n:berg" goes, "n:bergman" comes
        assert refresh_search_keys(s, goldens) == 2
        assert refresh_search_keys(s, goldens) == 0
        keys = set(s.execute(select(GoldenSearchKey.golden_id, GoldenSearchKey.key)).all())
        assert (berg.id, "n:bergman") in keys and (berg.id, "n:berg") not in keys
        assert (berg.id, "e:a@b.nl") in keys and (berg.id, "e:anna@example.nl") in keys
    with master.engine.begin() as connection:
        assert fill_search_keys(connection) == len(keys)
    with master.session() as s:
        assert set(s.execute(select(GoldenSearchKey.golden_id, GoldenSearchKey.key)).all()) == keys


def test_migration_fills_keys_of_an_existing_master(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = open_master(url, upgrade=False)
    with old.engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.exec_driver_sql(
            "INSERT INTO golden_record (master_id, kind, data, provenance, overrides, flags, "
            "version, status, created_at, updated_at) VALUES ('M000000000000007', 'person', "
            """'{"given_name": "Jürgen", "family_name": "Müller"}', '{}', '{}', '[]', 1, """
            "'active', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO source_record (id, source, stream, source_key, payload, content_hash, "
            "status, match_state, deleted, first_seen, last_seen) VALUES "
            "(1, 'erp', 'c', '1', '{}', 'h', 'ok', 'matched', 0, '2026-01-01', '2026-01-01'), "
            "(2, 'shop', 'c', '2', '{}', 'h', 'ok', 'matched', 0, '2026-01-01', '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO match_candidate (left_record_id, right_record_id, score, comparison, "
            "status, version, created_at) VALUES (1, 2, 0.6, '[]', 'pending', 1, '2026-01-01')"
        )
    old.dispose()
    master = open_master(url)
    try:
        with master.session() as s:
            assert len(search_goldens(s, "muller")) == 1
            candidate = s.scalars(select(MatchCandidate)).one()
            assert (candidate.left_source, candidate.right_source) == ("erp", "shop")
            assert queue(s, source="shop")[0] == 1 and queue(s, source="erp")[0] == 1
    finally:
        master.dispose()


def test_search_keys_of_odd_values() -> None:
    assert search_keys({}) == set()
    keys = search_keys(
        {"given_name": "  ", "family_name": None, "emails": [None, " "], "phones": ["12", 5]}
    )
    assert keys == set()
    assert search_keys({"full_name": "O'Brien-Smith"}) == {"n:obrien", "n:smith"}


def _expected(rows: list[dict[str, Any]], sort: str) -> list[int]:
    if sort == "uncertainty":
        return [r["id"] for r in sorted(rows, key=lambda r: (abs(r["score"] - 0.5), r["id"]))]
    return [r["id"] for r in sorted(rows, key=lambda r: (-r["score"], r["id"]))]


def test_queue_order_filters_and_counts_match_a_full_sort(master: Master) -> None:
    seed = random.randrange(1_000_000)
    rnd = random.Random(seed)
    sources = ["erp", "shop", "legacy"]
    with master.session() as s:
        records = [
            SourceRecord(
                source=sources[n % 3],
                stream="customers",
                source_key=str(n),
                entity="customer",
                payload={},
                canonical={"given_name": f"P{n}"},
                content_hash="x",
            )
            for n in range(60)
        ]
        s.add_all(records)
        s.flush()
        pairs = rnd.sample([(a, b) for a in range(60) for b in range(a + 1, 60)], 400)
        for a, b in pairs:
            # two decimals: many ties, exact 0.5 and equal distances on both sides
            s.add(
                MatchCandidate(
                    left_record_id=records[a].id,
                    right_record_id=records[b].id,
                    score=round(rnd.random(), 2),
                    comparison=[],
                    status=rnd.choice(["pending", "pending", "pending", "approved", "rejected"]),
                )
            )
        s.flush()
        source_of = {r.id: r.source for r in records}
        rows = [
            {
                "id": c.id,
                "score": c.score,
                "status": c.status,
                "sources": {source_of[c.left_record_id], source_of[c.right_record_id]},
            }
            for c in s.scalars(select(MatchCandidate))
        ]
    cases: list[dict[str, Any]] = [
        {},
        {"status": "all"},
        {"status": "approved"},
        {"source": "legacy"},
        {"min_score": 0.3, "max_score": 0.45},
        {"min_score": 0.5},
        {"max_score": 0.5, "source": "shop", "status": "all"},
    ]
    with master.session() as s:
        for filters in cases:
            for sort in ("uncertainty", "score"):
                status = filters.get("status", "pending")
                chosen = [
                    r
                    for r in rows
                    if (status == "all" or r["status"] == status)
                    and (not filters.get("source") or filters["source"] in r["sources"])
                    and r["score"] >= filters.get("min_score", -1)
                    and r["score"] <= filters.get("max_score", 2)
                ]
                expected = _expected(chosen, sort)
                for offset in (0, 7, 50, len(expected) - 3):
                    total, page = queue(s, sort=sort, limit=10, offset=max(0, offset), **filters)
                    assert total == len(expected), (seed, filters)
                    got = [c["id"] for c in page]
                    assert got == expected[max(0, offset) : max(0, offset) + 10], (
                        f"seed {seed}",
                        filters,
                        sort,
                        offset,
                    )


def test_search_follows_steward_decisions(client: Any) -> None:
    from steward_client import login

    csrf = login(client, "sanne")

    def masters(q: str) -> list[str]:
        return [r["master_id"] for r in client.get(f"/api/search?q={q}").json()["results"]]

    piet = masters("pietersen")
    jan = masters("jan jansen")
    assert len(piet) == 1 and len(jan) == 1
    assert masters("muller") == masters("Mueller") and len(masters("muller")) == 1
    assert masters("rahul") == masters("शर्मा") != []
    approved = client.post("/api/candidates/1/decide", data={"action": "approve", "csrf": csrf})
    assert approved.status_code == 200
    survivor = approved.json()["master_ids"][0]
    assert piet[0] not in masters("pietersen"), "a merged-away master is not offered"
    assert set(masters("pietersen")) <= {survivor}
    assert client.post("/api/undo", headers={"x-csrf-token": csrf}).status_code == 200
    assert masters("pietersen") == piet, "undo brings the master back to the search"
    jm = masters("jm@example.de")[0]
    members = [m["record_id"] for m in client.get(f"/api/golden/{jm}").json()["members"]]
    split = client.post(f"/api/golden/{jm}/split", json={"record_ids": members[1:], "csrf": csrf})
    new_id = split.json()["master_ids"][1]
    assert sorted(masters("jürgen müller")) == sorted([jm, new_id]), "the split-off master too"
