"""Fixture files in every format tap-spreadsheet reads, written by real writers (openpyxl,
xlwt, odfpy, msoffcrypto-tool), and a helper running the tap in-process."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_spreadsheet.tap import TapSpreadsheet

HEADER = ["Klantnummer", "Naam", "E-mail", "Bedrag", "Geboortedatum", "Actief", "Postcode"]
ROWS: list[list[Any]] = [
    [1, "Jan de Vries", "jan@example.nl", 1234.5, dt.date(1980, 12, 31), True, "0612"],
    [2, "Jürgen Müller", "j.mueller@example.de", 12.25, dt.date(1975, 2, 1), False, "50667"],
    [3, "राहुल शर्मा", "rahul@example.in", 7.0, dt.date(1990, 6, 15), True, "110001"],
    [4, "Zoë O'Brien", "zoe@example.co.uk", 0.5, dt.date(2001, 1, 9), False, "SW1A 1AA"],
]
EXPECTED = [
    {
        "klantnummer": 1,
        "naam": "Jan de Vries",
        "e_mail": "jan@example.nl",
        "bedrag": 1234.5,
        "geboortedatum": "1980-12-31",
        "actief": True,
        "postcode": "0612",
    },
    {
        "klantnummer": 2,
        "naam": "Jürgen Müller",
        "e_mail": "j.mueller@example.de",
        "bedrag": 12.25,
        "geboortedatum": "1975-02-01",
        "actief": False,
        "postcode": "50667",
    },
    {
        "klantnummer": 3,
        "naam": "राहुल शर्मा",
        "e_mail": "rahul@example.in",
        "bedrag": 7,
        "geboortedatum": "1990-06-15",
        "actief": True,
        "postcode": "110001",
    },
    {
        "klantnummer": 4,
        "naam": "Zoë O'Brien",
        "e_mail": "zoe@example.co.uk",
        "bedrag": 0.5,
        "geboortedatum": "2001-01-09",
        "actief": False,
        "postcode": "SW1A 1AA",
    },
]
# Rows a Western code page can hold (no Devanagari).
WESTERN_ROWS = [row for row in ROWS if row[0] != 3]
WESTERN_EXPECTED = [rec for rec in EXPECTED if rec["klantnummer"] != 3]


def dutch_text_row(row: Sequence[Any]) -> list[str]:
    """A row as a Dutch Excel writes it to CSV: dd-mm-yyyy, decimal comma, ja/nee."""
    number, name, email, amount, born, active, postcode = row
    return [
        str(number),
        name,
        email,
        f"{amount:.2f}".replace(".", ","),
        born.strftime("%d-%m-%Y"),
        "ja" if active else "nee",
        postcode,
    ]


def english_text_row(row: Sequence[Any]) -> list[str]:
    """A row as an English export writes it: ISO dates, decimal point, true/false."""
    number, name, email, amount, born, active, postcode = row
    return [
        str(number),
        name,
        email,
        f"{amount:.2f}",
        born.isoformat(),
        "true" if active else "false",
        postcode,
    ]


def write_text(
    path: Path,
    rows: Sequence[Sequence[str]],
    *,
    delimiter: str,
    encoding: str,
    header: Sequence[str] = HEADER,
    newline: str = "\r\n",
) -> Path:
    """A delimited text file, quoting cells that need it, in ``encoding``."""
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(
    path: Path,
    rows: Sequence[Sequence[Any]],
    *,
    title_rows: int = 0,
    sheet: str = "Klanten",
    extra_sheets: dict[str, list[list[Any]]] | None = None,
    header: Sequence[str] = HEADER,
) -> Path:
    """An .xlsx with optional title rows above the header."""
    import openpyxl

    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = sheet
    for index in range(title_rows):
        ws.append([f"Klantenlijst export {index + 1}"] if index == 0 else [])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    for name, sheet_rows in (extra_sheets or {}).items():
        other = workbook.create_sheet(name)
        other.append(list(header))
        for row in sheet_rows:
            other.append(list(row))
    workbook.save(path)
    return path


def write_xls(path: Path, rows: Sequence[Sequence[Any]], *, sheet: str = "Klanten") -> Path:
    """A legacy .xls (BIFF8) with real date cells."""
    import xlwt

    workbook = xlwt.Workbook(encoding="utf-8")
    ws = workbook.add_sheet(sheet)
    date_style = xlwt.easyxf(num_format_str="DD-MM-YYYY")
    for col, text in enumerate(HEADER):
        ws.write(0, col, text)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, dt.date):
                ws.write(r, col, value, date_style)
            else:
                ws.write(r, col, value)
    workbook.save(str(path))
    return path


def write_ods(path: Path, rows: Sequence[Sequence[Any]], *, sheet: str = "Klanten") -> Path:
    """An OpenDocument spreadsheet with typed cells (float, date, boolean, string)."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name=sheet)

    def cell(value: Any) -> TableCell:
        if isinstance(value, bool):
            c = TableCell(valuetype="boolean", booleanvalue=str(value).lower())
        elif isinstance(value, int | float):
            c = TableCell(valuetype="float", value=str(value))
        elif isinstance(value, dt.date):
            c = TableCell(valuetype="date", datevalue=value.isoformat())
        else:
            c = TableCell(valuetype="string")
        c.addElement(P(text=str(value)))
        return c

    for row in [HEADER, *rows]:
        tr = TableRow()
        for value in row:
            tr.addElement(cell(value))
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def encrypt_xlsx(source: Path, target: Path, password: str = "geheim") -> Path:  # noqa: S107 - a test fixture
    """A password-protected copy of an .xlsx, as Excel writes it (agile encryption)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    with source.open("rb") as handle, target.open("wb") as out:
        OOXMLFile(handle).encrypt(password, out)
    return target


@dataclass
class TapRun:
    """What one in-process run of the tap wrote."""

    messages: list[dict[str, Any]]
    tap: TapSpreadsheet
    state: dict[str, Any] = field(default_factory=dict)

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        """RECORD payloads, optionally of one stream."""
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    def schema(self, stream: str) -> dict[str, Any]:
        """The SCHEMA message of ``stream``."""
        return next(m for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream)


def run_tap(config: dict[str, Any], state: dict[str, Any] | None = None) -> TapRun:
    """Sync the tap in this process, capturing its Singer messages."""
    captured = io.StringIO()
    old = sys.stdout
    sys.stdout = captured
    try:
        tap = TapSpreadsheet(config=config, state=state)
        tap.sync_all()
    finally:
        sys.stdout = old
    messages = [json.loads(line) for line in captured.getvalue().splitlines() if line]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    return TapRun(messages=messages, tap=tap, state=states[-1] if states else {})


def without_lineage(record: dict[str, Any]) -> dict[str, Any]:
    """A record without the tap's own properties."""
    return {k: v for k, v in record.items() if not k.startswith("_")}
