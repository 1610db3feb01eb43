"""`--discover` samples large XLSX sheets instead of loading them whole: the schema it
learns must be the one a whole-sheet read learns, whatever the sheet looks like further
down (ragged rows, first columns used late, blank stretches, merged title cells)."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tap_spreadsheet import workbooks
from tap_spreadsheet.config import settings_from_config
from tap_spreadsheet.discovery import StreamPlan, plan_streams
from tap_spreadsheet.errors import SpreadsheetFileError
from tap_spreadsheet.xlsx_sample import _cut_sheet, sample_workbook

TAP = str(Path(sys.executable).parent / "tap-spreadsheet")
HEADER = ["Klantnummer", "Naam", "Bedrag", "Datum", "Actief"]
ROWS = 400
# infer_rows 50: discovery samples 30 + 50 + 100 = 180 of the 400 rows
CONFIG: dict[str, Any] = {"infer_rows": 50}


def data_row(i: int) -> list[Any]:
    return [i, f"Klant {i}", i * 1.25, dt.date(2020, 1, 1) + dt.timedelta(days=i), i % 2 == 0]


def write_book(path: Path, edit: Any = None, *, title: bool = True) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Klanten"
    if title:
        sheet.append(["Klantenlijst export"])
        sheet.merge_cells("A1:C1")
    sheet.append(HEADER)
    for i in range(1, ROWS + 1):
        sheet.append(data_row(i))
    if edit is not None:
        edit(book, sheet)
    book.save(path)
    return path


def raise_error(error: SpreadsheetFileError) -> None:
    raise error


def plans(config: dict[str, Any], *, sample_only: bool) -> list[dict[str, Any]]:
    settings = settings_from_config({**CONFIG, **config})
    workbooks._LOADED_SHEET.clear()
    return [describe(p) for p in plan_streams(settings, raise_error, sample_only=sample_only)]


def describe(plan: StreamPlan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "schema": plan.schema(),
        "keys": plan.primary_keys,
        "formats": {k: repr(v) for k, v in plan.formats.items()},
    }


def late_column_a(book: openpyxl.Workbook, sheet: Any) -> None:
    # the sample's rows start at column B; row 300 uses column A
    sheet.insert_cols(1)
    sheet["A300"] = "opmerking"


def ragged_late_row(book: openpyxl.Workbook, sheet: Any) -> None:
    sheet.cell(row=350, column=9, value="te veel")


def blank_stretch(book: openpyxl.Workbook, sheet: Any) -> None:
    # 250 blank rows right under the header, written as rows (a formatted empty cell each)
    sheet.insert_rows(3, amount=250)
    for row in range(3, 253):
        sheet.cell(row=row, column=2).font = openpyxl.styles.Font(bold=True)


def ragged_stretch(book: openpyxl.Workbook, sheet: Any) -> None:
    # 150 ragged rows under the header do not count towards infer_rows: the 180-row
    # sample runs out of rows to infer from and must read on into the whole sheet
    for row in range(3, 153):
        sheet.cell(row=row, column=9, value="te veel")
    # beyond the sample's rows but within the 50 rows inferred from: Bedrag is text
    sheet.cell(row=190, column=3, value="n.v.t.")


def type_change_late(book: openpyxl.Workbook, sheet: Any) -> None:
    sheet["A60"] = "K-60"  # within infer_rows: the column is a string column either way


def second_sheet(book: openpyxl.Workbook, sheet: Any) -> None:
    other = book.create_sheet("Tweede")
    other.append(HEADER)
    for i in range(1, ROWS + 1):
        other.append(data_row(i + 1000))


CASES = {
    "plain": (None, {}),
    "ragged row further down": (ragged_late_row, {}),
    "first column used further down": (late_column_a, {}),
    "blank rows under the header": (blank_stretch, {}),
    "ragged rows under the header": (ragged_stretch, {}),
    "type decided within the sample": (type_change_late, {}),
    "all sheets, one stream each": (second_sheet, {"sheets": ["*"]}),
    "all sheets merged": (second_sheet, {"sheets": ["*"], "merge_sheets": True}),
    "header row configured": (None, {"header_row": 2}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sampled_discovery_learns_the_whole_sheet_schema(tmp_path: Path, case: str) -> None:
    edit, extra = CASES[case]
    book = write_book(tmp_path / "klanten.xlsx", edit)
    config = {"files": [{"path": str(book), **extra}]}
    assert plans(config, sample_only=True) == plans(config, sample_only=False)


def test_a_small_sheet_is_not_sampled_and_a_large_one_is(tmp_path: Path) -> None:
    book = write_book(tmp_path / "klanten.xlsx")
    assert workbooks.read_sheet_sample(str(book), "Klanten", ROWS + 10) is None
    assert workbooks.read_sheet_sample(str(book), "Klanten", 180) is not None
    assert workbooks.read_sheet_sample(str(book), "Klanten", 0) is None


def test_a_sample_reads_on_exactly_like_the_whole_sheet(tmp_path: Path) -> None:
    book = write_book(tmp_path / "klanten.xlsx", ragged_late_row)
    sample = workbooks.read_sheet_sample(str(book), "Klanten", 25)
    assert sample is not None
    workbook = workbooks.open_workbook(str(book))
    try:
        whole = workbooks.read_sheet_table(str(book), workbook, "Klanten")
    finally:
        workbook.close()
    sampled_rows = [(n, [c for c in cells if c != ""]) for n, cells in sample.rows()]
    whole_rows = [(n, [c for c in cells if c != ""]) for n, cells in whole.rows()]
    assert len(whole_rows) == ROWS + 2
    assert sampled_rows == whole_rows
    assert sample.merged_ranges == whole.merged_ranges == [(0, 0, 0, 2)]


class TinyReads(io.RawIOBase):
    """A stream that hands out a few bytes at a time, so tags fall across reads."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size, self.pos = data, size, 0

    def read(self, n: int = -1) -> bytes:
        limit = len(self.data) if n < 0 else min(n, self.size)
        chunk = self.data[self.pos : self.pos + limit]
        self.pos += len(chunk)
        return chunk


@pytest.mark.parametrize("size", [1, 3, 7, 1 << 20])
@pytest.mark.parametrize("prefix", ["", "x:"])
def test_cut_counts_closing_tags_across_reads(
    monkeypatch: pytest.MonkeyPatch, size: int, prefix: str
) -> None:
    monkeypatch.setattr("tap_spreadsheet.xlsx_sample._CHUNK", size)
    rows = "".join(
        f'<{prefix}row r="{i}"><{prefix}c><{prefix}v>{i}</{prefix}v></{prefix}c></{prefix}row>'
        for i in range(1, 6)
    )
    xml = (
        f"<{prefix}worksheet><{prefix}sheetData>{rows}</{prefix}sheetData>"
        f'<{prefix}mergeCells count="1"/></{prefix}worksheet>'
    ).encode()
    cut, was_cut = _cut_sheet(TinyReads(xml, size), 2)  # type: ignore[arg-type]
    assert was_cut
    text = cut.decode()
    assert text.count(f"</{prefix}row>") == 2
    assert text.endswith(
        f'</{prefix}row></{prefix}sheetData><{prefix}mergeCells count="1"/></{prefix}worksheet>'
    )
    whole, was_cut = _cut_sheet(TinyReads(xml, size), 5)
    assert not was_cut and whole == xml


def test_not_a_zip_gives_no_sample(tmp_path: Path) -> None:
    fake = tmp_path / "kapot.xlsx"
    fake.write_bytes(b"dit is geen werkmap")
    assert sample_workbook(str(fake), 10) is None


def test_discover_on_the_command_line_prints_the_whole_sheet_schema(tmp_path: Path) -> None:
    book = write_book(tmp_path / "klanten.xlsx", late_column_a)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**CONFIG, "files": [{"path": str(book)}]}))
    done = subprocess.run(
        [TAP, "--config", str(config), "--discover"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    catalog = json.loads(done.stdout)
    (entry,) = catalog["streams"]
    (expected,) = plans({"files": [{"path": str(book)}]}, sample_only=False)
    assert entry["schema"] == expected["schema"]
    # column A is empty in the sampled rows, used further down: it has a property
    assert list(entry["schema"]["properties"])[:2] == ["column_1", "klantnummer"]


def write_excel_like(path: Path) -> Path:
    """A workbook as Excel saves it: strings in the shared-strings table, dates by style."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Klanten")
    date_format = book.add_format({"num_format": "dd-mm-yyyy"})
    sheet.merge_range(0, 0, 0, 2, "Klantenlijst export")
    sheet.write_row(1, 0, HEADER)
    for i in range(1, ROWS + 1):
        number, name, amount, day, active = data_row(i)
        sheet.write_number(i + 1, 0, number)
        sheet.write_string(i + 1, 1, name)
        sheet.write_number(i + 1, 2, amount)
        sheet.write_datetime(i + 1, 3, dt.datetime.combine(day, dt.time()), date_format)
        sheet.write_boolean(i + 1, 4, active)
    book.close()
    return path


def test_an_excel_like_workbook_with_shared_strings(tmp_path: Path) -> None:
    book = write_excel_like(tmp_path / "klanten.xlsx")
    with zipfile.ZipFile(book) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()
    assert workbooks.read_sheet_sample(str(book), "Klanten", 180) is not None
    config = {"files": [{"path": str(book)}]}
    sampled = plans(config, sample_only=True)
    assert sampled == plans(config, sample_only=False)
    properties = sampled[0]["schema"]["properties"]
    assert properties["klantenlijst_export_klantnummer"]["type"][0] == "integer"
    assert properties["klantenlijst_export_bedrag"]["type"][0] == "number"
    assert properties["datum"]["format"] == "date"
    assert properties["actief"]["type"][0] == "boolean"


def test_a_workbook_of_several_sheets_is_sampled_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = write_book(tmp_path / "klanten.xlsx", second_sheet)
    calls: list[str] = []

    def counted(path: str, rows: int) -> tuple[bytes, bool] | None:
        calls.append(path)
        return sample_workbook(path, rows)

    monkeypatch.setattr(workbooks, "sample_workbook", counted)
    workbooks._SAMPLED.clear()
    config = {"files": [{"path": str(book), "sheets": ["*"]}]}
    sampled = plans(config, sample_only=True)
    assert [p["name"] for p in sampled] == ["klanten_klanten", "klanten_tweede"]
    assert calls == [str(book)]
    assert sampled == plans(config, sample_only=False)
