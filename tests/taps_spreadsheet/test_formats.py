"""Every format and encoding the tap claims, on real files written by real writers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from taps_spreadsheet.spreadsheet_files import (
    EXPECTED,
    ROWS,
    WESTERN_EXPECTED,
    WESTERN_ROWS,
    dutch_text_row,
    english_text_row,
    run_tap,
    without_lineage,
    write_ods,
    write_text,
    write_xls,
    write_xlsx,
)


@pytest.mark.parametrize(
    ("encoding", "delimiter", "dutch", "rows", "expected"),
    [
        ("utf-8", ",", False, ROWS, EXPECTED),
        ("utf-8-sig", ";", True, ROWS, EXPECTED),
        ("utf-16", "\t", False, ROWS, EXPECTED),
        ("cp1252", ";", True, WESTERN_ROWS, WESTERN_EXPECTED),
        ("latin-1", "|", False, WESTERN_ROWS, WESTERN_EXPECTED),
    ],
    ids=["utf8-comma", "utf8bom-semicolon", "utf16-tab", "cp1252-semicolon", "latin1-pipe"],
)
def test_text_files_detect_encoding_and_delimiter(
    tmp_path: Path, encoding: str, delimiter: str, dutch: bool, rows: list, expected: list
) -> None:
    to_text = dutch_text_row if dutch else english_text_row
    path = write_text(
        tmp_path / "klanten.csv", [to_text(r) for r in rows], delimiter=delimiter, encoding=encoding
    )
    run = run_tap({"files": [{"path": str(path)}]})
    records = run.records("klanten")
    assert [without_lineage(r) for r in records] == [{**e, "bedrag": e["bedrag"]} for e in expected]
    assert [r["_source_row"] for r in records] == list(range(2, 2 + len(rows)))
    assert all(r["_source_file"] == str(path) and r["_source_sheet"] is None for r in records)
    assert all(r["_row_error"] is None for r in records)


def test_cp1252_typographic_characters_are_not_read_as_cp1250(tmp_path: Path) -> None:
    # € ’ “ ” and ë: cp1250 would turn some of these into other letters.
    names = ["Café “De Zoete Inval”", "Ben’s Bakkerij € 5", "Zoë Brontë", "Über Straße"]
    rows = [[str(i), name, "ja"] for i, name in enumerate(names, start=1)]
    path = write_text(
        tmp_path / "namen.csv",
        rows,
        delimiter=";",
        encoding="cp1252",
        header=["Nr", "Naam", "Actief"],
    )
    records = run_tap({"files": [{"path": str(path)}]}).records()
    assert [r["naam"] for r in records] == names


def test_declared_encoding_is_used(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes("nr;naam\n1;Müller\n".encode("latin-1"))
    records = run_tap({"files": [{"path": str(path), "encoding": "latin-1"}]}).records()
    assert records[0]["naam"] == "Müller"


def test_quoting_and_embedded_newlines(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(
        'id,name,note\r\n1,"Smith, John","line one\r\nline two"\r\n2,"Say ""hi""",plain\r\n',
        encoding="utf-8",
    )
    records = run_tap({"files": [{"path": str(path)}]}).records()
    assert records[0]["name"] == "Smith, John"
    assert records[0]["note"] == "line one\r\nline two"
    assert records[1]["name"] == 'Say "hi"'
    # The second record starts on line 4: the first spans lines 2 and 3.
    assert [r["_source_row"] for r in records] == [2, 4]


def test_xlsx_with_title_rows_types_and_lineage(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "klanten.xlsx", ROWS, title_rows=2)
    run = run_tap({"files": [{"path": str(path)}]})
    records = run.records("klanten")
    assert [without_lineage(r) for r in records] == EXPECTED
    # Title on row 1, blank row 2, header row 3: data from row 4.
    assert [r["_source_row"] for r in records] == [4, 5, 6, 7]
    assert {r["_source_sheet"] for r in records} == {"Klanten"}
    props = run.schema("klanten")["schema"]["properties"]
    assert props["klantnummer"]["type"][0] == "integer"
    assert props["bedrag"]["type"][0] == "number"
    assert props["geboortedatum"]["format"] == "date"
    assert props["actief"]["type"][0] == "boolean"
    assert props["postcode"]["type"] == ["string", "null"]
    assert props["e_mail"]["title"] == "E-mail"


def test_xls_legacy_workbook(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "oud.xls", ROWS)
    records = run_tap({"files": [{"path": str(path)}]}).records()
    assert [without_lineage(r) for r in records] == EXPECTED


def test_ods_workbook(tmp_path: Path) -> None:
    path = write_ods(tmp_path / "klanten.ods", ROWS)
    records = run_tap({"files": [{"path": str(path)}]}).records()
    assert [without_lineage(r) for r in records] == EXPECTED


def test_xlsm_extension_is_read_as_workbook(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "macro.xlsx", ROWS)
    xlsm = path.rename(tmp_path / "macro.xlsm")
    records = run_tap({"files": [{"path": str(xlsm)}]}).records()
    assert len(records) == len(ROWS)


def test_midnight_datetimes_and_integer_floats_are_corrected(tmp_path: Path) -> None:
    rows = [
        [1, dt.datetime(2024, 1, 2, 0, 0), dt.datetime(2024, 1, 2, 13, 30), 3.0],
        [2, dt.datetime(2024, 2, 3, 9, 15), dt.datetime(2024, 5, 6, 0, 0), 4.0],
    ]
    path = write_xlsx(
        tmp_path / "times.xlsx", rows, header=["nr", "aangemaakt", "gewijzigd", "aantal"]
    )
    records = run_tap({"files": [{"path": str(path)}]}).records()
    # calamine reads the midnight cells as dates; in a datetime column they are datetimes.
    assert [r["aangemaakt"] for r in records] == ["2024-01-02T00:00:00", "2024-02-03T09:15:00"]
    assert [r["gewijzigd"] for r in records] == ["2024-01-02T13:30:00", "2024-05-06T00:00:00"]
    assert [r["aantal"] for r in records] == [3, 4]
    assert all(isinstance(r["nr"], int) for r in records)


def test_excel_serial_dates_with_configured_type(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "serial.csv",
        [["1", "45292"], ["2", "29221.5"]],
        delimiter=",",
        encoding="utf-8",
        header=["nr", "datum"],
    )
    config = {"files": [{"path": str(path), "column_types": {"datum": "datetime"}}]}
    records = run_tap(config).records()
    assert [r["datum"] for r in records] == ["2024-01-01T00:00:00", "1980-01-01T12:00:00"]


def test_several_sheets_become_streams_or_one_merged_stream(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "crm.xlsx", ROWS[:2], extra_sheets={"Prospects": [list(r) for r in ROWS[2:]]}
    )
    run = run_tap({"files": [{"path": str(path), "sheets": ["*"]}]})
    assert len(run.records("crm_klanten")) == 2
    assert len(run.records("crm_prospects")) == 2
    merged = run_tap({"files": [{"path": str(path), "sheets": ["*"], "merge_sheets": True}]})
    records = merged.records("crm")
    assert [r["_source_sheet"] for r in records] == ["Klanten", "Klanten", "Prospects", "Prospects"]
    assert merged.schema("crm")["key_properties"] == [
        "_source_file",
        "_source_sheet",
        "_source_row",
    ]


def test_folder_of_monthly_exports_is_one_stream(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    for month, rows in (("2024-01", ROWS[:2]), ("2024-02", ROWS[2:])):
        write_text(
            folder / f"klanten_{month}.csv",
            [english_text_row(r) for r in rows],
            delimiter=",",
            encoding="utf-8",
        )
    (folder / "~$klanten_2024-01.csv").write_text("lock file")  # Excel lock file: ignored
    for config_path in (str(folder), str(folder / "klanten_*.csv")):
        run = run_tap({"files": [{"path": config_path, "stream_name": "klanten"}]})
        records = run.records("klanten")
        assert [r["klantnummer"] for r in records] == [1, 2, 3, 4]
        assert [Path(r["_source_file"]).name for r in records] == [
            "klanten_2024-01.csv",
            "klanten_2024-01.csv",
            "klanten_2024-02.csv",
            "klanten_2024-02.csv",
        ]


def test_glob_stream_name_is_derived_from_the_pattern(tmp_path: Path) -> None:
    write_text(
        tmp_path / "klanten_2024-01.csv",
        [english_text_row(ROWS[0])],
        delimiter=",",
        encoding="utf-8",
    )
    run = run_tap({"files": [{"path": str(tmp_path / "klanten_*.csv")}]})
    assert len(run.records("klanten")) == 1


def test_header_row_in_config(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Export;;\nnr;naam;stad\n1;Jan;Gent\n", encoding="utf-8")
    records = run_tap({"files": [{"path": str(path), "header_row": 2}]}).records()
    assert without_lineage(records[0]) == {"nr": 1, "naam": "Jan", "stad": "Gent"}


def test_columns_from_all_files_are_united(tmp_path: Path) -> None:
    write_text(
        tmp_path / "a.csv", [["1", "Jan"]], delimiter=",", encoding="utf-8", header=["nr", "naam"]
    )
    write_text(
        tmp_path / "b.csv",
        [["2", "Piet", "Gent"]],
        delimiter=",",
        encoding="utf-8",
        header=["nr", "naam", "stad"],
    )
    run = run_tap({"files": [{"path": str(tmp_path / "*.csv"), "stream_name": "k"}]})
    assert set(run.schema("k")["schema"]["properties"]) >= {"nr", "naam", "stad"}
    assert [r.get("stad") for r in run.records("k")] == [None, "Gent"]


@pytest.mark.parametrize(("name", "delimiter"), [("klanten.tsv", "\t"), ("klanten.txt", ";")])
def test_tsv_and_txt_extensions(tmp_path: Path, name: str, delimiter: str) -> None:
    path = write_text(
        tmp_path / name, [english_text_row(r) for r in ROWS], delimiter=delimiter, encoding="utf-8"
    )
    records = run_tap({"files": [{"path": str(path)}]}).records("klanten")
    assert [without_lineage(r) for r in records] == EXPECTED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nr;naam\r\n1;Jan de Vries\r\n", False),  # inner spaces are no reason to strip
        ("nr;naam\n1; Jan\n", True),
        ("nr;naam\n1;Jan \n", True),
        ('nr;naam\n1;" Jan"\n', True),
        ("nr;naam\n1;Jan\xa0\n", True),
        (" nr;naam\n1;Jan\n", True),
    ],
)
def test_trim_scan(text: str, expected: bool) -> None:
    from tap_spreadsheet.text_files import _may_need_trim

    assert _may_need_trim(text, ";", '"') is expected


@pytest.mark.parametrize("trim", [True, False])
def test_trim_whitespace_setting(tmp_path: Path, trim: bool) -> None:
    path = tmp_path / "k.csv"
    path.write_text('nr;naam;plaats\n1; Jan ;"Gent\xa0"\n', encoding="utf-8")
    record = run_tap({"files": [{"path": str(path)}], "trim_whitespace": trim}).records()[0]
    assert (record["naam"], record["plaats"]) == (
        ("Jan", "Gent") if trim else (" Jan ", "Gent\xa0")
    )
