"""One tap, several streams: every format in one config, run as the real process."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .conftest import XML_FIELDS, XML_NAMESPACES
from .helpers import run_tap


def _streams(base: Path) -> list[dict[str, Any]]:
    return [
        {
            "name": "host",
            "format": "copybook",
            "path": str(base / "customers.ebc"),
            "copybook": str(base / "customer.cpy"),
            "codepage": "cp1141",
            "key_properties": ["cust_id"],
        },
        {
            "name": "fixed",
            "format": "fixed_width",
            "path": str(base / "customers.txt"),
            "layout": str(base / "layout.yml"),
            "skip_lines": 1,
        },
        {"name": "fox", "format": "dbf", "path": str(base / "clients.dbf")},
        {"name": "phone", "format": "vcard", "path": str(base / "contacts.vcf")},
        {"name": "ldap", "format": "ldif", "path": str(base / "contacts.ldif")},
        {
            "name": "crm",
            "format": "xml",
            "path": str(base / "crm.xml"),
            "record_path": "//crm:customer",
            "fields": XML_FIELDS,
            "namespaces": XML_NAMESPACES,
        },
    ]


def test_all_formats_in_one_run(legacy_dir: Path, tmp_path: Path) -> None:
    run = run_tap(tmp_path, _streams(legacy_dir))
    assert run.returncode == 0, run.stderr
    counts = {
        name: len(run.records(name)) for name in ("host", "fixed", "fox", "phone", "ldap", "crm")
    }
    assert counts == {"host": 3, "fixed": 3, "fox": 3, "phone": 3, "ldap": 2, "crm": 3}
    schemas = {m["stream"]: m for m in run.messages if m["type"] == "SCHEMA"}
    assert schemas["host"]["key_properties"] == ["cust_id"]
    assert schemas["fox"]["key_properties"] == ["_source_file", "_record_number"]
    # records and their STATE: every stream ends with a STATE after its last record
    last_record = max(i for i, m in enumerate(run.messages) if m["type"] == "RECORD")
    assert any(m["type"] == "STATE" for m in run.messages[last_record:])
    assert "1 deleted rows skipped" in run.stderr
    # decimals travel as exact strings through the JSON lines
    assert run.records("fox")[0]["balance"] == "1234.50"
    assert run.records("host")[0]["balance"] == "-1234.56"


def test_structural_and_config_errors_exit_codes(legacy_dir: Path, tmp_path: Path) -> None:
    lone = tmp_path / "lone.dbf"
    shutil.copy(legacy_dir / "clients.dbf", lone)
    run = run_tap(tmp_path, [{"name": "fox", "format": "dbf", "path": str(lone)}])
    assert run.returncode == 65
    assert (
        f"tap-legacy: {lone}: the table has memo fields but its memo file is missing" in run.stderr
    )
    assert "Traceback" not in run.stderr

    run = run_tap(
        tmp_path,
        [{"name": "x", "format": "copybook", "path": str(legacy_dir / "customers.ebc")}],
    )
    assert run.returncode == 78
    assert "stream 'x' (format copybook) needs the setting 'copybook'" in run.stderr
