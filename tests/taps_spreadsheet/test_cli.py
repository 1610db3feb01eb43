"""The command line as Meltano or `crmhub ingest` runs it: --about, --discover, --config,
--catalog, --state, BATCH messages, and configuration errors. Run in-process through click
(the console script's own entry point) to keep the suite quick; test_bad_input.py and
test_target_jsonl.py run the real executable."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tap_spreadsheet.tap import TapSpreadsheet
from taps_spreadsheet.spreadsheet_files import ROWS, english_text_row, write_text


def run(*args: str) -> Result:
    result = CliRunner().invoke(TapSpreadsheet.cli, list(args))
    return result


def messages(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line]


def test_about_lists_every_setting_with_a_description() -> None:
    result = run("--about", "--format", "json")
    assert result.exit_code == 0, result.output
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


def test_discover_catalog_selection_and_state(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = write_text(
        tmp_path / "klanten.csv",
        [english_text_row(r) for r in ROWS],
        delimiter=",",
        encoding="utf-8",
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"files": [{"path": str(path), "primary_keys": ["klantnummer"]}]}))
    discovered = run("--config", str(config), "--discover")
    assert discovered.exit_code == 0, discovered.output
    catalog = json.loads(discovered.stdout)
    stream = catalog["streams"][0]
    assert stream["tap_stream_id"] == "klanten"
    assert stream["key_properties"] == ["klantnummer"]
    for entry in stream["metadata"]:
        entry["metadata"]["selected"] = entry["breadcrumb"] != ["properties", "e_mail"]
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog))

    first = run("--config", str(config), "--catalog", str(catalog_path))
    assert first.exit_code == 0, first.output
    records = [m["record"] for m in messages(first.stdout) if m["type"] == "RECORD"]
    assert len(records) == len(ROWS)
    assert all("e_mail" not in r and "naam" in r for r in records)
    state = [m["value"] for m in messages(first.stdout) if m["type"] == "STATE"][-1]
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(state))

    second = run(
        "--config", str(config), "--catalog", str(catalog_path), "--state", str(state_path)
    )
    assert second.exit_code == 0, second.output
    assert not [m for m in messages(second.stdout) if m["type"] == "RECORD"]
    assert "1 unchanged since the last run" in caplog.text


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_column_added_since_discovery_goes_to_extra_cells(tmp_path: Path, suffix: str) -> None:
    """A catalog from an older discovery: the records must fit the SCHEMA sent with them."""
    import openpyxl

    path = tmp_path / f"klanten{suffix}"

    def write(rows: list[list[str]]) -> None:
        if suffix == ".csv":
            path.write_text("\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")
            return
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)

    write([["id", "naam"], ["1", "Jan"], ["2", "Piet"]])
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"files": [{"path": str(path), "primary_keys": ["id"]}]}))
    discovered = run("--config", str(config), "--discover")
    assert discovered.exit_code == 0, discovered.output
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"][0]["metadata"]:
        entry["metadata"]["selected"] = True
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog))

    write([["id", "naam", "e-mail"], ["1", "Jan", "jan@example.nl"], ["2", "Piet", ""]])
    result = run("--config", str(config), "--catalog", str(catalog_path))
    assert result.exit_code == 0, result.output
    sent = messages(result.stdout)
    schema = next(m for m in sent if m["type"] == "SCHEMA")["schema"]["properties"]
    records = [m["record"] for m in sent if m["type"] == "RECORD"]
    assert [r["naam"] for r in records] == ["Jan", "Piet"]
    for record in records:
        assert set(record) <= set(schema), set(record) - set(schema)
    assert records[0]["_extra_cells"] == {"e-mail": "jan@example.nl"}


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
    assert result.exit_code == 0, result.output
    batch = [m for m in messages(result.stdout) if m["type"] == "BATCH"]
    assert len(batch) == 1
    assert not [m for m in messages(result.stdout) if m["type"] == "RECORD"]
    records = []
    for uri in batch[0]["manifest"]:
        with gzip.open(uri.removeprefix("file://"), "rt", encoding="utf-8") as handle:
            records += [json.loads(line) for line in handle]
    assert [r["klantnummer"] for r in records] == [1, 2, 3, 4]


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_batch_files_hold_the_records_of_record_mode(tmp_path: Path, compression: str) -> None:
    """BATCH files as configured (plain or gzip), the same records as RECORD messages, a
    STATE with the file's bookmark after them, and nothing again once the file is unchanged."""
    rows = [english_text_row(r) for r in ROWS] * 700  # several batch files
    for number, row in enumerate(rows[1:], 1):
        row[0] = str(number)
    path = write_text(tmp_path / "klanten.csv", rows, delimiter=",", encoding="utf-8")
    batches = tmp_path / "batches"
    batches.mkdir()
    plain = {"files": [{"path": str(path)}]}
    batched = {
        **plain,
        "batch_config": {
            "encoding": {"format": "jsonl", "compression": compression},
            "storage": {"root": batches.as_uri(), "prefix": "k-"},
            "batch_size": 1000,
        },
    }
    config = tmp_path / "config.json"
    config.write_text(json.dumps(plain))
    expected = [
        m["record"] for m in messages(run("--config", str(config)).stdout) if m["type"] == "RECORD"
    ]
    config.write_text(json.dumps(batched))
    result = run("--config", str(config))
    assert result.exit_code == 0, result.output
    sent = messages(result.stdout)
    assert not [m for m in sent if m["type"] == "RECORD"]
    batch = [m for m in sent if m["type"] == "BATCH"]
    assert len(batch) >= 2
    assert all(m["encoding"] == {"format": "jsonl", "compression": compression} for m in batch)
    records: list[dict[str, Any]] = []
    sizes = []
    for message in batch:
        for uri in message["manifest"]:
            file = Path(uri.removeprefix("file://"))
            assert file.name.startswith("k-")
            assert file.name.endswith(".jsonl.gz" if compression == "gzip" else ".jsonl")
            data = file.read_bytes()
            records += [
                json.loads(line)
                for line in (gzip.decompress(data) if compression == "gzip" else data).splitlines()
            ]
            sizes.append(len(records) - sum(sizes))
    assert records == expected
    assert set(sizes[:-1]) == {1000} and 0 < sizes[-1] <= 1000, sizes
    state = [m["value"] for m in sent if m["type"] == "STATE"][-1]
    assert sent.index(batch[-1]) < len(sent) - 1, "a STATE follows the last BATCH"
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(state))
    again = run("--config", str(config), "--state", str(state_path))
    assert again.exit_code == 0, again.output
    assert not [m for m in messages(again.stdout) if m["type"] in ("BATCH", "RECORD")]


def test_config_error_is_one_line_naming_every_problem(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
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
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    line = next(x for x in caplog.messages if "stopped:" in x)
    assert "files[0].stream: unknown setting (did you mean `stream_name`?)" in line
    assert "files[0].column_types.nr: unknown type 'int'" in line


def test_no_matching_file_is_a_config_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"files": [{"path": str(tmp_path / "*.csv")}]}))
    result = run("--config", str(config), "--discover")
    assert result.exit_code == 1
    assert "no file matches path" in caplog.text


def test_discovery_file_error_is_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "kapot.xlsx"
    path.write_bytes(b"not a zip")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"files": [{"path": str(path)}]}))
    result = run("--config", str(config), "--discover")
    assert result.exit_code == 1
    lines = [m for m in caplog.messages if "discovery stopped:" in m]
    assert len(lines) == 1
    assert f"file '{path}': the workbook is corrupt or truncated" in lines[0]


def test_activate_version_records_carry_the_version(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "klanten.csv",
        [english_text_row(r) for r in ROWS],
        delimiter=",",
        encoding="utf-8",
    )
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"files": [{"path": str(path)}], "emit_activate_version_messages": True})
    )
    result = run("--config", str(config))
    assert result.exit_code == 0, result.output
    out = messages(result.stdout)
    version = next(m["version"] for m in out if m["type"] == "ACTIVATE_VERSION")
    records = [m for m in out if m["type"] == "RECORD"]
    assert len(records) == len(ROWS)
    assert all(m["version"] == version for m in records)
