"""Bulk inserts of source records: multi-row SQLite statements, UTF-8 texts, empty = none."""

from __future__ import annotations

import json
import sqlite3

import pytest

from crmhub.ingest.writer import EncodedBatch
from crmhub.store import open_master
from crmhub.store.source_records import (
    _SQLITE_ROWS_PER_INSERT,
    BatchCounts,
    RecordColumns,
    RecordRow,
    write_batch,
)

# Two full multi-row statements and a shorter rest.
COUNT = 2 * _SQLITE_ROWS_PER_INSERT + 37

STORED = (
    "SELECT source_key, entity, payload, canonical, content_hash, mapping_version, status, "
    "match_state, deleted, run_id, last_run_id, typeof(payload), typeof(canonical), "
    "typeof(entity) FROM source_record ORDER BY id"
)


def _batch(count: int, start: int = 0, version: str = "a") -> EncodedBatch:
    """Records as the hub encodes them; every seventh has no canonical form (quarantined)."""
    payloads, canonicals, statuses, reasons = [], [], [], []
    for i in range(start, start + count):
        payloads.append(json.dumps({"id": i, "name": f"Jürgen {i} {version}"}, sort_keys=True))
        if i % 7 == 3:
            canonicals.append("")
            statuses.append("quarantined")
            reasons.append(json.dumps([{"code": "required", "field": "x", "message": "x"}]))
        else:
            canonicals.append(json.dumps({"family_name": f"Müller {i}"}))
            statuses.append("ok")
            reasons.append("")
    return EncodedBatch(
        "customer",
        [str(i) for i in range(start, start + count)],
        "\n".join(payloads).encode(),
        "\n".join(canonicals).encode(),
        statuses,
        list(reasons),
    )


def _write_counts(
    url: str, rows: list[RecordRow] | RecordColumns, *, optimistic: bool = False
) -> BatchCounts:
    """What write_batch reports for one batch written into the master at ``url``."""
    master = open_master(url)
    try:
        with master.session() as s:
            return write_batch(
                s.connection(),
                source="erp",
                stream="customers",
                records=rows,
                run_id=1,
                mapping_version="v1",
                optimistic=optimistic,
            )
    finally:
        master.dispose()


def _write(
    url: str, rows: list[RecordRow] | RecordColumns, *, optimistic: bool = False
) -> tuple[int, int, int]:
    counts = _write_counts(url, rows, optimistic=optimistic)
    return counts.new, counts.changed, counts.unchanged


def _stored(path: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(STORED).fetchall()


@pytest.mark.parametrize("optimistic", [False, True], ids=["looked-up", "optimistic"])
def test_utf8_rows_store_the_same_text_as_str_rows(tmp_path, optimistic: bool) -> None:
    batch = _batch(COUNT)
    utf8_columns = batch.rows(sqlite=True)
    utf8_rows = utf8_columns.rows()
    str_rows = batch.rows().rows()
    assert isinstance(utf8_rows[0][1], bytearray) and isinstance(str_rows[0][1], str)
    assert str_rows[3][4] is None and utf8_rows[3][4] == bytearray()
    written = (("columns", utf8_columns), ("utf8", utf8_rows), ("str", str_rows))
    for name, rows in written:
        counts = _write(f"sqlite:///{tmp_path / name}.db", rows, optimistic=optimistic)
        assert counts == (COUNT, 0, 0)
    columns, utf8 = _stored(str(tmp_path / "columns.db")), _stored(str(tmp_path / "utf8.db"))
    text = _stored(str(tmp_path / "str.db"))
    assert columns == utf8 == text and len(utf8) == COUNT
    assert {row[-3:] for row in utf8} == {("text", "text", "text"), ("text", "null", "text")}
    first = utf8[0]
    assert json.loads(str(first[2])) == {"id": 0, "name": "Jürgen 0 a"}
    assert json.loads(str(first[3])) == {"family_name": "Müller 0"}
    assert [row[3] for row in utf8].count(None) == len([i for i in range(COUNT) if i % 7 == 3])
    quarantined = "SELECT source_key, payload, typeof(payload) FROM quarantine ORDER BY id"
    found = []
    for name, _rows in written:
        with sqlite3.connect(tmp_path / f"{name}.db") as conn:
            found.append(conn.execute(quarantined).fetchall())
    assert found[0] == found[1] == found[2] and len(found[0]) == len(
        [i for i in range(COUNT) if i % 7 == 3]
    )
    assert {row[2] for row in found[0]} == {"text"}


def test_an_empty_entity_is_stored_as_null(tmp_path) -> None:
    batch = _batch(3)
    batch.entity = None  # an unmapped stream
    rows = batch.rows(sqlite=True)
    assert set(rows.entities) == {""}
    _write(f"sqlite:///{tmp_path / 'm.db'}", rows)
    assert {row[1] for row in _stored(str(tmp_path / "m.db"))} == {None}


def test_optimistic_insert_undoes_whole_chunks_when_a_later_key_exists(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    # One known key in the second multi-row statement of the next batch.
    known = _SQLITE_ROWS_PER_INSERT + 10
    assert _write(url, _batch(1, known).rows(sqlite=True)) == (1, 0, 0)
    rows = _batch(COUNT, version="b").rows(sqlite=True)
    assert _write(url, rows, optimistic=True) == (COUNT - 1, 1, 0)
    stored = _stored(str(tmp_path / "m.db"))
    assert len(stored) == COUNT and len({row[0] for row in stored}) == COUNT
    by_key = {row[0]: row for row in stored}
    assert json.loads(str(by_key[str(known)][2]))["name"] == f"Jürgen {known} b"
    # Unchanged on a second pass: the hashes of the UTF-8 rows are the hashes of the texts.
    assert _write(url, _batch(COUNT, version="b").rows(sqlite=True)) == (0, 0, COUNT)


def test_changed_rows_update_with_utf8_texts(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    _write(url, _batch(20).rows(sqlite=True))
    changed = _batch(20, version="c").rows(sqlite=True)
    assert _write(url, changed) == (0, 20, 0)
    stored = _stored(str(tmp_path / "m.db"))
    assert {row[-3:] for row in stored} == {("text", "text", "text"), ("text", "null", "text")}
    assert json.loads(str(stored[5][2]))["name"] == "Jürgen 5 c"
    assert stored[3][3] is None


def test_rows_of_different_entities_keep_their_own(tmp_path) -> None:
    rows = _batch(_SQLITE_ROWS_PER_INSERT + 5).rows(sqlite=True).rows()
    mixed = [(*row[:3], "order" if i % 2 else "", *row[4:]) for i, row in enumerate(rows)]
    _write(f"sqlite:///{tmp_path / 'm.db'}", mixed)
    stored = _stored(str(tmp_path / "m.db"))
    assert [row[1] for row in stored] == [("order" if i % 2 else None) for i in range(len(rows))]
    assert [row[0] for row in stored] == [row[0] for row in rows]


def test_columns_with_a_repeated_key_keep_its_last_record(tmp_path) -> None:
    first, again = _batch(4).rows(sqlite=True), _batch(1, 2, version="later").rows(sqlite=True)
    columns = RecordColumns(*(list(a) + list(b) for a, b in zip(first, again, strict=True)))
    counts = _write_counts(f"sqlite:///{tmp_path / 'm.db'}", columns, optimistic=True)
    assert (counts.new, counts.repeated_in_batch) == (4, 1)
    stored = {row[0]: json.loads(str(row[2]))["name"] for row in _stored(str(tmp_path / "m.db"))}
    assert stored == {
        "0": "Jürgen 0 a",
        "1": "Jürgen 1 a",
        "2": "Jürgen 2 later",
        "3": "Jürgen 3 a",
    }
