"""The CLI contract: help everywhere, exit codes by error kind, docs generated from --help."""

from __future__ import annotations

import inspect
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import crmhub.errors as errors
from crmhub.cli import main
from crmhub.cli.reference import render_reference

ROOT = Path(__file__).resolve().parents[2]


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("path", _commands(main))
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output and len(result.output.splitlines()) > 3


def test_docs_cli_reference_is_current() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text()
    assert doc == render_reference(), (
        "docs/cli.md is out of date: run `python -m crmhub.cli.reference > docs/cli.md`"
    )


def test_every_error_derives_from_exactly_one_recovery_base() -> None:
    bases = (
        errors.ConfigurationError,
        errors.RetriableError,
        errors.SkippableRecordError,
        errors.FatalError,
    )
    assert len({b.exit_code for b in bases}) == 4
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if not issubclass(cls, errors.CrmhubError) or cls in (errors.CrmhubError, *bases):
            continue
        assert sum(issubclass(cls, b) for b in bases) == 1, cls


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.ConfigurationError("bad key"), 78),
        (errors.MasterLockedError("locked"), 75),
        (errors.RecordMappingError("bad record"), 65),
        (errors.TapFailedError("tap died"), 70),
    ],
)
def test_cli_renders_errors_as_one_line_with_their_exit_code(
    error: errors.CrmhubError, code: int
) -> None:
    @main.command("raise-for-test", hidden=True)
    def raiser() -> None:
        raise error

    try:
        result = CliRunner().invoke(main, ["raise-for-test"])
    finally:
        main.commands.pop("raise-for-test")
    assert result.exit_code == code
    assert result.output.strip().splitlines()[0] == f"error: {error.message}"
    assert "Traceback" not in result.output


def test_usage_error_exits_2() -> None:
    assert CliRunner().invoke(main, ["runs", "--no-such-option"]).exit_code == 2


def test_missing_project_file_is_a_configuration_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["-p", str(tmp_path), "status"])
    assert result.exit_code == 78
    assert "crmhub.yml does not exist" in result.output and "crmhub init" in result.output
