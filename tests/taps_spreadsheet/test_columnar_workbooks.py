"""Workbook rows are converted a chunk at a time, column by column; records, their key
order, row errors and the run summary must be exactly those of the cell-by-cell path."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

import tap_spreadsheet.text_files as text_files
import tap_spreadsheet.workbooks as workbooks
from tap_spreadsheet.rows import RowReader
from taps_spreadsheet.spreadsheet_files import TapRun, run_tap, write_ods, write_xls, write_xlsx

HEADER = ["nr", "naam", "bedrag", "aantal", "geboren", "gewijzigd", "actief", "code"]


def messy_rows(count: int) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for i in range(1, count + 1):
        row: list[Any] = [
            i,
            f"  Zoë {i} " if i % 11 == 0 else f"Zoë {i}",
            i * 1.25,
            i % 40,
            dt.date(1950 + i % 50, i % 12 + 1, i % 28 + 1),
            dt.datetime(2024, 1, 1, 8, i % 60, i % 60),
            i % 3 == 0,
            f"{i:05d}",
        ]
        if i % 97 == 0:
            row[2] = None  # empty cells between typed ones
            row[4] = None
        if i == 500:
            row[3] = 2.5  # a fraction in an integer column
        if i == 700:
            row[2] = "onbekend"  # text in a number column
        if i == 900:
            row[4] = dt.datetime(2020, 1, 1, 0, 0)  # a midnight datetime in a date column
        if i == 1500:
            row[0] = i - 1  # a duplicate key
        if i == 1600:
            row = [None] * len(HEADER)  # a blank row
        if i == 1700:
            row = [*row, "extra"]  # a cell beyond the header
        rows.append(row)
    return rows


def comparable(run: TapRun) -> list[str]:
    # Compared as JSON text: key order and number forms (5 versus 5.0) count too.
    lines = run.messages
    return [
        json.dumps({k: v for k, v in message.items() if k != "time_extracted"}) for message in lines
    ]


def cell_by_cell(self: RowReader) -> Iterator[list[dict[str, Any]]]:
    records = self._workbook_records()
    while chunk := list(islice(records, 1024)):
        yield chunk


def both_paths(monkeypatch: pytest.MonkeyPatch, config: dict[str, Any]) -> tuple[TapRun, TapRun]:
    columnar = run_tap(config)
    workbooks._LOADED_SHEET.clear()
    text_files._DECODED.clear()
    with monkeypatch.context() as patched:
        patched.setattr(RowReader, "_workbook_chunks", cell_by_cell)
        by_cell = run_tap(config)
    workbooks._LOADED_SHEET.clear()
    return columnar, by_cell


@pytest.mark.parametrize("keys", [None, "flag"])
def test_xlsx_columns_match_cell_by_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: str | None
) -> None:
    path = write_xlsx(tmp_path / "klanten.xlsx", messy_rows(2500), title_rows=2, header=HEADER)
    # Declared types, so the odd cells are misfits (inference would widen the column).
    spec: dict[str, Any] = {
        "path": str(path),
        "column_types": {"aantal": "integer", "bedrag": "number", "geboren": "date"},
    }
    config: dict[str, Any] = {"files": [spec]}
    if keys:
        spec["primary_keys"] = ["nr"]
        config["duplicate_key_action"] = keys
    columnar, by_cell = both_paths(monkeypatch, config)
    assert comparable(columnar) == comparable(by_cell)
    assert vars(columnar.tap.summary) == vars(by_cell.tap.summary)
    records = columnar.records()
    assert len(records) == 2499  # less the blank row
    assert records[499]["aantal"] == "2.5"
    assert records[699]["bedrag"] == "onbekend"
    assert records[1698]["_row_error"].startswith("row has cells beyond")
    if keys:
        assert "duplicate primary key" in records[1499]["_row_error"]


def test_trim_off_and_types_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_xlsx(tmp_path / "k.xlsx", messy_rows(300), header=HEADER)
    config = {
        "files": [{"path": str(path), "column_types": {"nr": "string", "gewijzigd": "date"}}],
        "trim_whitespace": False,
    }
    columnar, by_cell = both_paths(monkeypatch, config)
    assert comparable(columnar) == comparable(by_cell)
    assert columnar.records()[10]["naam"] == "  Zoë 11 "


@pytest.mark.parametrize("writer", [write_ods, write_xls])
def test_ods_and_xls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: Any) -> None:
    rows = [
        [i, f"Jan {i}", f"jan{i}@example.nl", i * 1.5, dt.date(1980, 1, i), i % 2 == 0, ""]
        for i in range(1, 29)
    ]
    suffix = ".ods" if writer is write_ods else ".xls"
    path = writer(tmp_path / f"k{suffix}", rows)
    columnar, by_cell = both_paths(monkeypatch, {"files": [{"path": str(path)}]})
    assert comparable(columnar) == comparable(by_cell)
    assert len(columnar.records()) == 28
