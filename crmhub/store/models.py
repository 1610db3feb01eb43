"""The master tables (see ARCHITECTURE.md, "Master store"), SQLAlchemy 2.0 declarative style."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crmhub.store.types import JSONText, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING)


class Run(Base):
    """Every ingest / match / publish / sync / demo run, with status, counts and timings."""

    __tablename__ = "run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    args: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    pid: Mapped[int | None] = mapped_column(Integer)
    log_path: Mapped[str | None] = mapped_column(String(500))


class SourceRecord(Base):
    """Every record every source ever sent: raw payload, canonical form, content hash."""

    __tablename__ = "source_record"
    __table_args__ = (
        UniqueConstraint("source", "stream", "source_key"),
        Index("ix_source_record_match_state", "match_state", "entity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    stream: Mapped[str] = mapped_column(String(200))
    source_key: Mapped[str] = mapped_column(String(500))
    entity: Mapped[str | None] = mapped_column(String(20))
    payload: Mapped[Any] = mapped_column(JSONText)
    canonical: Mapped[Any | None] = mapped_column(JSONText)
    content_hash: Mapped[str] = mapped_column(String(32))
    mapping_version: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="ok")
    match_state: Mapped[str] = mapped_column(String(20), default="pending")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_id: Mapped[int | None] = mapped_column(Integer)
    last_run_id: Mapped[int | None] = mapped_column(Integer)


class GoldenRecord(Base):
    """One row per master customer; a merged-away master keeps a redirect to its survivor."""

    __tablename__ = "golden_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    master_id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    flags: Mapped[list[str]] = mapped_column(JSONText, default=list)
    content_hash: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    merged_into: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Xref(Base):
    """Source record -> master id, how it got there, with what score, when."""

    __tablename__ = "xref"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_record_id: Mapped[int] = mapped_column(
        ForeignKey("source_record.id", ondelete="CASCADE"), unique=True
    )
    # looked up through ix_xref_master_id_method (match_index.py), which starts with it
    master_id: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(20))
    score: Mapped[float | None] = mapped_column(Float)
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_id: Mapped[int | None] = mapped_column(Integer)


class MatchCandidate(Base):
    """A pair the matcher was unsure about, waiting for (or decided by) a steward."""

    __tablename__ = "match_candidate"
    __table_args__ = (UniqueConstraint("left_record_id", "right_record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    left_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id", ondelete="CASCADE"))
    right_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id", ondelete="CASCADE"))
    left_master_id: Mapped[str | None] = mapped_column(String(40))
    right_master_id: Mapped[str | None] = mapped_column(String(40))
    # The two records' sources, copied at insert (crmhub.store.queue_index) so the review
    # queue filters and counts by source without reading the records.
    left_source: Mapped[str | None] = mapped_column(String(100))
    right_source: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float, index=True)
    match_weight: Mapped[float | None] = mapped_column(Float)
    comparison: Mapped[list[dict[str, Any]]] = mapped_column(JSONText, default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_id: Mapped[int | None] = mapped_column(Integer)


class Quarantine(Base):
    """Records that failed mapping or validation, with their reasons."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_source_key", "source", "stream", "source_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    stream: Mapped[str] = mapped_column(String(200))
    source_key: Mapped[str | None] = mapped_column(String(500))
    source_record_id: Mapped[int | None] = mapped_column(Integer, index=True)
    stage: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONText, default=list)
    payload: Mapped[Any] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(Integer)


class AuditEvent(Base):
    """Who did what to which master record, before and after."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    master_id: Mapped[str | None] = mapped_column(String(40), index=True)
    candidate_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[Any | None] = mapped_column(JSONText)
    after: Mapped[Any | None] = mapped_column(JSONText)
    run_id: Mapped[int | None] = mapped_column(Integer)


class State(Base):
    """Singer state per source; publish watermark and remote ids per target."""

    __tablename__ = "state"
    __table_args__ = (UniqueConstraint("scope", "name", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(500), default="")
    value: Mapped[Any] = mapped_column(JSONText)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_id: Mapped[int | None] = mapped_column(Integer)


class AppUser(Base):
    """A person who uses the steward app: viewer (read), steward (decide), admin (users)."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="steward")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)


class PublishRecord(Base):
    """What one target accepted for one record: remote id, last pushed hash, or the failure."""

    __tablename__ = "publish_record"
    __table_args__ = (UniqueConstraint("target", "stream", "record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(100))
    stream: Mapped[str] = mapped_column(String(50))
    record_key: Mapped[str] = mapped_column(String(500))
    remote_id: Mapped[str | None] = mapped_column(String(500))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), index=True)
    action: Mapped[str | None] = mapped_column(String(20))
    disposition: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_id: Mapped[int | None] = mapped_column(Integer)
