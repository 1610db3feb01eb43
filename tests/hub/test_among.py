"""crmhub.match.among: one IN condition over many values, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from crmhub.match.among import among, among_chunks
from crmhub.store import open_master
from crmhub.store.models import GoldenRecord, SourceRecord, Xref


def test_among_finds_exactly_the_given_ids_and_master_ids(master_url: str) -> None:
    master = open_master(master_url)
    try:
        with master.session() as s:
            for n in range(30):
                s.add(
                    SourceRecord(
                        source="crm",
                        stream="customers",
                        payload={"id": n},
                        source_key=f"k{n}",
                        entity="customer",
                        content_hash=str(n),
                        canonical={"full_name": f"N {n}"},
                        status="ok",
                    )
                )
            s.flush()
            ids = sorted(s.scalars(select(SourceRecord.id)))
            for k, rid in enumerate(ids):
                s.add(Xref(source_record_id=rid, master_id=f"M{k % 7:03d}", method="auto"))
                if k < 7:
                    s.add(GoldenRecord(master_id=f"M{k:03d}", data={}, provenance={}))
            s.flush()
            wanted = [*ids[::3], max(ids) + 1000]  # one id nobody has
            got = sorted(
                s.scalars(select(SourceRecord.id).where(among(s, SourceRecord.id, wanted)))
            )
            assert got == ids[::3]
            masters = ["M001", "M004", "M999", "M001'; --"]
            rows = s.execute(
                select(Xref.source_record_id).where(among(s, Xref.master_id, masters))
            ).all()
            assert sorted(r[0] for r in rows) == [r for k, r in enumerate(ids) if k % 7 in (1, 4)]
            assert (
                list(s.scalars(select(SourceRecord.id).where(among(s, SourceRecord.id, [])))) == []
            )
            # an empty list on a text column: nothing, not a type error (PostgreSQL once got
            # a bigint array for it, as every value of no values is an int)
            assert list(s.scalars(select(Xref.id).where(among(s, Xref.master_id, [])))) == []
            goldens = s.scalars(
                select(GoldenRecord.master_id).where(among(s, GoldenRecord.master_id, masters))
            )
            assert sorted(goldens) == ["M001", "M004"]
            chunks = list(among_chunks(s, list(range(45_000))))
            assert [len(c) for c in chunks] == [20_000, 20_000, 5_000]
    finally:
        master.dispose()
