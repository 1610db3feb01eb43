"""`crmhub match --workers N`: a full match normalizes in N processes and writes the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from singer_project import Project
from test_full_match_chunks import golden_rows
from test_match import MAPPING
from test_match_index import candidates, clusters, lines_for, url_of

from crmhub.synthetic import generate


def _first_match(folder: Path, lines: list[str], workers: str) -> str:
    folder.mkdir()
    project = Project(folder)
    project.mapping = MAPPING
    project.configure(lines)
    assert project.cli("ingest").exit_code == 0
    result = project.cli("match", "--json", "--workers", workers)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["index"] == "rebuilt"
    return url_of(project)


@pytest.mark.timeout(600)
def test_two_workers_write_what_one_process_writes(tmp_path: Path) -> None:
    lines = lines_for(generate(400, seed=31).records)
    one = _first_match(tmp_path / "one", lines, "1")
    two = _first_match(tmp_path / "two", lines, "2")
    want = golden_rows(one)
    assert len(want) > 300 and any("," in members for members, *_ in want)
    assert golden_rows(two) == want
    assert clusters(two) == clusters(one)
    assert candidates(two) == candidates(one)
