"""The console script as Meltano or `crmhub ingest` runs it: --about, --discover, --config,
--catalog, --state, BATCH messages, and configuration errors."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from taps_spreadsheet.spreadsheet_files import ROWS, english_text_row, write_text

TAP = str(Path(sys.executable).parent / "tap-spreadsheet")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TAP, *args], capture_output=True, text=True, check=False)


def messages(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line]


def test_about_lists_every_setting_with_a_description() -> None:
    result = run("--about", "--format", "json")
    assert result.returncode == 0, result.stderr
    about = json.loads(result.stdout)
    settings = about["settings"]["properties"]
    for name in (
        "files",
        "on_file_error",
        "duplicate_key_action",
        "infer_rows",
        "header_scan_rows",
        "trim_whitespace",
    ):
        assert settings[name]["description"], name
    entry = settings["files"]["items"]["properties"]
    for name in (
        "path",
        "stream_name",
        "sheets",
        "merge_sheets",
        "header_row",
        "encoding",
        "delimiter",
        "quotechar",
        "decimal_separator",
        "date_order",
        "primary_keys",
        "column_types",
    ):
        assert entry[name]["description"], name
    assert "batch" in about["capabilities"]


def test_discover_catalog_selection_and_state(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "klanten.csv",
        [english_text_row(r) for r in ROWS],
        delimiter=",",
        encoding="utf-8",
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"files": [{"path": str(path), "primary_keys": ["klantnummer"]}]}))
    discovered = run("--config", str(config), "--discover")
    assert discovered.returncode == 0, discovered.stderr
    catalog = json.loads(discovered.stdout)
    stream = catalog["streams"][0]
    assert stream["tap_stream_id"] == "klanten"
    assert stream["key_properties"] == ["klantnummer"]
    for entry in stream["metadata"]:
        entry["metadata"]["selected"] = entry["breadcrumb"] != ["properties", "e_mail"]
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog))

    first = run("--config", str(config), "--catalog", str(catalog_path))
    assert first.returncode == 0, first.stderr
    records = [m["record"] for m in messages(first.stdout) if m["type"] == "RECORD"]
    assert len(records) == len(ROWS)
    assert all("e_mail" not in r and "naam" in r for r in records)
    state = [m["value"] for m in messages(first.stdout) if m["type"] == "STATE"][-1]
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(state))

    second = run(
        "--config", str(config), "--catalog", str(catalog_path), "--state", str(state_path)
    )
    assert second.returncode == 0, second.stderr
    assert not [m for m in messages(second.stdout) if m["type"] == "RECORD"]
    assert "1 unchanged since the last run" in second.stderr


def test_batch_messages(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "klanten.csv",
        [english_text_row(r) for r in ROWS],
        delimiter=",",
        encoding="utf-8",
    )
    batches = tmp_path / "batches"
    batches.mkdir()
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "files": [{"path": str(path)}],
                "batch_config": {
                    "encoding": {"format": "jsonl", "compression": "gzip"},
                    "storage": {"root": batches.as_uri()},
                },
            }
        )
    )
    result = run("--config", str(config))
    assert result.returncode == 0, result.stderr
    batch = [m for m in messages(result.stdout) if m["type"] == "BATCH"]
    assert len(batch) == 1
    assert not [m for m in messages(result.stdout) if m["type"] == "RECORD"]
    records = []
    for uri in batch[0]["manifest"]:
        with gzip.open(uri.removeprefix("file://"), "rt", encoding="utf-8") as handle:
            records += [json.loads(line) for line in handle]
    assert [r["klantnummer"] for r in records] == [1, 2, 3, 4]


def test_config_error_is_one_line_naming_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "files": [
                    {
                        "path": str(tmp_path / "x.csv"),
                        "stream": "klanten",
                        "column_types": {"nr": "int"},
                    }
                ]
            }
        )
    )
    result = run("--config", str(config))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    line = next(x for x in result.stderr.splitlines() if "stopped:" in x)
    assert "files[0].stream: unknown setting (did you mean `stream_name`?)" in line
    assert "files[0].column_types.nr: unknown type 'int'" in line


def test_no_matching_file_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"files": [{"path": str(tmp_path / "*.csv")}]}))
    result = run("--config", str(config), "--discover")
    assert result.returncode == 1
    assert "no file matches path" in result.stderr
