"""matching.workers: 'auto' or a number of processes; anything else is named on load."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crmhub.cli import main
from crmhub.config import load_project
from crmhub.errors import ConfigFileError


def _project(tmp_path: Path, workers: str | None) -> Path:
    path = tmp_path / "crmhub.yml"
    line = f"\n  workers: {workers}" if workers is not None else ""
    path.write_text(
        f"version: 1\nmatching:\n  thresholds: {{auto_merge: 0.99, review: 0.8}}{line}\n"
    )
    return path


@pytest.mark.parametrize(
    ("written", "loaded"), [(None, "auto"), ("auto", "auto"), ("3", 3), ("'2'", 2)]
)
def test_auto_or_a_number(tmp_path: Path, written: str | None, loaded: object) -> None:
    assert load_project(_project(tmp_path, written)).config.matching.workers == loaded


@pytest.mark.parametrize("written", ["0", "-1", "many", "1.5", "true", "[2]"])
def test_anything_else_is_an_error_naming_the_field_and_line(tmp_path: Path, written: str) -> None:
    with pytest.raises(ConfigFileError) as info:
        load_project(_project(tmp_path, written))
    [problem] = info.value.problems
    assert (problem.path, problem.line) == ("matching.workers", 4)
    assert "must be 'auto' or a whole number of processes >= 1" in problem.message


def test_the_cli_reports_it_with_the_configuration_exit_code(tmp_path: Path) -> None:
    path = _project(tmp_path, "lots")
    result = CliRunner().invoke(main, ["--project", str(path), "match"])
    assert result.exit_code == 78
    assert "matching.workers (line 4): must be 'auto'" in result.output


def test_match_rejects_a_bad_workers_option_before_running(tmp_path: Path) -> None:
    path = _project(tmp_path, None)
    result = CliRunner().invoke(main, ["--project", str(path), "match", "--workers", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--workers'" in result.output
