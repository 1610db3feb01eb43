"""A first full match recomputes its golden records chunk by chunk: the chunk size must not
change what is written (golden values, provenance, search keys, clusters, candidates)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from singer_project import Project
from test_match import MAPPING
from test_match_index import candidates, clusters, lines_for, members_by_master, rows, url_of

from crmhub.match import among
from crmhub.synthetic import generate


def golden_rows(url: str) -> set[tuple[str, ...]]:
    """Per cluster of source keys: golden values, provenance, hash and search keys."""
    members = members_by_master(url)
    keys: dict[int, list[str]] = {}
    for golden_id, key in rows(url, "SELECT golden_id, key FROM golden_search_key"):
        keys.setdefault(golden_id, []).append(key)
    out = set()
    for golden_id, master_id, data, provenance, digest, status in rows(
        url, "SELECT id, master_id, data, provenance, content_hash, status FROM golden_record"
    ):
        out.add(
            (
                ",".join(sorted(members.get(master_id, []))),
                orjson.dumps(json.loads(data), option=orjson.OPT_SORT_KEYS).decode(),
                orjson.dumps(json.loads(provenance), option=orjson.OPT_SORT_KEYS).decode(),
                digest,
                status,
                ",".join(sorted(keys.get(golden_id, []))),
            )
        )
    return out


def first_match(folder: Path, records: list[dict[str, Any]]) -> str:
    folder.mkdir()
    project = Project(folder)
    project.mapping = MAPPING
    project.configure(lines_for(records))
    assert project.cli("ingest").exit_code == 0
    result = project.cli("match", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["index"] == "rebuilt"
    return url_of(project)


@pytest.mark.timeout(600)
def test_chunked_recompute_writes_what_one_chunk_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = generate(150, seed=23).records
    whole = first_match(tmp_path / "whole", records)
    # Seven masters per chunk: dozens of chunks, clusters of several records among them.
    monkeypatch.setattr(among, "_AMONG_CHUNK", 7)
    chunked = first_match(tmp_path / "chunked", records)
    got, want = golden_rows(chunked), golden_rows(whole)
    assert len(want) == len(clusters(whole)) > 7 * 10
    assert any("," in members for members, *_ in want)  # some masters merged records
    assert got == want
    assert clusters(chunked) == clusters(whole)
    assert candidates(chunked) == candidates(whole)
