"""Header detection and naming, and type inference, as tables of cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tap_spreadsheet.headers import detect_header_row, make_columns, normalize_name
from tap_spreadsheet.inference import infer_types
from tap_spreadsheet.values import Mismatch, parse_decimal, text_converter
from taps_spreadsheet.spreadsheet_files import run_tap


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Klant nr.", "klant_nr"),
        ("E-mail adres", "e_mail_adres"),
        ("Straße", "strasse"),
        ("नाम", "naam"),
        ("  Postcode  ", "postcode"),
        ("_intern", "intern"),
        ("2e telefoon", "c_2e_telefoon"),
        ("Omzet (€)", "omzet_eur"),
    ],
)
def test_normalize_name(header: str, name: str) -> None:
    assert normalize_name(header) == name


def test_blank_and_duplicate_headers_become_unique() -> None:
    columns = make_columns(["Naam", "", "Naam", "naam", "Telefoon", "", ""])
    assert [c.name for c in columns] == ["naam", "column_2", "naam_2", "naam_3", "telefoon"]
    assert [c.header for c in columns] == ["Naam", "", "Naam", "naam", "Telefoon"]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["id", "naam"], [1, "Jan"]], 0),
        ([["Klantenlijst 2024", "", ""], ["", "", ""], ["nr", "naam", "stad"], [1, "a", "b"]], 2),
        ([["Export van 01-02-2024"], ["nr", "naam", "stad", "land"], ["1", "a", "b", "NL"]], 1),
        # A group-header row (Klant over two columns, Adres over two) is not the header.
        ([["Klant", "", "Adres", ""], ["nr", "naam", "straat", "plaats"], [1, "a", "b", "c"]], 1),
    ],
)
def test_detect_header_row(rows: list[list[Any]], expected: int) -> None:
    assert detect_header_row(rows) == expected


def test_merged_group_headers_prefix_the_column_names(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.append(["Klantenoverzicht"])
    ws.append(["Klant", None, "Adres", None])
    ws.merge_cells("A2:B2")
    ws.merge_cells("C2:D2")
    ws.append(["Nr", "Naam", "Straat", "Plaats"])
    ws.append([7, "Jan", "Dorpsstraat 1", "Gent"])
    path = tmp_path / "merged.xlsx"
    workbook.save(path)
    run = run_tap({"files": [{"path": str(path)}]})
    record = run.records()[0]
    assert record["klant_nr"] == 7
    assert record["adres_plaats"] == "Gent"
    assert record["_source_row"] == 4
    props = run.schema("merged")["schema"]["properties"]
    assert props["adres_straat"]["title"] == "Adres Straat"


TYPE_CASES = [
    (["1", "22", "-3"], "integer"),
    (["0612345678", "0201234567"], "string"),  # phone numbers keep their leading zero
    (["1234", "0123"], "string"),  # postcodes
    (["1,5", "1.234,56", "7"], "number"),
    (["1.5", "1,234.56", "7"], "number"),
    (["ja", "nee", "Ja"], "boolean"),
    (["yes", "no"], "boolean"),
    (["TRUE", "false"], "boolean"),
    (["j", "n"], "string"),  # single letters alone are initials, not booleans
    (["31-12-1980", "01-02-1975"], "date"),
    (["31.12.1980", "1.2.1975"], "date"),
    (["2024-03-31", "2024-02-29"], "date"),
    (["2024-03-31 13:45", "2024-02-29T08:00:00"], "datetime"),
    (["31-12-1980 13:45:10", "2024-02-29"], "datetime"),
    (["31/01/2024", "01/31/2024"], "string"),  # day-first and month-first mixed
    (["12", "abc"], "string"),
    (["", ""], "string"),
]


@pytest.mark.parametrize(("cells", "expected"), TYPE_CASES)
def test_infer_type_from_text(cells: list[str], expected: str) -> None:
    types, _ = infer_types(
        ["c"], [[c] for c in cells], decimal_separator="auto", date_order="dmy", prefer_comma=False
    )
    assert types["c"] == expected


def test_infer_types_from_workbook_cells() -> None:
    rows = [
        [1.0, 2.5, dt.date(2024, 1, 1), True, dt.datetime(2024, 1, 1, 10, 0)],
        [2.0, 3.0, dt.date(2024, 1, 2), False, dt.date(2024, 1, 2)],
    ]
    types, _ = infer_types(
        list("abcde"), rows, decimal_separator="auto", date_order="dmy", prefer_comma=False
    )
    assert types == {"a": "integer", "b": "number", "c": "date", "d": "boolean", "e": "datetime"}


def test_ambiguous_decimal_follows_the_file_convention() -> None:
    _, formats = infer_types(
        ["c"], [["1.234"]], decimal_separator="auto", date_order="dmy", prefer_comma=True
    )
    assert formats["c"].decimal == ","
    assert parse_decimal("1.234", ",") == Decimal("1234")
    assert parse_decimal("1.234", ".") == Decimal("1.234")


def test_month_first_dates_are_recognised_from_the_values() -> None:
    types, formats = infer_types(
        ["c"],
        [["12/31/2023"], ["01/05/2024"]],
        decimal_separator="auto",
        date_order="dmy",
        prefer_comma=False,
    )
    assert types["c"] == "date"
    convert = text_converter("date", decimal=".", date_order=formats["c"].date_order)
    assert convert is not None
    assert convert("01/05/2024") == "2024-01-05"


@pytest.mark.parametrize("text", ["1e5", "NaN", "1_000", "0012", "12.5.3", "١٢"])
def test_numbers_that_are_not_numbers(text: str) -> None:
    for type_name in ("integer", "number"):
        convert = text_converter(type_name, decimal=".", date_order="dmy")
        assert convert is not None
        with pytest.raises(Mismatch):
            convert(text)


def test_value_not_fitting_the_inferred_type_is_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    lines = ["nr;geboren;bedrag"] + [f"{i};01-02-19{50 + i};{i},50" for i in range(1, 6)]
    lines.append("6;31-02-1980;onbekend")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = run_tap({"files": [{"path": str(path)}], "infer_rows": 5})
    props = run.schema("k")["schema"]["properties"]
    assert props["geboren"]["format"] == "date"
    assert props["bedrag"]["type"] == ["number", "string", "null"]
    last = run.records()[-1]
    assert last["geboren"] == "31-02-1980"
    assert last["bedrag"] == "onbekend"
    assert last["_row_error"] is None
    assert run.records()[0]["bedrag"] == 1.5
    assert run.tap.summary.cells_kept_as_text == {"geboren": 1, "bedrag": 1}


def test_column_types_override_inference(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_text("Klant nr;Postcode\n1;1234\n2;5678\n", encoding="utf-8")
    config = {
        "files": [{"path": str(path), "column_types": {"Klant nr": "string", "postcode": "string"}}]
    }
    records = run_tap(config).records()
    assert records[0]["klant_nr"] == "1"
    assert records[0]["postcode"] == "1234"


def test_merged_title_right_above_the_header_is_not_a_group(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.append(["Klantenlijst 2024", None, None])
    ws.merge_cells("A1:C1")
    ws.append(["Nr", "Naam", "Plaats"])
    ws.append([1, "Jan", "Gent"])
    path = tmp_path / "titel.xlsx"
    workbook.save(path)
    record = run_tap({"files": [{"path": str(path)}]}).records()[0]
    assert {k: v for k, v in record.items() if not k.startswith("_")} == {
        "nr": 1,
        "naam": "Jan",
        "plaats": "Gent",
    }
