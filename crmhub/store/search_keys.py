"""Search keys of golden records, so the steward app finds a customer without scanning JSON.

A golden record's searchable values are turned into short keys in ``golden_search_key``,
indexed by key. A search is then a prefix range over that index instead of a LIKE over every
golden record's JSON text:

* ``n:<token>``: every word of the name fields, folded the engine's way (NFKC, Devanagari
  transliterated, lower case, accents removed) and also with German transcription, so
  "muller", "mueller" and "Müller" all find "Müller" and "rahul" finds "राहुल";
* ``e:<email>``: each email, trimmed and case-folded;
* ``p:<digits reversed>``: each phone's E.164 digits backwards, so the end of a number typed
  in national form ("06 1234 5678") is a prefix of the stored key.

The keys are a derived copy of ``golden_record.data``: :func:`refresh_search_keys` rewrites
them for the golden records whose values changed (the recompute every writer goes through
calls it), :func:`fill_search_keys` builds them for a whole master (migration 0004).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import (
    Connection,
    ForeignKey,
    Index,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from crmhub.store.bulk import executemany_rows
from crmhub.store.models import Base, GoldenRecord

KEY_LENGTH = 200
# Byte order on every backend: PostgreSQL's default collations would order "e:a.b" by
# language rules, and a prefix range needs plain code point order.
_KEY_TYPE = String(KEY_LENGTH).with_variant(String(KEY_LENGTH, collation="C"), "postgresql")
# Above every code point, so [prefix, prefix + _TOP) holds exactly the keys starting so.
_TOP = chr(0x10FFFF)
NAME_FIELDS = (
    "given_name",
    "name_particle",
    "family_name",
    "full_name",
    "organization_name",
)
MIN_PHONE_DIGITS = 6
_NON_DIGITS = re.compile(r"\D")
_PHONE_QUERY = re.compile(r"[\d\s()+./-]+")


class GoldenSearchKey(Base):
    """One search key of one golden record (see the module docstring for the key forms)."""

    __tablename__ = "golden_search_key"
    __table_args__ = (Index("ix_golden_search_key_key", "key", "golden_id"),)

    golden_id: Mapped[int] = mapped_column(
        ForeignKey("golden_record.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(_KEY_TYPE, primary_key=True)


_TABLE = cast(Table, GoldenSearchKey.__table__)


def _fold(text: str) -> tuple[str | None, str | None]:
    # Imported here: crmhub.store is imported by every command, the engine's normalize
    # package pulls in pandas.
    from crmhub_dedupe.normalize.text import fold, german_fold

    return fold(text), german_fold(text)


def _phone_digits(raw: str, country: str | None) -> str:
    text = raw.strip()
    if not text.startswith("+") and country:
        from crmhub_dedupe.normalize.phones import normalize_phone

        e164 = normalize_phone(text, country)
        if e164:
            text = e164
    return _NON_DIGITS.sub("", text).lstrip("0")


def search_keys(data: Mapping[str, Any]) -> set[str]:
    """The search keys of one golden record's values."""
    keys: set[str] = set()
    for field in NAME_FIELDS:
        value = data.get(field)
        if not isinstance(value, str) or not value.strip():
            continue
        for folded in _fold(value):
            for token in (folded or "").split():
                keys.add(f"n:{token}"[:KEY_LENGTH])
    for email in data.get("emails") or []:
        if isinstance(email, str) and email.strip():
            keys.add(f"e:{email.strip().casefold()}"[:KEY_LENGTH])
    addresses = data.get("addresses") or []
    first = addresses[0] if addresses and isinstance(addresses[0], Mapping) else {}
    country = first.get("country") if isinstance(first.get("country"), str) else None
    for phone in data.get("phones") or []:
        if isinstance(phone, str):
            digits = _phone_digits(phone, country)
            if len(digits) >= MIN_PHONE_DIGITS:
                keys.add(f"p:{digits[::-1]}"[:KEY_LENGTH])
    return keys


def _rows(pairs: Iterable[tuple[int, Mapping[str, Any] | None]]) -> Iterator[dict[str, Any]]:
    for golden_id, data in pairs:
        for key in sorted(search_keys(data or {})):
            yield {"golden_id": golden_id, "key": key}


def refresh_search_keys(session: Session, goldens: Iterable[GoldenRecord]) -> int:
    """Rewrite the search keys of ``goldens`` from their current values; return keys added.

    Call it wherever golden values are written through the ORM (recompute, which writes
    through Core, calls :func:`write_key_sets`). Merged or retired masters keep their
    keys (a search shows active masters only, and an undo brings them back unchanged).
    """
    chosen = [g for g in goldens]
    if not chosen:
        return 0
    session.flush()  # new golden records get their ids
    return write_search_keys(session, [(g.id, g.data) for g in chosen])


def write_search_keys(
    session: Session, goldens: Sequence[tuple[int, Mapping[str, Any] | None]]
) -> int:
    """Bring the search keys of the golden records given as (id, values) up to date; return
    how many keys were added.

    Only keys that changed are deleted or inserted: a rebuilt golden record mostly keeps its
    names, emails and phones, and each key row written costs two B-tree inserts (the primary
    key and the key index).
    """
    return write_key_sets(
        session, {golden_id: search_keys(data or {}) for golden_id, data in goldens}
    )


def write_key_sets(session: Session, wanted: Mapping[int, set[str]]) -> int:
    """:func:`write_search_keys` with the keys already made (golden id -> its search keys)."""
    ids = sorted(wanted)
    stored: dict[int, set[str]] = {}
    for start in range(0, len(ids), 500):
        for golden_id, key in session.execute(
            select(GoldenSearchKey.golden_id, GoldenSearchKey.key).where(
                GoldenSearchKey.golden_id.in_(ids[start : start + 500])
            )
        ):
            stored.setdefault(golden_id, set()).add(key)
    stale = [
        {"stale_id": golden_id, "stale_key": key}
        for golden_id in ids
        for key in sorted(stored.get(golden_id, set()) - wanted[golden_id])
    ]
    fresh = [
        (golden_id, key)
        for golden_id in ids
        for key in sorted(wanted[golden_id] - stored.get(golden_id, set()))
    ]
    # Core, not the ORM's bulk operations: a match run writes tens of thousands of keys, and
    # the ORM path costs more per row than building the keys.
    connection = session.connection()
    if stale:
        connection.execute(
            delete(_TABLE).where(
                _TABLE.c.golden_id == bindparam("stale_id"), _TABLE.c.key == bindparam("stale_key")
            ),
            stale,
        )
    # tuples bound straight to the driver: SQLAlchemy's per-row parameter handling cost more
    # than SQLite's inserting of the tens of thousands of keys a match run adds
    executemany_rows(session, insert(_TABLE), ("golden_id", "key"), fresh)
    return len(fresh)


def fill_search_keys(connection: Connection, batch: int = 5000) -> int:
    """(Re)build the search keys of every golden record; return the keys written.

    Runs on a plain connection so the migration can call it; reads the golden records in id
    order, a batch at a time (memory stays flat on a master of millions).
    """
    connection.execute(delete(_TABLE))
    written, last = 0, 0
    while True:
        chunk = connection.execute(
            select(GoldenRecord.id, GoldenRecord.data)
            .where(GoldenRecord.id > last)
            .order_by(GoldenRecord.id)
            .limit(batch)
        ).all()
        if not chunk:
            return written
        rows = list(_rows((row.id, row.data) for row in chunk))
        if rows:
            connection.execute(insert(_TABLE), rows)
        written += len(rows)
        last = chunk[-1].id


def _prefix(key: str) -> Any:
    return and_(GoldenSearchKey.key >= key, GoldenSearchKey.key < key + _TOP)


def _lookup(session: Session, terms: list[list[str]], limit: int) -> list[int]:
    """Active golden ids having, for every term, a key starting with one of its spellings.

    The rarest term drives (in index order: closest key first, then oldest record); the
    others are probed per row through the primary key (golden_id, key).
    """
    if len(terms) > 1:
        probe = 10_000

        def spread(term: list[str]) -> int:
            total = 0
            for prefix in term:
                capped = select(GoldenSearchKey.golden_id).where(_prefix(prefix)).limit(probe)
                total += session.scalar(select(func.count()).select_from(capped.subquery())) or 0
            return total

        terms = sorted(terms, key=spread)
    driver, *others = terms
    found: dict[int, None] = {}
    for prefix in driver:
        # EXISTS, not a join: a join lets SQLite drive from golden_record's status index
        # (every active master) instead of the key range.
        active = exists().where(
            GoldenRecord.id == GoldenSearchKey.golden_id, GoldenRecord.status == "active"
        )
        query = select(GoldenSearchKey.golden_id).where(_prefix(prefix), active)
        for other in others:
            k = aliased(GoldenSearchKey)
            query = query.where(
                exists().where(
                    k.golden_id == GoldenSearchKey.golden_id,
                    or_(*(and_(k.key >= p, k.key < p + _TOP) for p in other)),
                )
            )
        # A record can hold several keys with one prefix (both spellings of a name, given
        # and family name alike): read a few rows more than asked, keep first sightings.
        rows = session.scalars(
            query.order_by(GoldenSearchKey.key, GoldenSearchKey.golden_id).limit(limit * 4)
        )
        for golden_id in rows:
            found.setdefault(golden_id)
            if len(found) == limit:
                return list(found)
    return list(found)


def search_goldens(session: Session, query: str, *, limit: int = 50) -> list[int]:
    """Ids of active golden records matching ``query`` (email, phone or name), best first.

    An email (has "@") matches by its start; a phone (digits and separators, at least six
    digits) by its ending; anything else by name words: every word must start a word of the
    name, spelled as typed or with German transcription ("Müller" also finds "Mueller"), and
    a single word also finds emails starting with it.
    """
    text = query.strip()
    if not text:
        return []
    if "@" in text:
        return _lookup(session, [[f"e:{text.casefold()}"]], limit)
    digits = _NON_DIGITS.sub("", text).lstrip("0")
    if _PHONE_QUERY.fullmatch(text) and len(digits) >= MIN_PHONE_DIGITS:
        return _lookup(session, [[f"p:{digits[::-1]}"]], limit)
    plain, german = ((f or "").split() for f in _fold(text))
    if len(german) != len(plain):  # cannot happen with today's folds; stay correct anyway
        german = plain
    terms = [sorted({f"n:{a}", f"n:{b}"}) for a, b in zip(plain, german, strict=True)]
    found = _lookup(session, terms, limit) if terms else []
    if len(terms) <= 1 and len(found) < limit and " " not in text:
        for golden_id in _lookup(session, [[f"e:{text.casefold()}"]], limit):
            if golden_id not in found:
                found.append(golden_id)
    return found[:limit]
