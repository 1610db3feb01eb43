"""`crmhub match` through the match index: the same decisions as loading the whole master.

Each case runs a project twice from the same source data: once incrementally through the
index, once with the index thrown away before the incremental run (the stage then loads and
normalizes the whole master, the way it always did). Clusters, review candidates and golden
records must be the same. After the runs, the stored index must equal one rebuilt from
scratch over the live records.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from singer_project import Project, record, schema
from sqlalchemy import create_engine, text
from test_match import FIELDS, MAPPING, flat

from crmhub.synthetic import generate


def lines_for(records: list[dict[str, Any]]) -> list[str]:
    return [schema(fields=FIELDS)] + [record(**flat(r, r["record_id"])) for r in records]


def rows(url: str, sql: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def execute(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def url_of(project: Project) -> str:
    if project.master_url.startswith("sqlite:///") and not project.master_url.startswith(
        "sqlite:////"
    ):
        return f"sqlite:///{project.root / project.master_url.removeprefix('sqlite:///')}"
    return project.master_url


def clusters(url: str) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for key, master_id in rows(
        url,
        "SELECT s.source_key, x.master_id FROM xref x JOIN source_record s "
        "ON s.id = x.source_record_id WHERE s.entity = 'customer'",
    ):
        groups.setdefault(master_id, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def candidates(url: str) -> set[tuple[str, str, float]]:
    return {
        (a, b, round(float(score), 6))
        for a, b, score in rows(
            url,
            "SELECT l.source_key, r.source_key, c.score FROM match_candidate c "
            "JOIN source_record l ON l.id = c.left_record_id "
            "JOIN source_record r ON r.id = c.right_record_id WHERE c.status = 'pending'",
        )
    }


def members_by_master(url: str) -> dict[str, list[str]]:
    """Master id -> the source keys of its customer records."""
    members: dict[str, list[str]] = {}
    for key, master_id in rows(
        url,
        "SELECT s.source_key, x.master_id FROM xref x JOIN source_record s "
        "ON s.id = x.source_record_id WHERE s.entity = 'customer'",
    ):
        members.setdefault(master_id, []).append(key)
    return members


def goldens(url: str) -> set[tuple[str, ...]]:
    """Golden values per cluster of source keys (master ids are random)."""
    members = members_by_master(url)
    out = set()
    for master_id, data in rows(
        url, "SELECT master_id, data FROM golden_record WHERE status = 'active'"
    ):
        keys = ",".join(sorted(members.get(master_id, [])))
        out.add((keys, orjson.dumps(json.loads(data), option=orjson.OPT_SORT_KEYS).decode()))
    return out


def changed(records: list[dict[str, Any]], every: int) -> list[dict[str, Any]]:
    """Every ``every``-th record with a new email and phone (a changed source row)."""
    out = []
    for k, rec in enumerate(records):
        rec = dict(rec)
        if k % every == 0:
            rec["emails"] = [f"changed{k}@example.org"]
            rec["phones"] = []
        out.append(rec)
    return out


def run_twice(project: Project, reference: Project, steps: list[list[dict[str, Any]]]) -> None:
    """Ingest and match each step's records in both projects; the reference loses its index
    before every match after the first, so it loads the whole master."""
    for k, records in enumerate(steps):
        for p in (project, reference):
            p.configure(lines_for(records))
            assert p.cli("ingest").exit_code == 0
        if k:
            execute(url_of(reference), "DELETE FROM state WHERE scope = 'match'")
        for p, expected in ((project, "used" if k else "rebuilt"), (reference, "rebuilt")):
            result = p.cli("match", "--json")
            assert result.exit_code == 0, result.output
            assert json.loads(result.output)["index"] == expected


def assert_index_is_current(url: str) -> None:
    """The stored index equals one rebuilt from the live records now."""
    from crmhub.match import index
    from crmhub.match.recompute import engine_record
    from crmhub_dedupe.normalize import normalize_frame
    from crmhub_dedupe.settings import MatchSettings

    settings = MatchSettings.default()
    live = rows(
        url,
        "SELECT id, source, canonical, last_seen, match_state FROM source_record "
        "WHERE entity = 'customer' AND status = 'ok' AND deleted = FALSE ORDER BY id",
    )

    class Row:
        def __init__(self, r: tuple[Any, ...]) -> None:
            self.id, self.source, canonical, _, self.match_state = r
            self.last_seen = datetime.now(UTC)  # only feeds updated_at, not compared
            self.canonical = json.loads(canonical)

    frame = normalize_frame([engine_record(Row(r)) for r in live]).frame
    keys = index.blocking_keys(frame, settings)
    ids = frame["record_id"].astype(int).to_numpy()
    expected_keys = {
        (int(rule), key, int(ids[row]))
        for row, rule, key in zip(keys["row"], keys["rule"], keys["key"], strict=True)
    }
    # keys of incremental runs wait in match_key_recent until merged: both together are
    # the index, and no key is in both
    key_rows = [
        (int(r), k, int(i))
        for table in ("match_key", "match_key_recent")
        for r, k, i in rows(url, f"SELECT rule, key, source_record_id FROM {table}")
    ]
    stored_keys = set(key_rows)
    assert len(stored_keys) == len(key_rows)
    assert stored_keys == expected_keys
    info = index.frame_info(frame, settings)
    expected_forms = dict(
        zip(ids.tolist(), [f.decode() for f in index._forms(frame, info)], strict=True)
    )
    stored_forms = dict(rows(url, "SELECT source_record_id, form FROM match_form"))
    assert set(stored_forms) == set(expected_forms)
    # updated_at comes from last_seen for sources without a timestamp; compare the rest
    at = list(info.columns).index("updated_at")
    for rid, form in stored_forms.items():
        got, want = json.loads(form), json.loads(expected_forms[rid])
        got[at] = want[at] = None
        assert got == want, rid
    expected_terms = {
        (column, value, n)
        for column, counts in index.term_counts(frame, settings).items()
        for value, n in counts.items()
    }
    assert set(rows(url, 'SELECT "column", value, count FROM match_term')) == expected_terms


@pytest.mark.slow
@pytest.mark.timeout(900)  # eight ingest and match runs; the shared machine can be slow
def test_incremental_through_the_index_decides_as_the_whole_master(
    tmp_path: Any, master_url: str
) -> None:
    data = generate(400, seed=11)
    recs = data.records
    for name in ("indexed", "reference"):
        (tmp_path / name).mkdir()
    project, reference = Project(tmp_path / "indexed"), Project(tmp_path / "reference")
    project.master_url = master_url
    for p in (project, reference):
        p.mapping = MAPPING
    first = recs[: len(recs) * 2 // 3]
    # second run: a third of the records are new, every 7th old one changed
    second = changed(first, 7) + recs[len(first) :]
    # third run: a few records gone from the source, one more change
    third = changed(second, 5)[10:]
    run_twice(project, reference, [first, second])
    url, ref = url_of(project), url_of(reference)
    assert clusters(url) == clusters(ref)
    assert candidates(url) == candidates(ref)
    assert goldens(url) == goldens(ref)
    assert_index_is_current(url)
    # deletions (records no longer sent by a full-table source are not deleted by ingest
    # alone, so mark them as `crmhub sync` would) and changes in one run
    for p in (project, reference):
        p.configure(lines_for(third))
        assert p.cli("ingest").exit_code == 0
    gone = "','".join(r["record_id"] for r in second[:10])
    for u in (url, ref):
        execute(u, f"UPDATE source_record SET deleted = TRUE WHERE source_key IN ('{gone}')")
    execute(ref, "DELETE FROM state WHERE scope = 'match'")
    for p, expected in ((project, "used"), (reference, "rebuilt")):
        result = p.cli("match", "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.output)
        assert summary["index"] == expected and summary["deleted"] == 10
    assert clusters(url) == clusters(ref)
    assert candidates(url) == candidates(ref)
    assert goldens(url) == goldens(ref)
    assert_index_is_current(url)


def test_full_and_changed_engine_rebuild_the_index(project: Project, master_url: str) -> None:
    person = {"kind": "person", "given": "Anna", "family": "Bakker", "city": "Utrecht"}
    project.master_url = master_url
    project.mapping = MAPPING
    project.configure(
        [
            schema(fields=FIELDS),
            record(id="a1", email="anna@example.nl", **person),
            record(id="a2", email="anna@example.nl", **person),
        ]
    )
    assert project.cli("ingest").exit_code == 0
    result = project.cli("match", "--json")
    assert json.loads(result.output)["index"] == "rebuilt"
    url = url_of(project)
    assert len(rows(url, "SELECT * FROM match_form")) == 2
    # a new record that shares the email joins the existing master through the index
    project.configure(
        [
            schema(fields=FIELDS),
            record(id="a1", email="anna@example.nl", **person),
            record(id="a2", email="anna@example.nl", **person),
            record(id="a3", email="anna@example.nl", **person),
        ]
    )
    assert project.cli("ingest").exit_code == 0
    result = project.cli("match", "--json")
    summary = json.loads(result.output)
    assert summary["index"] == "used" and summary["changed"] == 1
    assert len(clusters(url)) == 1
    # another engine version (normalization, settings) made the stored forms: rebuilt
    execute(
        url,
        'UPDATE state SET value = \'{"fingerprint": "old", "columns": [], '
        "\"array_columns\": []}' WHERE scope = 'match' AND name = 'index'",
    )
    assert json.loads(project.cli("match", "--json").output)["index"] == "rebuilt"
    assert json.loads(project.cli("match", "--json").output)["index"] == "used"
    assert json.loads(project.cli("match", "--full", "--json").output)["index"] == "rebuilt"
    assert len(rows(url, "SELECT * FROM match_form")) == 3
    assert_index_is_current(url)


def test_recent_keys_wait_beside_match_key_and_merge_when_grown(
    project: Project, master_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crmhub.match import index

    person = {"kind": "person", "given": "Anna", "family": "Bakker", "city": "Utrecht"}
    project.master_url = master_url
    project.mapping = MAPPING
    sent: list[str] = []

    def run_with(*ids: str) -> dict[str, Any]:
        sent.extend(ids)
        project.configure(
            [schema(fields=FIELDS)]
            + [record(id=i, email="anna@example.nl", **person) for i in sent]
        )
        assert project.cli("ingest").exit_code == 0
        result = project.cli("match", "--json")
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.output))

    def state() -> dict[str, Any]:
        (value,) = rows(url_of(project), "SELECT value FROM state WHERE scope = 'match'")[0]
        return dict(json.loads(value) if isinstance(value, str) else value)

    def count(table: str) -> int:
        return int(rows(url_of(project), f"SELECT count(*) FROM {table}")[0][0])

    assert run_with("a1", "a2")["index"] == "rebuilt"
    built = count("match_key")
    assert built > 0 and count("match_key_recent") == 0
    assert state()["main_keys"] == built
    # an incremental run's keys go to the recent table; match_key is not written
    assert run_with("a3")["index"] == "used"
    assert count("match_key") == built and count("match_key_recent") > 0
    assert len(clusters(url_of(project))) == 1
    assert_index_is_current(url_of(project))
    # the recent table past its share: the run merges it, in the same transaction
    monkeypatch.setattr(index, "_RECENT_FLOOR", 0)
    monkeypatch.setattr(index, "_RECENT_SHARE", 10**9)
    assert run_with("a4")["index"] == "used"
    assert count("match_key_recent") == 0
    assert count("match_key") > built
    assert state()["main_keys"] == count("match_key")
    assert len(clusters(url_of(project))) == 1
    assert_index_is_current(url_of(project))
