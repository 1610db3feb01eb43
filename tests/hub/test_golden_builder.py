"""An incremental match builds its golden records on another core (recompute.GoldenBuilder):
what it writes must not depend on it, and a builder that fails or gets no job changes
nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from singer_project import Project
from test_full_match_chunks import golden_rows
from test_match import MAPPING
from test_match_index import candidates, changed, clusters, lines_for, url_of

from crmhub.match import recompute
from crmhub.match.recompute import GoldenBuilder, build_goldens, survivorship_config
from crmhub.synthetic import generate

_forks: list[int] = []
os.register_at_fork(after_in_parent=lambda: _forks.append(1))


def two_runs(
    folder: Path, steps: list[list[dict[str, Any]]], workers: str, url: str | None = None
) -> str:
    """A first (full) match, then incremental ones, each with ``--workers``."""
    folder.mkdir()
    project = Project(folder)
    project.mapping = MAPPING
    if url is not None:
        project.master_url = url
    for k, records in enumerate(steps):
        project.configure(lines_for(records))
        assert project.cli("ingest").exit_code == 0
        result = project.cli("match", "--json", "--workers", workers)
        assert result.exit_code == 0, result.output
        assert orjson.loads(result.output)["index"] == ("used" if k else "rebuilt")
    return url_of(project)


@pytest.mark.timeout(600)
def test_incremental_match_writes_the_same_with_and_without_a_builder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, master_url: str
) -> None:
    recs = generate(300, seed=31).records
    first = recs[: len(recs) * 2 // 3]
    # new records, every 7th old record changed, then a few gone from the source
    second = changed(first, 7) + recs[len(first) :]
    third = changed(second, 5)[10:]
    steps = [first, second, third]
    # a builder for every incremental run of this small project
    monkeypatch.setattr(recompute, "MIN_GOLDENS_FOR_BUILDER", 5)
    forks = len(_forks)
    # the builder's master on SQLite and PostgreSQL, the reference on SQLite
    built = two_runs(tmp_path / "builder", steps, "2", master_url)
    assert len(_forks) - forks >= 2  # one builder per incremental run
    forks = len(_forks)
    alone = two_runs(tmp_path / "alone", steps, "1")
    assert len(_forks) == forks
    assert any("," in members for members, *_ in golden_rows(alone))  # some merged records
    assert golden_rows(built) == golden_rows(alone)
    assert clusters(built) == clusters(alone)
    assert candidates(built) == candidates(alone)


def _todo(count: int) -> list[Any]:
    """Items for build_goldens: two members each, one without a time stamp of its own."""
    items = []
    for k in range(count):
        members = [
            (
                2 * k + 1,
                "crm",
                orjson.dumps(
                    {"kind": "person", "given_name": "Anna", "family_name": f"Berg{k}"}
                ).decode(),
                "2024-01-02T00:00:00+00:00",
            ),
            (
                2 * k + 2,
                "erp",
                orjson.dumps(
                    {
                        "kind": "person",
                        "full_name": f"ANNA BERG{k}",
                        "emails": [f"anna{k}@example.org"],
                        "phones": ["+31 6 1234 5678"],
                        "updated_at": "2023-05-01T00:00:00+00:00",
                    }
                ).decode(),
                "2024-01-03T00:00:00+00:00",
            ),
        ]
        items.append((f"M{k}", {"tags": ["vip"]} if k % 3 == 0 else None, None, "active", members))
    return items


def test_the_builder_builds_what_this_process_builds() -> None:
    rules = survivorship_config({"crm": 1, "erp": 2})
    todo = _todo(40)
    with GoldenBuilder(rules) as builder:
        builder.start(expected=recompute.MIN_GOLDENS_FOR_BUILDER)
        pid = builder.pid
        assert pid and builder.submit(todo)
        assert builder.result() == build_goldens(todo, rules)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped


def test_a_failing_builder_answers_none_and_an_idle_one_ends_with_its_block() -> None:
    rules = survivorship_config({"crm": 1, "erp": 2})
    broken = [("M1", None, None, "active", [(1, "crm", "{not json", "2024-01-02T00:00:00")])]
    with GoldenBuilder(rules) as builder:
        builder.start(expected=recompute.MIN_GOLDENS_FOR_BUILDER)
        assert builder.submit(broken)
        assert builder.result() is None
    with GoldenBuilder(rules) as idle:
        idle.start(expected=recompute.MIN_GOLDENS_FOR_BUILDER)
        pid = idle.pid
        assert pid
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    with GoldenBuilder(rules) as small:
        small.start(expected=recompute.MIN_GOLDENS_FOR_BUILDER - 1)
        assert not small.pid and not small.submit(_todo(3))  # too few: built in-process
