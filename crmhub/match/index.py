"""The match index (``crmhub.store.match_index``): build it, keep it current, read it back.

What is stored is derived with the engine's own encodings (:class:`ColumnCache`): a
blocking key is the same string the engine's blocking factorizes, a term count the same
value the engine's term-frequency table counts. So candidates found through the index are
the pairs the engine's blocking would form over the whole master (the sorted-neighbourhood
rule gives a superset: see :func:`candidate_ids`), and scores over a few candidates equal the
scores over the whole master.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

import crmhub
from crmhub.match.among import among, among_chunks
from crmhub.store.bulk import executemany_rows
from crmhub.store.match_index import KEY_LENGTH, MatchForm, MatchKey, MatchKeyRecent, MatchTerm
from crmhub.store.models import SourceRecord, State, Xref
from crmhub.store.types import utcnow
from crmhub_dedupe.comparison import ColumnCache, compare
from crmhub_dedupe.explain import explanation_lines
from crmhub_dedupe.matcher import IncrementalMatcher
from crmhub_dedupe.model import MatchModel
from crmhub_dedupe.scoring import classify, score
from crmhub_dedupe.settings import MatchSettings

INDEX_STATE = ("match", "index")
# Bumped when what this module stores changes shape.
INDEX_FORMAT = 1
_CHUNK = 500
_SEP = "\x1f"
# match_key_recent is merged into match_key when it holds more than this share of it (and
# more than _RECENT_FLOOR keys): at an eighth, a million-record master (8.6M keys) merges
# once in about twelve runs of 10,000 new records, and the recent table stays small enough
# that a run's inserts dirty a few thousand pages of it at most.
_RECENT_SHARE = 8
_RECENT_FLOOR = 100_000
_KEY_TABLES = (MatchKey, MatchKeyRecent)
_KEY_TABLE_NAMES = tuple(table.__tablename__ for table in _KEY_TABLES)
# The engine's floor for u probabilities (crmhub_dedupe.scoring): a value seen once in a
# million records must not give an infinite weight.
_FLOOR = 1e-7

IntArray = npt.NDArray[np.int64]


# --- fingerprint: when the stored forms and keys are still the engine's -------------------


def fingerprint(settings: MatchSettings) -> str:
    """What the index depends on: the engine's settings, the crmhub release, the format.

    A new release may normalize differently, so upgrading rebuilds the index at the next
    match. Within a release (a development checkout) nothing tells an edit of the
    normalization apart from a refactoring; ``crmhub match --full`` rebuilds it by hand.
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(orjson.dumps(settings.to_dict(), option=orjson.OPT_SORT_KEYS, default=str))
    h.update(crmhub.__version__.encode())
    h.update(str(INDEX_FORMAT).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class IndexInfo:
    """The index's fingerprint and the frame columns its forms hold, in order."""

    fingerprint: str
    columns: tuple[str, ...]
    array_columns: tuple[str, ...]
    # keys in match_key (not match_key_recent) at the last rebuild or merge; None when an
    # older release wrote the state
    main_keys: int | None = None


def stored_index(session: Session) -> IndexInfo | None:
    """The index as the last match left it, or None when there is none."""
    row = session.scalar(
        select(State).where(State.scope == INDEX_STATE[0], State.name == INDEX_STATE[1])
    )
    if row is None or not isinstance(row.value, dict):
        return None
    try:
        main_keys = row.value.get("main_keys")
        return IndexInfo(
            str(row.value["fingerprint"]),
            tuple(row.value["columns"]),
            tuple(row.value["array_columns"]),
            int(main_keys) if main_keys is not None else None,
        )
    except (KeyError, TypeError, ValueError):
        return None


def _save_index(session: Session, info: IndexInfo, run_id: int) -> None:
    value: dict[str, Any] = {
        "fingerprint": info.fingerprint,
        "columns": list(info.columns),
        "array_columns": list(info.array_columns),
    }
    if info.main_keys is not None:
        value["main_keys"] = info.main_keys
    row = session.scalar(
        select(State).where(State.scope == INDEX_STATE[0], State.name == INDEX_STATE[1])
    )
    if row is None:
        session.add(
            State(scope=INDEX_STATE[0], name=INDEX_STATE[1], key="", value=value, run_id=run_id)
        )
    else:
        row.value = value
        row.updated_at = utcnow()
        row.run_id = run_id


def frame_info(frame: pd.DataFrame, settings: MatchSettings) -> IndexInfo:
    """The index layout for frames shaped like ``frame``."""
    arrays = tuple(
        c
        for c in frame.columns
        if frame[c].dtype == object and len(frame) and isinstance(frame[c].iat[0], tuple | list)
    )
    return IndexInfo(fingerprint(settings), tuple(frame.columns), arrays)


# --- what is stored per record ---------------------------------------------------------------


def _labels(cache: ColumnCache, column: str, prefix: int | None) -> pd.DataFrame:
    """(row, value) per row and value of one key part, as the engine's blocking keys it."""
    if cache.is_array(column):
        arr = cache.arrays(column)
        rows = np.repeat(np.arange(len(cache), dtype=np.int64), arr.lengths)
        values = arr.labels[arr.values].astype(object)
        if prefix is not None:
            values = np.array([str(v)[:prefix] for v in values], dtype=object)
        out = pd.DataFrame({"row": rows, "v": values})
        return out[out["v"] != ""].drop_duplicates()
    st = cache.strings(column, prefix)
    ok = st.codes >= 0
    return pd.DataFrame(
        {"row": np.flatnonzero(ok).astype(np.int64), "v": st.labels[st.codes[ok]].astype(object)}
    )


def blocking_keys(frame: pd.DataFrame, settings: MatchSettings) -> pd.DataFrame:
    """Columns ``row``, ``rule``, ``key``: every blocking key of every row of ``frame``.

    A rule's key joins its parts (a row missing a part has no key for the rule, as in the
    engine); the sorted-neighbourhood rule's key is its sort value.
    """
    cache = ColumnCache(frame)
    parts: list[pd.DataFrame] = []
    for index, rule in enumerate(settings.blocking_rules):
        keys = rule.keys[:1] if rule.kind == "sorted_neighbourhood" else rule.keys
        joined: pd.DataFrame | None = None
        for key in keys:
            part = _labels(cache, key.column, key.prefix)
            part["v"] = part["v"].astype(str)
            if joined is None:
                joined = part
            else:
                joined = joined.merge(part, on="row", suffixes=("", "_next"))
                joined["v"] = joined["v"] + _SEP + joined["v_next"]
                joined = joined.drop(columns="v_next")
        if joined is None or joined.empty:
            continue
        joined = joined.drop_duplicates()
        joined["key"] = joined["v"].str.slice(0, KEY_LENGTH)
        joined["rule"] = index
        parts.append(joined[["row", "rule", "key"]])
    if not parts:
        return pd.DataFrame({"row": [], "rule": [], "key": []})
    return pd.concat(parts, ignore_index=True).drop_duplicates()


def term_columns(settings: MatchSettings) -> list[str]:
    """Columns whose exact levels are weighted by how common the value is."""
    out: list[str] = []
    for comp in settings.comparisons:
        for level in comp.levels:
            if level.tf_adjust and level.column not in out:
                out.append(level.column)
    return out


def term_counts(frame: pd.DataFrame, settings: MatchSettings) -> dict[str, Counter[str]]:
    """Per term-frequency column, how many rows of ``frame`` hold each value."""
    cache = ColumnCache(frame)
    out: dict[str, Counter[str]] = {}
    for column in term_columns(settings):
        if column not in frame.columns or cache.is_array(column):
            continue
        st = cache.strings(column)
        present = st.codes[st.codes >= 0]
        counts = np.bincount(present, minlength=len(st.labels))
        out[column] = Counter(
            {
                str(label)[:KEY_LENGTH]: int(n)
                for label, n in zip(st.labels.tolist(), counts.tolist(), strict=True)
                if n
            }
        )
    return out


def _forms(frame: pd.DataFrame, info: IndexInfo) -> list[bytes]:
    columns = [frame[c].tolist() for c in info.columns]
    arrays = {info.columns.index(c) for c in info.array_columns}
    out = []
    for values in zip(*columns, strict=True):
        row = [list(v) if k in arrays and v is not None else v for k, v in enumerate(values)]
        out.append(orjson.dumps(row))
    return out


def frame_from_forms(forms: Sequence[str | bytes], info: IndexInfo) -> pd.DataFrame:
    """The normalized frame rows stored as ``forms`` (array columns back to tuples)."""
    rows = [orjson.loads(f) for f in forms]
    frame = pd.DataFrame(rows, columns=list(info.columns), dtype=object)
    if not rows:
        return frame
    for column in info.array_columns:
        frame[column] = [tuple(v) if v is not None else () for v in frame[column].tolist()]
    return frame


# --- writing ---------------------------------------------------------------------------------


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def drop_records(session: Session, record_ids: Sequence[int]) -> None:
    """Take records out of the index (forms and keys; term counts are the caller's)."""
    for chunk in _chunks(list(record_ids)):
        for table in _KEY_TABLES:
            session.execute(
                delete(table)
                .where(table.source_record_id.in_(chunk))
                .execution_options(synchronize_session=False)
            )
        session.execute(
            delete(MatchForm)
            .where(MatchForm.source_record_id.in_(chunk))
            .execution_options(synchronize_session=False)
        )


def write_records(
    session: Session,
    frame: pd.DataFrame,
    info: IndexInfo,
    settings: MatchSettings,
    run_id: int,
    keys: pd.DataFrame | None = None,
) -> None:
    """Store the forms and blocking keys of every row of ``frame`` (replacing old ones);
    ``keys``: the frame's :func:`blocking_keys` when the caller has them already.

    The keys go to ``match_key_recent``; :func:`settle_recent` merges them when it grows.
    """
    if frame.empty:
        return
    ids = [int(r) for r in frame["record_id"].tolist()]
    drop_records(session, ids)
    _insert(session, frame, ids, info, settings, run_id, keys, recent=True)


def _insert(
    session: Session,
    frame: pd.DataFrame,
    ids: list[int],
    info: IndexInfo,
    settings: MatchSettings,
    run_id: int,
    keys: pd.DataFrame | None = None,
    *,
    recent: bool = False,
) -> int:
    """Insert forms and keys; returns the number of keys."""
    forms = _forms(frame, info)
    # rows as tuples bound straight to the driver: SQLAlchemy's per-row parameter handling
    # of ~100,000 keys cost about as much as SQLite's inserting them
    rows = [(i, f.decode(), run_id) for i, f in zip(ids, forms, strict=True)]
    form_table = insert(cast(Table, MatchForm.__table__))
    for chunk in _chunks(rows, 5000):
        executemany_rows(session, form_table, ("source_record_id", "form", "run_id"), list(chunk))
    if keys is None:
        keys = blocking_keys(frame, settings)
    id_of = np.asarray(ids, dtype=np.int64)
    key_rows = list(
        zip(
            keys["rule"].astype(np.int64).tolist(),
            keys["key"].tolist(),
            id_of[keys["row"].to_numpy(dtype=np.int64)].tolist(),
            strict=True,
        )
    )
    key_table = insert(cast(Table, (MatchKeyRecent if recent else MatchKey).__table__))
    for chunk in _chunks(key_rows, 10000):
        executemany_rows(session, key_table, ("rule", "key", "source_record_id"), list(chunk))
    return len(key_rows)


def settle_recent(session: Session, info: IndexInfo) -> IndexInfo:
    """Merge ``match_key_recent`` into ``match_key`` when it has grown past its share.

    Returns ``info`` with the count of ``match_key`` the merge decision is based on (counted
    once when an older release's state lacks it). The merge inserts in key order, so each
    leaf page of ``match_key`` is written about once for the whole batch.
    """
    main = info.main_keys
    if main is None:
        main = int(session.scalar(select(func.count()).select_from(MatchKey)) or 0)
    recent = int(session.scalar(select(func.count()).select_from(MatchKeyRecent)) or 0)
    if recent <= max(_RECENT_FLOOR, main // _RECENT_SHARE):
        return replace(info, main_keys=main)
    columns = ("rule", "key", "source_record_id")
    moved = select(
        MatchKeyRecent.rule, MatchKeyRecent.key, MatchKeyRecent.source_record_id
    ).order_by(MatchKeyRecent.rule, MatchKeyRecent.key, MatchKeyRecent.source_record_id)
    session.execute(insert(cast(Table, MatchKey.__table__)).from_select(columns, moved))
    session.execute(delete(MatchKeyRecent))
    return replace(info, main_keys=main + recent)


def change_terms(
    session: Session, plus: Mapping[str, Counter[str]], minus: Mapping[str, Counter[str]]
) -> None:
    """Add ``plus`` to and take ``minus`` from the stored term counts."""
    table = cast(Table, MatchTerm.__table__)
    for column in sorted(set(plus) | set(minus)):
        delta: Counter[str] = Counter()
        delta.update(plus.get(column, Counter()))
        delta.subtract(minus.get(column, Counter()))
        values = sorted(v for v, n in delta.items() if n)
        stored: dict[str, int] = {}
        for chunk in _chunks(values):
            stored.update(
                session.execute(
                    select(MatchTerm.value, MatchTerm.count).where(
                        MatchTerm.column == column, MatchTerm.value.in_(chunk)
                    )
                ).all()
            )
        fresh, changed, emptied = [], [], []
        for value in values:
            count = stored.get(value, 0) + delta[value]
            if value not in stored:
                if count > 0:
                    fresh.append({"column": column, "value": value, "count": count})
            elif count > 0:
                changed.append({"c": column, "v": value, "n": count})
            else:
                emptied.append(value)
        if changed:
            session.execute(
                update(table)
                .where(table.c.column == bindparam("c"), table.c.value == bindparam("v"))
                .values(count=bindparam("n")),
                changed,
            )
        for chunk in _chunks(emptied):
            session.execute(
                delete(MatchTerm).where(MatchTerm.column == column, MatchTerm.value.in_(chunk))
            )
        for chunk in _chunks(fresh, 5000):
            session.execute(insert(table), list(chunk))


def rebuild(
    session: Session,
    frames: Iterable[pd.DataFrame],
    settings: MatchSettings,
    run_id: int,
) -> None:
    """Replace the whole index with the forms, keys and counts of ``frames`` (every record,
    in as many frames as the caller likes: a very large master is indexed part by part)."""
    session.execute(delete(MatchKey))
    session.execute(delete(MatchKeyRecent))
    session.execute(delete(MatchForm))
    session.execute(delete(MatchTerm))
    info: IndexInfo | None = None
    keys = 0
    counts: dict[str, Counter[str]] = {}
    # Forms, keys and their insert parameters are built per step: at 100,000 rows a step
    # held about 800 MB at once; 25,000 keeps it near 200 MB for the same statements.
    step = 25_000
    for frame in frames:
        if info is None or (not info.array_columns and len(frame)):
            info = frame_info(frame, settings)
        for start in range(0, len(frame), step):
            part = frame.iloc[start : start + step].reset_index(drop=True)
            ids = [int(r) for r in part["record_id"].tolist()]
            keys += _insert(session, part, ids, info, settings, run_id)
            for column, found in term_counts(part, settings).items():
                counts.setdefault(column, Counter()).update(found)
    change_terms(session, counts, {})
    if info is not None:
        _save_index(session, replace(info, main_keys=keys), run_id)


def keep_current(session: Session, info: IndexInfo, run_id: int) -> None:
    """Record that the index matches ``info`` after an incremental update (merging the
    recent keys into ``match_key`` when they have grown past their share)."""
    _save_index(session, settle_recent(session, info), run_id)


# --- reading ---------------------------------------------------------------------------------
# The neighbourhood reads below run on the session's connection (Core): their rows are plain
# column tuples, and on the ~100k rows of a 10k-record run the ORM's result handling cost
# more than fetching them. Nothing they read is pending in the session (no autoflush needed).


def stored_terms(
    session: Session, columns: Iterable[str], values: Mapping[str, Iterable[str]]
) -> dict[str, tuple[dict[str, int], int]]:
    """Per column: (count of each asked value, total count over the index)."""
    out: dict[str, tuple[dict[str, int], int]] = {}
    for column in columns:
        total = session.scalar(
            select(func.coalesce(func.sum(MatchTerm.count), 0)).where(MatchTerm.column == column)
        )
        wanted = sorted({str(v)[:KEY_LENGTH] for v in values.get(column, ())})
        counts: dict[str, int] = {}
        for chunk in _chunks(wanted):
            counts.update(
                session.execute(
                    select(MatchTerm.value, MatchTerm.count).where(
                        MatchTerm.column == column, MatchTerm.value.in_(chunk)
                    )
                ).all()
            )
        out[column] = (counts, int(total or 0))
    return out


def stored_forms(session: Session, record_ids: Iterable[int]) -> dict[int, str]:
    """The stored forms of the given records (those that have one)."""
    ids = sorted(set(record_ids))
    out: dict[int, str] = {}
    for chunk in among_chunks(session, ids):
        out.update(
            session.connection()
            .execute(
                select(MatchForm.source_record_id, MatchForm.form).where(
                    among(session, MatchForm.source_record_id, chunk)
                )
            )
            .all()
        )
    return out


def candidate_ids(
    session: Session, keys: pd.DataFrame, settings: MatchSettings, exclude: set[int]
) -> set[int]:
    """Indexed records that share a blocking key with ``keys`` (from :func:`blocking_keys`).

    For the sorted-neighbourhood rule: the ``window - 1`` indexed records on each side of
    each key in code point order (ties by record id, as the engine's stable sort over a
    frame in record order), taken from ``match_key`` and ``match_key_recent`` each (a
    superset of the neighbours in both together). Among fewer records than the whole master
    those neighbours can only be closer, so the engine's blocking over candidates and new
    records forms every pair it would form over the whole master, and possibly a few more.
    """
    found: set[int] = set()
    for index, rule in enumerate(settings.blocking_rules):
        wanted = sorted(set(keys.loc[keys["rule"] == index, "key"].tolist()))
        if not wanted:
            continue
        if rule.kind == "sorted_neighbourhood":
            found.update(_neighbours(session, index, wanted, max(1, rule.window - 1)))
            continue
        for chunk in among_chunks(session, wanted):
            for table in _KEY_TABLES:
                found.update(
                    session.connection().scalars(
                        select(table.source_record_id).where(
                            table.rule == index, among(session, table.key, chunk)
                        )
                    )
                )
    return found - exclude


def _neighbours(session: Session, rule: int, values: list[str], width: int) -> set[int]:
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        found: set[int] = set()
        sql = text(
            " UNION ".join(
                "SELECT n.source_record_id FROM unnest(CAST(:vals AS text[])) AS p(v) "
                f"CROSS JOIN LATERAL (SELECT source_record_id FROM {table} "
                f'WHERE rule = :rule AND key {op} p.v COLLATE "C" '
                f"ORDER BY key {order}, source_record_id {order} LIMIT :width) n"
                for table in _KEY_TABLE_NAMES
                for op, order in (("<=", "DESC"), (">", "ASC"))
            )
        )
        for chunk in _chunks(values, 5000):
            found.update(
                conn.execute(sql, {"vals": list(chunk), "rule": rule, "width": width}).scalars()
            )
        return found
    # SQLite: one indexed seek per value and side on the raw connection (a statement per
    # value through the ORM would cost more than the seek).
    raw = conn.connection.dbapi_connection
    if raw is None:  # pragma: no cover - a live session always has one
        raise RuntimeError("no database connection")
    cur = raw.cursor()
    seeks = [
        f"SELECT source_record_id FROM {table} WHERE rule = ? AND key {op} ? "
        f"ORDER BY key {order}, source_record_id {order} LIMIT ?"
        for table in _KEY_TABLE_NAMES
        for op, order in (("<=", "DESC"), (">", "ASC"))
    ]
    out: set[int] = set()
    try:
        for value in values:
            for seek in seeks:
                out.update(r[0] for r in cur.execute(seek, (rule, value, width)))
    finally:
        cur.close()
    return out


def masters_of(session: Session, record_ids: Iterable[int]) -> dict[int, str]:
    """Master id of each given record that has one."""
    ids = sorted(set(record_ids))
    out: dict[int, str] = {}
    for chunk in among_chunks(session, ids):
        out.update(
            session.connection()
            .execute(
                select(Xref.source_record_id, Xref.master_id).where(
                    among(session, Xref.source_record_id, chunk)
                )
            )
            .all()
        )
    return out


def live_members(session: Session, master_ids: Iterable[str]) -> dict[int, str]:
    """Live (ok, not deleted) customer records of the given masters -> master id."""
    ids = sorted(set(master_ids))
    found: dict[int, str] = {}
    # Two indexed steps (xref by master id, then records by primary key) rather than a
    # join the planner might drive from a scan of source_record.
    for chunk in among_chunks(session, ids):
        found.update(
            session.connection()
            .execute(
                select(Xref.source_record_id, Xref.master_id).where(
                    among(session, Xref.master_id, chunk)
                )
            )
            .all()
        )
    records = sorted(found)
    live: set[int] = set()
    for chunk in among_chunks(session, records):
        live.update(
            session.connection().scalars(
                select(SourceRecord.id).where(
                    among(session, SourceRecord.id, chunk),
                    SourceRecord.entity == "customer",
                    SourceRecord.status == "ok",
                    SourceRecord.deleted.is_(False),
                )
            )
        )
    return {r: found[r] for r in records if r in live}


# --- scoring with the master's term counts -----------------------------------------------------


class IndexedMatcher(IncrementalMatcher):
    """The engine's matcher over a few candidates, weighing values as the whole master does.

    The engine's term-frequency adjustment counts values in the frame it scores; over the
    candidates of a few new records (found because they share names and places) common
    values would look rare. The counts come from the index instead.
    """

    def __init__(
        self,
        settings: MatchSettings,
        model: MatchModel,
        terms: Mapping[str, tuple[Mapping[str, int], int]],
    ) -> None:
        super().__init__(settings, model)
        self.terms = terms

    def _scores(
        self, frame: pd.DataFrame, left: IntArray, right: IntArray
    ) -> tuple[Any, npt.NDArray[np.float32], npt.NDArray[np.float64], Any]:
        cache = self.cache(frame)
        gamma = compare(cache, self.settings, left, right)
        scores = score(cache, self.settings, self.model, left, right, gamma)
        weights = np.array(scores.weights, dtype=np.float32, copy=True)
        total = np.array(scores.match_weight, dtype=np.float64, copy=True)
        params = self.model.ordered_for(self.settings)
        for k, (comp, p) in enumerate(zip(self.settings.comparisons, params, strict=True)):
            for lv_index, level in enumerate(comp.levels):
                if not level.tf_adjust or cache.is_array(level.column):
                    continue
                counts, n = self.terms.get(level.column, ({}, 0))
                if n <= 0:
                    continue
                at = np.flatnonzero(gamma[:, k] == lv_index)
                if at.size == 0:
                    continue
                st = cache.strings(level.column)
                labels = st.labels[st.codes[left[at]]]
                u = np.array(
                    [counts.get(str(v)[:KEY_LENGTH], 1) / n for v in labels.tolist()],
                    dtype=np.float64,
                )
                w = np.log2(max(float(p.m[lv_index]), _FLOOR) / np.clip(u, _FLOOR, 1.0))
                total[at] += w - weights[at, k]
                weights[at, k] = w
        probability = 1.0 / (1.0 + np.exp2(-np.clip(total, -1000, 1000)))
        return gamma, weights, probability, cache

    def score(
        self, frame: pd.DataFrame, left: IntArray, right: IntArray
    ) -> npt.NDArray[np.float64]:
        """Match probability per pair; a look-alike guard's cap keeps a pair below auto-merge."""
        gamma, _, probability, cache = self._scores(frame, left, right)
        classes = np.asarray(
            classify(cache, self.settings, left, right, gamma, probability).classification
        )
        cap = np.nextafter(self.settings.thresholds.auto_merge, 0.0)
        return np.where(classes == "merge", probability, np.minimum(probability, cap))

    def explain(
        self, frame: pd.DataFrame, left: IntArray, right: IntArray
    ) -> list[list[dict[str, Any]]]:
        """Per pair: the prior and each comparison's level label and weight (they add up)."""
        if len(left) == 0:
            return []
        gamma, weights, _, _ = self._scores(frame, left, right)
        return explanation_lines(self.settings, self.model, gamma, weights)
