"""The console script loads the first workbook sheet while the Singer SDK imports: what it
guesses from the command line, and that a prefetched sheet reads exactly like a plain one
(right sheet, changed file, broken file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tap_spreadsheet import workbooks
from tap_spreadsheet.errors import SpreadsheetFileError
from tap_spreadsheet.launch import config_paths, first_workbook
from taps_spreadsheet.spreadsheet_files import (
    EXPECTED,
    ROWS,
    english_text_row,
    run_tap,
    without_lineage,
    write_text,
    write_xlsx,
)

TAP = str(Path(sys.executable).parent / "tap-spreadsheet")


def config_file(folder: Path, config: dict[str, Any], name: str = "config.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(config))
    return path


def sheet_rows(path: Path, sheet: str) -> list[list[Any]]:
    workbook = workbooks.open_workbook(str(path))
    try:
        table = workbooks.read_sheet_table(str(path), workbook, sheet)
        return [cells for _, cells in table.rows()]
    finally:
        workbook.close()


@pytest.fixture(autouse=True)
def _empty_sheet_cache() -> None:
    workbooks._await_prefetch()
    workbooks._LOADED_SHEET.clear()


def test_config_paths_in_both_spellings() -> None:
    argv = ["--config", "a.json", "--state", "s.json", "--config=b.json", "--config", "ENV"]
    assert config_paths(argv) == ["a.json", "b.json"]


def test_first_workbook_of_the_first_files_entry(tmp_path: Path) -> None:
    book = write_xlsx(tmp_path / "klanten.xlsx", ROWS)
    config = config_file(tmp_path, {"files": [{"path": str(book), "sheets": ["Klanten"]}]})
    assert first_workbook(["--config", str(config), "--state", "s.json"]) == (
        str(book),
        ("Klanten",),
    )


def test_a_later_config_file_overrides_an_earlier_one(tmp_path: Path) -> None:
    first = write_xlsx(tmp_path / "eerste.xlsx", ROWS)
    second = write_xlsx(tmp_path / "tweede.xlsx", ROWS)
    one = config_file(tmp_path, {"files": [{"path": str(first)}]}, "one.json")
    two = config_file(tmp_path, {"files": [{"path": str(second)}]}, "two.json")
    assert first_workbook(["--config", str(one), "--config", str(two)]) == (str(second), ())


def test_a_folder_gives_its_first_spreadsheet_file(tmp_path: Path) -> None:
    folder = tmp_path / "maanden"
    folder.mkdir()
    write_xlsx(folder / "2026-02.xlsx", ROWS)
    write_xlsx(folder / "2026-01.xlsx", ROWS)
    config = config_file(tmp_path, {"files": [{"path": str(folder)}]})
    assert first_workbook(["--config", str(config)]) == (str(folder / "2026-01.xlsx"), ())


@pytest.mark.parametrize(
    "case", ["csv", "about", "discover", "no config", "broken config", "no files"]
)
def test_nothing_to_prefetch(tmp_path: Path, case: str) -> None:
    book = write_xlsx(tmp_path / "klanten.xlsx", ROWS)
    text = write_text(
        tmp_path / "klanten.csv",
        [english_text_row(r) for r in ROWS],
        delimiter=",",
        encoding="utf-8",
    )
    good = config_file(tmp_path, {"files": [{"path": str(book)}]})
    argv = {
        "csv": ["--config", str(config_file(tmp_path, {"files": [{"path": str(text)}]}, "c.json"))],
        "about": ["--about", "--config", str(good)],
        # discovery samples the sheet (test_discovery_sample.py) instead of loading it
        "discover": ["--config", str(good), "--discover"],
        "no config": ["--discover"],
        "broken config": ["--config", str(tmp_path / "missing.json")],
        "no files": ["--config", str(config_file(tmp_path, {"infer_rows": 5}, "n.json"))],
    }[case]
    assert first_workbook(argv) is None


def test_prefetched_sheet_reads_like_a_plain_one(tmp_path: Path) -> None:
    other = [[*row[:1], f"tweede {row[1]}", *row[2:]] for row in ROWS]
    book = write_xlsx(tmp_path / "klanten.xlsx", ROWS, extra_sheets={"Tweede": other})
    plain = {name: sheet_rows(book, name) for name in ("Klanten", "Tweede")}
    for sheets, loaded in (((), "Klanten"), (("Tweede",), "Tweede"), (("*",), "Klanten")):
        workbooks._LOADED_SHEET.clear()
        workbooks.prefetch_sheet(str(book), sheets)
        workbooks._await_prefetch()
        assert [key[1] for key in workbooks._LOADED_SHEET] == [loaded]
        workbooks.prefetch_sheet(str(book), sheets)  # the read waits for this one
        assert {name: sheet_rows(book, name) for name in plain} == plain


def test_a_workbook_changed_after_the_prefetch_is_read_again(tmp_path: Path) -> None:
    book = write_xlsx(tmp_path / "klanten.xlsx", ROWS)
    workbooks.prefetch_sheet(str(book))
    workbooks._await_prefetch()
    write_xlsx(book, ROWS[:2])
    later = book.stat().st_mtime_ns + 5_000_000_000
    os.utime(book, ns=(later, later))
    rows = sheet_rows(book, "Klanten")
    assert [row[0] for row in rows[1:]] == [1, 2]


def test_a_broken_workbook_is_reported_by_the_read_not_the_prefetch(tmp_path: Path) -> None:
    whole = write_xlsx(tmp_path / "heel.xlsx", ROWS).read_bytes()
    broken = tmp_path / "afgebroken.xlsx"
    broken.write_bytes(whole[: len(whole) // 2])
    workbooks.prefetch_sheet(str(broken))
    workbooks._await_prefetch()
    assert workbooks._LOADED_SHEET == {}
    with pytest.raises(SpreadsheetFileError, match="corrupt or truncated"):
        workbooks.open_workbook(str(broken))


def test_console_script_emits_what_the_tap_emits(tmp_path: Path) -> None:
    other = [[row[0] + 100, *row[1:]] for row in ROWS]
    book = write_xlsx(tmp_path / "klanten.xlsx", ROWS, title_rows=2, extra_sheets={"Tweede": other})
    config = {"files": [{"path": str(book), "sheets": ["Tweede"]}]}
    done = subprocess.run(
        [TAP, "--config", str(config_file(tmp_path, config))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    script = [json.loads(line) for line in done.stdout.splitlines() if line]
    records = [without_lineage(m["record"]) for m in script if m["type"] == "RECORD"]
    expected = [{**rec, "klantnummer": rec["klantnummer"] + 100} for rec in EXPECTED]
    assert records == expected
    in_process = run_tap(config)
    assert [m["record"] for m in script if m["type"] == "RECORD"] == [
        m["record"] for m in in_process.messages if m["type"] == "RECORD"
    ]
