"""The match index: each matched source record's normalized form and blocking keys.

An incremental ``crmhub match`` must not load and normalize the whole master to match a few
new records. So the match stage keeps, per customer source record it has matched:

* ``match_form``: the engine's normalized matching form (one row of the normalized frame,
  as a JSON array in the column order the index was built with);
* ``match_key``: one row per blocking rule and key value (multi-valued fields give one row
  per value; the sorted-neighbourhood rule keeps its sort key), indexed by (rule, key), so
  the candidates of a new record are found by an indexed join instead of a full scan;
* ``match_key_recent``: the same rows for records indexed by incremental runs since the
  last rebuild or merge. A run's new keys land all over ``match_key``'s (rule, key) B-tree:
  at a million records the ~85,000 keys of 10,000 new records dirtied nearly every leaf
  page of it (18,000 of the 31,000 pages the run wrote). In a small table they dirty a few
  hundred; they move into ``match_key`` in one sorted pass when the recent table grows past
  an eighth of it (:func:`crmhub.match.index.settle_recent`), so that cost is paid once per
  many runs instead of every run. Readers look in both tables;
* ``match_term``: how many indexed records hold each value of the term-frequency columns,
  so that scores over a few candidates weigh a common surname as the whole master would.

The index is a derived copy: the match stage rewrites it in the transaction that writes the
xref, and rebuilds it from the source records when the engine's settings or the crmhub
release changed (its fingerprint is kept in ``state``) or with ``crmhub match --full``.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crmhub.store.models import Base, SourceRecord, Xref

KEY_LENGTH = 300
# Code point order on every backend: the sorted-neighbourhood rule asks for the keys next
# to a value, and the engine sorts them by code point (PostgreSQL's default collations do not).
KEY_TYPE = String(KEY_LENGTH).with_variant(String(KEY_LENGTH, collation="C"), "postgresql")


class MatchForm(Base):
    """The normalized matching form of one matched customer source record."""

    __tablename__ = "match_form"

    source_record_id: Mapped[int] = mapped_column(
        ForeignKey("source_record.id", ondelete="CASCADE"), primary_key=True
    )
    form: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(Integer)


class _BlockingKey:
    """The columns of a blocking key row (rule = position in the settings)."""

    rule: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    key: Mapped[str] = mapped_column(KEY_TYPE, primary_key=True)
    source_record_id: Mapped[int] = mapped_column(
        ForeignKey("source_record.id", ondelete="CASCADE"), primary_key=True
    )


class MatchKey(_BlockingKey, Base):
    """One blocking key of one matched source record."""

    __tablename__ = "match_key"
    __table_args__ = (Index("ix_match_key_source_record_id", "source_record_id"),)


class MatchKeyRecent(_BlockingKey, Base):
    """A blocking key written by an incremental run, not yet merged into ``match_key``."""

    __tablename__ = "match_key_recent"
    __table_args__ = (Index("ix_match_key_recent_source_record_id", "source_record_id"),)


class MatchTerm(Base):
    """How many indexed records hold a value of a term-frequency column."""

    __tablename__ = "match_term"

    column: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(KEY_TYPE, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


# Lookups the incremental match makes on existing tables: deleted records still in a golden
# record, and a related record's customer by its source key. The first is partial (deleted
# rows only): a full index on a flag that is almost always false lures SQLite's planner,
# which has no statistics, into driving member queries ("not deleted") from it.
Index(
    "ix_source_record_deleted",
    SourceRecord.entity,
    sqlite_where=SourceRecord.deleted.is_(True),
    postgresql_where=SourceRecord.deleted.is_(True),
)
Index("ix_source_record_source_key", SourceRecord.source, SourceRecord.source_key)
# A match run reads the records of the masters it touches and counts the records that share
# a master (rule links of related records left out): both index-only with this index.
Index("ix_xref_master_id_method", Xref.master_id, Xref.method, Xref.source_record_id)
