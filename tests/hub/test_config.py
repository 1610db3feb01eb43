"""Project file: validated on load, every problem reported at once with key path and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crmhub.cli import main
from crmhub.config import load_project
from crmhub.errors import ConfigFileError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "crmhub.yml"
    path.write_text(text)
    return path


def test_init_writes_a_project_that_loads(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "proj")])
    assert result.exit_code == 0, result.output
    project = load_project(tmp_path / "proj")
    assert project.config.master.url == "sqlite:///master.db"
    assert project.master_url() == f"sqlite:///{tmp_path / 'proj' / 'master.db'}"
    assert "webshop" in project.config.sources
    again = CliRunner().invoke(main, ["init", str(tmp_path / "proj")])
    assert again.exit_code == 78 and "already exists" in again.output


def test_every_problem_is_reported_at_once_with_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """version: 1
master:
  url: sqlite:///m.db
  bogus_key: 1
sources:
  shop:
    tap: tap-x
    streamz: {}
matching:
  thresholds: {auto_merge: 0.5, review: 0.9}
""",
    )
    with pytest.raises(ConfigFileError) as info:
        load_project(path)
    found = {(p.path, p.line) for p in info.value.problems}
    assert ("master.bogus_key", 4) in found
    assert ("sources.shop.streamz", 8) in found
    assert any(
        p.path == "matching.thresholds" and "must be below" in p.message
        for p in info.value.problems
    )
    assert "3 problems" in info.value.message


def test_env_vars_fill_secrets_and_missing_ones_are_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nmaster:\n  url: postgresql+psycopg://app:${DB_PASS}@db/crm\n"
        "sources:\n  erp:\n    tap: tap-sql\n    config: {password: '${ERP_PASS}', user: '${ERP_USER:-crm}'}\n",
    )
    project = load_project(path, environ={"DB_PASS": "s3cret-pw", "ERP_PASS": "erp-pw"})
    assert project.config.master.url.endswith("app:s3cret-pw@db/crm")
    assert project.config.sources["erp"].config == {"password": "erp-pw", "user": "crm"}
    assert project.secrets == {"s3cret-pw", "erp-pw"}
    with pytest.raises(ConfigFileError) as info:
        load_project(path, environ={})
    messages = [str(p) for p in info.value.problems]
    assert any("DB_PASS is not set" in m and "(line 3)" in m for m in messages)
    assert any("ERP_PASS is not set" in m for m in messages)


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nsources:\n  shop: [unclosed\n")
    with pytest.raises(ConfigFileError) as info:
        load_project(path)
    assert info.value.problems[0].line is not None and "column" in info.value.problems[0].message


def test_missing_mapping_file_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nsources:\n  shop:\n    tap: tap-x\n    streams:\n      customers:\n"
        "        mapping: mappings/nope.yml\n",
    )
    with pytest.raises(ConfigFileError) as info:
        load_project(path)
    assert str(info.value.problems[0]) == (
        "sources.shop.streams.customers.mapping (line 7): mapping file mappings/nope.yml does not exist"
    )


def test_secrets_and_personal_data_are_masked_in_logs() -> None:
    from crmhub.logs import mask_personal_data

    text = "login pw=hunter22 for jan.jansen@example.nl, call +31 6 1234 5678"
    masked = mask_personal_data(text, {"hunter22"})
    assert "hunter22" not in masked and "jan.jansen" not in masked and "1234 5678" not in masked
    assert "j***@example.nl" in masked and masked.endswith("78")
