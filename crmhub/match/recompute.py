"""Recompute golden records from their members: used by matching and by steward actions."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, cast

import orjson
from sqlalchemy import (
    Integer,
    String,
    Table,
    Text,
    bindparam,
    literal_column,
    null,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from crmhub.errors import ConfigurationError
from crmhub.match.among import among, among_chunks
from crmhub.store.bulk import executemany_rows
from crmhub.store.models import AuditEvent, GoldenRecord, SourceRecord, Xref
from crmhub.store.search_keys import search_keys, write_key_sets
from crmhub.store.types import UTCDateTime, utcnow
from crmhub_dedupe.normalize import parse_person_name
from crmhub_dedupe.survive import SurvivorshipConfig, SurvivorshipConfigError, survive

# A member of a golden record as recompute reads it: source record id, source, canonical form
# as stored (JSON text, or None), when the hub last saw it (ISO text).
Member = tuple[int, str, str | None, str]


def content_hash(values: Mapping[str, Any]) -> str:
    """A stable hash of golden values (what publish compares)."""
    return hashlib.blake2b(
        orjson.dumps(values, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()


def member_rows(session: Session, master_ids: Iterable[str]) -> dict[str, list[Member]]:
    """Active customer source records per master id, as :data:`Member` tuples (the canonical
    form as its stored JSON text: parsed where the golden record is built)."""
    ids = list(master_ids)
    out: dict[str, list[Member]] = defaultdict(list)
    # Core rows through the session's connection: recompute flushes the session first.
    for chunk in among_chunks(session, ids):
        for master_id, rid, source, canonical, seen in session.connection().execute(
            select(
                Xref.master_id,
                SourceRecord.id,
                SourceRecord.source,
                type_coerce(SourceRecord.canonical, Text()),
                SourceRecord.last_seen,
            )
            .join(SourceRecord, SourceRecord.id == Xref.source_record_id)
            .where(
                among(session, Xref.master_id, chunk),
                SourceRecord.entity == "customer",
                SourceRecord.deleted.is_(False),
                SourceRecord.status == "ok",
            )
            .order_by(SourceRecord.id)
        ):
            out[master_id].append((rid, source, canonical, seen.isoformat()))
    return out


def survivorship_config(
    priorities: Mapping[str, int], settings: Mapping[str, Any] | None = None
) -> SurvivorshipConfig:
    """The project's survivorship rules; source priority defaults to the sources' order."""
    data = dict(settings or {})
    data.setdefault("source_priority", sorted(priorities, key=lambda n: (priorities[n], n)))
    try:
        return SurvivorshipConfig.from_dict(data)
    except (SurvivorshipConfigError, ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"matching.survivorship in crmhub.yml: {exc}",
            hint="see docs/matching/clusters-and-survivorship.md",
        ) from None


def engine_record(row: Any) -> dict[str, Any]:
    """A source record row as the engine takes it: canonical fields plus id, source, time.

    ``updated_at`` is the source's own timestamp when the mapping gave one, else when the
    hub last saw the record (survivorship's "most recent" needs one of them).
    """
    canonical = dict(row.canonical or {})
    canonical["record_id"] = str(row.id)
    canonical["source"] = row.source
    if not isinstance(canonical.get("updated_at"), str):
        seen: datetime = row.last_seen
        canonical["updated_at"] = seen.isoformat()
    return canonical


def member_record(member: Member) -> dict[str, Any]:
    """:func:`engine_record` of a :data:`Member` tuple."""
    rid, source, canonical, seen = member
    record: dict[str, Any] = dict(orjson.loads(canonical) or {}) if canonical is not None else {}
    record["record_id"] = str(rid)
    record["source"] = source
    if not isinstance(record.get("updated_at"), str):
        record["updated_at"] = seen
    return record


def _built(
    master_id: str,
    members: list[Member],
    overrides: Mapping[str, Any] | None,
    config: SurvivorshipConfig,
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Golden values, provenance and content hash of one master from its members."""
    built = survive(
        [member_record(m) for m in members],
        [master_id] * len(members),
        config,
        overrides={master_id: dict(overrides)} if overrides else None,
    )[master_id]
    values = dict(built.values)
    provenance = built.provenance_dicts()
    complete_person_name(values, provenance)
    return values, provenance, content_hash(values)


_GOLDEN = cast(Table, GoldenRecord.__table__)
# Rebuilt and retired golden records are written with one executemany each (SET from the
# parameters' keys): through the ORM each of ten thousand objects cost attribute events and
# a unit-of-work entry before the same UPDATE.
_BY_ID = update(_GOLDEN).where(_GOLDEN.c.id == bindparam("golden_id"))


def _rebuilt_statement(revive: bool) -> Any:
    """The UPDATE of rebuilt golden records, values and provenance bound as the JSON text
    :class:`JSONText` would encode them (the texts are made where the values are built).

    Status and redirect are set only where they change (``revive``: a merged or retired
    master active again): SET of an indexed column rewrites its index entry even when the
    value stays, and the status index is a million entries at random places.
    """
    values: dict[str, Any] = {
        "data": bindparam("b_data", type_=Text()),
        "provenance": bindparam("b_provenance", type_=Text()),
        "kind": bindparam("b_kind", type_=String()),
        "content_hash": bindparam("b_hash", type_=String()),
        "version": bindparam("b_version", type_=Integer()),
        "updated_at": bindparam("b_updated_at", type_=UTCDateTime()),
    }
    if revive:  # inline, so both statements bind the same parameters
        values["status"] = literal_column("'active'")
        values["merged_into"] = null()
    return update(_GOLDEN).where(_GOLDEN.c.id == bindparam("b_id")).values(**values)


# The parameters of both, in the order of the tuples :func:`_write_chunk` binds.
_REBUILT_PARAMS = (
    "b_data",
    "b_provenance",
    "b_kind",
    "b_hash",
    "b_version",
    "b_updated_at",
    "b_id",
)


_REBUILT = _rebuilt_statement(revive=False)
_REVIVED = _rebuilt_statement(revive=True)


def recompute(
    session: Session,
    master_ids: Iterable[str],
    priorities: Mapping[str, int],
    *,
    actor: str = "matcher",
    run_id: int | None = None,
    config: SurvivorshipConfig | None = None,
) -> dict[str, int]:
    """Recompute the named golden records; one left without members is retired.

    Reads and writes the golden rows with Core statements (the caller's pending ORM changes,
    such as a steward's override or a merged-away master, are flushed first), then expires
    the session's copies of the rows it wrote, so an object the caller holds reloads them.
    """
    ids = sorted(set(master_ids))
    session.flush()
    counts = {"updated": 0, "retired": 0, "unchanged": 0}
    now = utcnow()
    rules = config or survivorship_config(priorities)
    written: set[int] = set()
    # Chunk by chunk (members, golden rows, rebuilt values, writes): a first full match
    # recomputes every golden record, and a million member rows with their rebuilt values and
    # provenance alive at once cost about 7 GiB. Chunks touch disjoint golden records, so the
    # rows written are the same as in one pass.
    for chunk in among_chunks(session, ids):
        todo, goldens, retired = _read_chunk(session, chunk, counts, now, actor, run_id)
        built = build_goldens(todo, rules)
        written |= _write_chunk(session, goldens, built, retired, counts, now)
    _expire_written(session, written)
    return counts


class Recompute:
    """A recompute started by :func:`start_recompute`; :meth:`finish` writes its golden records
    and returns the counts."""

    def __init__(
        self,
        session: Session,
        counts: dict[str, int],
        now: datetime,
        rules: SurvivorshipConfig,
        todo: list[Any],
        goldens: list[Any],
        retired: list[dict[str, Any]],
        builder: GoldenBuilder | None,
    ) -> None:
        self.session = session
        self.counts = counts
        self.now = now
        self.rules = rules
        self.todo = todo
        self.goldens = goldens
        self.retired = retired
        self.builder = builder
        # how many golden records at the end of ``todo`` this process builds itself
        self.own = 0

    def finish(self) -> dict[str, int]:
        """Write the rebuilt golden records (built here when no builder did, or it failed)."""
        if self.builder is None:
            built = build_goldens(self.todo, self.rules)
        else:
            # The builder has the first part; this process builds the rest, then takes the
            # builder's (or builds that part too, when the builder failed).
            given = len(self.todo) - self.own
            own = build_goldens(self.todo[given:], self.rules)
            theirs = self.builder.result()
            if theirs is None or len(theirs) != given:
                theirs = build_goldens(self.todo[:given], self.rules)
            built = theirs + own
        written = _write_chunk(
            self.session, self.goldens, built, self.retired, self.counts, self.now
        )
        _expire_written(self.session, written)
        return self.counts


def start_recompute(
    session: Session,
    master_ids: Iterable[str],
    priorities: Mapping[str, int],
    *,
    actor: str = "matcher",
    run_id: int | None = None,
    config: SurvivorshipConfig | None = None,
    builder: GoldenBuilder | None = None,
) -> Recompute:
    """:func:`recompute` in two steps, the building of the golden records maybe on another core.

    Now: members and golden rows are read, retirements decided (their audit events added to
    the session) and, with a ``builder`` (:class:`GoldenBuilder`, a process started earlier)
    and at least :data:`MIN_GOLDENS_FOR_BUILDER` golden records, the members are handed to
    it. It builds values, provenance, content hashes and search keys while the caller goes on
    with writes that do not touch members or golden records; :meth:`Recompute.finish` writes
    what it built, or builds it here: the same rows as :func:`recompute`. A recompute larger
    than one read chunk is done at once, as by :func:`recompute`.
    """
    ids = sorted(set(master_ids))
    rules = config or survivorship_config(priorities)
    if len(list(among_chunks(session, ids))) > 1:
        counts = recompute(session, ids, priorities, actor=actor, run_id=run_id, config=rules)
        return Recompute(session, counts, utcnow(), rules, [], [], [], None)
    session.flush()
    counts = {"updated": 0, "retired": 0, "unchanged": 0}
    now = utcnow()
    todo, goldens, retired = _read_chunk(session, ids, counts, now, actor, run_id)
    rebuild = Recompute(session, counts, now, rules, todo, goldens, retired, None)
    if builder is not None and len(todo) >= MIN_GOLDENS_FOR_BUILDER:
        own = len(todo) - round(len(todo) * BUILDER_SHARE)
        if builder.submit(todo[: len(todo) - own]):
            rebuild.builder, rebuild.own = builder, own
    return rebuild


def _expire_written(session: Session, written: set[int]) -> None:
    for obj in list(session.identity_map.values()):
        if isinstance(obj, GoldenRecord) and obj.id in written:
            session.expire(obj)


def _read_chunk(
    session: Session,
    ids: Sequence[str],
    counts: dict[str, int],
    now: datetime,
    actor: str,
    run_id: int | None,
) -> tuple[list[Any], list[Any], list[dict[str, Any]]]:
    """Members and golden rows of ``ids`` (one chunk).

    Returns what :func:`build_goldens` takes (per golden record to rebuild: master id,
    overrides, stored content hash, status, members), the golden rows in the same order, and
    the parameters of the golden records to retire (no member left; their audit events are
    added to the session).
    """
    members = member_rows(session, ids)
    found: dict[str, Any] = {
        g.master_id: g
        for g in session.connection().execute(
            select(
                GoldenRecord.id,
                GoldenRecord.master_id,
                GoldenRecord.overrides,
                GoldenRecord.content_hash,
                GoldenRecord.version,
                GoldenRecord.status,
                GoldenRecord.merged_into,
            ).where(among(session, GoldenRecord.master_id, ids))
        )
    }
    todo: list[Any] = []
    goldens: list[Any] = []
    retired: list[dict[str, Any]] = []
    for master_id in ids:
        golden = found.get(master_id)
        if golden is None:
            continue
        rows = members.get(master_id, [])
        if rows:
            todo.append((master_id, golden.overrides, golden.content_hash, golden.status, rows))
            goldens.append(golden)
            continue
        if golden.status == "active":
            retired.append(
                {
                    "golden_id": golden.id,
                    "status": "retired",
                    "version": golden.version + 1,
                    "updated_at": now,
                }
            )
            counts["retired"] += 1
            session.add(
                AuditEvent(
                    actor=actor,
                    action="retire",
                    master_id=master_id,
                    before={"status": "active"},
                    after={"status": "retired"},
                    run_id=run_id,
                )
            )
    return todo, goldens, retired


def build_goldens(todo: Sequence[Any], rules: SurvivorshipConfig) -> list[Any]:
    """Per item of ``todo`` (master id, overrides, stored content hash, status, members): None
    when the golden values did not change, else [values as JSON text, provenance as JSON
    text, kind, content hash, sorted search keys]. Reads nothing but its arguments (plain
    JSON-able data), so another process can run it."""
    out: list[Any] = []
    for master_id, overrides, stored_hash, status, rows in todo:
        values, provenance, digest = _built(master_id, rows, overrides, rules)
        if stored_hash == digest and status == "active":
            out.append(None)
            continue
        out.append(
            [
                orjson.dumps(values, option=orjson.OPT_SORT_KEYS).decode(),
                orjson.dumps(provenance, option=orjson.OPT_SORT_KEYS).decode(),
                values.get("kind"),
                digest,
                sorted(search_keys(values)),
            ]
        )
    return out


def _write_chunk(
    session: Session,
    goldens: Sequence[Any],
    built: Sequence[Any],
    retired: list[dict[str, Any]],
    counts: dict[str, int],
    now: datetime,
) -> set[int]:
    """Write what :func:`build_goldens` built for ``goldens`` and the retirements; the golden
    ids written."""
    kept: list[tuple[Any, ...]] = []
    revived: list[tuple[Any, ...]] = []
    keys: dict[int, set[str]] = {}
    for golden, item in zip(goldens, built, strict=True):
        if item is None:
            counts["unchanged"] += 1
            continue
        counts["updated"] += 1
        data, provenance, kind, digest, found = item
        params = (data, provenance, kind, digest, (golden.version or 0) + 1, now, golden.id)
        if golden.status == "active" and golden.merged_into is None:
            kept.append(params)
        else:
            revived.append(params)
        keys[golden.id] = set(found)
    # tuples bound straight to the driver (crmhub.store.bulk), in golden id order
    executemany_rows(session, _REBUILT, _REBUILT_PARAMS, sorted(kept, key=itemgetter(6)))
    executemany_rows(session, _REVIVED, _REBUILT_PARAMS, sorted(revived, key=itemgetter(6)))
    for start in range(0, len(retired), 5000):
        session.execute(_BY_ID, retired[start : start + 5000])
    written = set(keys) | {p["golden_id"] for p in retired}
    write_key_sets(session, keys)
    return written


# A recompute hands its golden records to a builder from this many: below, passing the
# members and results through pipes costs more than building them on the other core saves.
MIN_GOLDENS_FOR_BUILDER = 2000
# The share of the golden records the builder gets; the caller builds the rest after the work
# it does meanwhile (see docs/matching/README.md for the measurements behind it).
BUILDER_SHARE = 0.75


class GoldenBuilder:
    """A child process, forked early, that builds one recompute's golden records on another core.

    Forked before the run has loaded anything (its memory is then mostly the imported
    modules): forked later, the parent's writes to the hundreds of MiB it shares with the
    child are copied page by page, which cost more system time than the child saves. The
    child waits for one job (:meth:`submit`: the items of :func:`build_goldens`), runs
    :func:`build_goldens` and sends the result back (:meth:`result`); it never touches the
    parent's database connection and ends without interpreter teardown. Use it as a context
    manager: leaving the block ends the child if no job reached it.
    """

    def __init__(self, rules: SurvivorshipConfig) -> None:
        self.rules = rules
        self.pid = 0
        self.to_child = -1
        self.from_child = -1

    def __enter__(self) -> GoldenBuilder:
        return self

    def start(self, expected: int) -> None:
        """Fork the child (once; where ``os.fork`` exists) when about ``expected`` golden
        records will be rebuilt, enough for a builder (:data:`MIN_GOLDENS_FOR_BUILDER`)."""
        if self.pid or expected < MIN_GOLDENS_FOR_BUILDER or not hasattr(os, "fork"):
            return
        job_read, job_write = os.pipe()
        result_read, result_write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (job_read, job_write, result_read, result_write):
                os.close(fd)
            return
        if pid == 0:  # pragma: no cover - runs in the child, whose coverage is not collected
            status = 1
            try:
                os.close(job_write)
                os.close(result_read)
                job = _read_all(job_read)
                if job:
                    built = build_goldens(orjson.loads(job), self.rules)
                    _write_all(result_write, orjson.dumps(built))
                status = 0
            finally:
                # No interpreter exit: nothing the parent owns (its database connection,
                # buffered output, exit hooks) may be closed, flushed or run twice.
                os._exit(status)
        os.close(job_read)
        os.close(result_write)
        self.pid, self.to_child, self.from_child = pid, job_write, result_read

    def submit(self, todo: Sequence[Any]) -> bool:
        """Hand the child its job; False when there is no child (build here instead)."""
        if self.to_child < 0:
            return False
        try:
            _write_all(self.to_child, orjson.dumps(todo))
        except (OSError, TypeError):  # the child is gone, or a value JSON cannot carry
            self._end()
            return False
        finally:
            if self.to_child >= 0:
                os.close(self.to_child)
                self.to_child = -1
        return True

    def result(self) -> list[Any] | None:
        """What the child built; None when it failed (the caller builds it then)."""
        if self.from_child < 0:
            return None
        try:
            data = _read_all(self.from_child)
        finally:
            status = self._end()
        if status != 0:
            return None
        try:
            built = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        return built if isinstance(built, list) else None

    def __exit__(self, *exc: object) -> None:
        if self.pid and exc[0] is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self._end()

    def _end(self) -> int:
        """Close the pipes (a child still waiting for a job then ends) and reap the child."""
        for fd in (self.to_child, self.from_child):
            if fd >= 0:
                os.close(fd)
        self.to_child = self.from_child = -1
        status = 0
        if self.pid:
            _, status = os.waitpid(self.pid, 0)
            self.pid = 0
        return status


def _read_all(fd: int) -> bytes:
    chunks = []
    while block := os.read(fd, 1 << 20):
        chunks.append(block)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def complete_person_name(values: dict[str, Any], provenance: dict[str, Any]) -> None:
    """Fill given/family name from ``full_name`` when no source had them separately.

    Legacy systems often keep one name field ("INGETRAUD BARTH"); CRMs need the parts. The
    engine's name parser finds prefix and particle; the parts keep the source's spelling
    (an all-capitals name is title-cased) and their provenance says they were derived.
    """
    full = values.get("full_name")
    if values.get("kind") == "organization" or not isinstance(full, str) or not full.strip():
        return
    if values.get("family_name"):
        return
    text = full.strip()
    if "," in text:  # "Family, Given"
        family_part, _, given_part = text.partition(",")
        text = f"{given_part.strip()} {family_part.strip()}"
    words = text.split()
    if text.isupper():
        words = [w.capitalize() for w in words]
    parsed = parse_person_name(full)
    prefix_words = len(parsed.prefix.split()) if parsed.prefix else 0
    particle_words = len(parsed.particle.split()) if parsed.particle else 0
    words = words[prefix_words:]
    if not words:
        return
    family = words[-1]
    particle = words[-1 - particle_words : -1] if particle_words else []
    given = words[: len(words) - 1 - len(particle)]
    derived = {"rule": "derived from full_name", "chosen": [{"value": full}]}
    values["family_name"] = family
    provenance["family_name"] = derived
    if given and not values.get("given_name"):
        values["given_name"] = " ".join(given)
        provenance["given_name"] = derived
    if particle and not values.get("name_particle"):
        values["name_particle"] = " ".join(particle).lower()
        provenance["name_particle"] = derived
