"""Bad input: a clear error naming file, sheet and row; rows that cannot be read whole are
emitted with their raw cells and a _row_error; file errors stop the run or are skipped."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tap_spreadsheet.errors import SpreadsheetFileError
from tap_spreadsheet.tap import TapSpreadsheet
from taps_spreadsheet.spreadsheet_files import (
    ROWS,
    encrypt_xlsx,
    english_text_row,
    run_tap,
    write_text,
    write_xlsx,
)

TAP = str(Path(sys.executable).parent / "tap-spreadsheet")


def good_csv(folder: Path) -> Path:
    return write_text(
        folder / "goed.csv", [english_text_row(r) for r in ROWS], delimiter=",", encoding="utf-8"
    )


def truncated_xlsx(folder: Path) -> Path:
    whole = write_xlsx(folder / "heel.xlsx", ROWS).read_bytes()
    whole_path = folder / "heel.xlsx"
    whole_path.unlink()
    path = folder / "afgebroken.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Each kind of unreadable file, with a phrase its error must contain."""
    empty = folder / "leeg.csv"
    empty.write_bytes(b"")
    junk = folder / "kapot.xlsx"
    junk.write_bytes(b"this is not a workbook at all")
    locked = encrypt_xlsx(write_xlsx(folder / "open.xlsx", ROWS), folder / "beveiligd.xlsx")
    (folder / "open.xlsx").unlink()
    unknown = folder / "klanten.pdf"
    unknown.write_bytes(b"%PDF-1.4")
    return {
        "empty": (empty, "the file is empty"),
        "corrupt": (junk, "corrupt or truncated"),
        "truncated": (truncated_xlsx(folder), "corrupt or truncated"),
        "password": (locked, "password-protected"),
        "unknown extension": (unknown, "unknown file extension '.pdf'"),
    }


@pytest.mark.parametrize("kind", ["empty", "corrupt", "truncated", "password", "unknown extension"])
def test_file_error_stops_the_run_naming_the_file(tmp_path: Path, kind: str) -> None:
    path, phrase = bad_files(tmp_path)[kind]
    with pytest.raises(SpreadsheetFileError) as info:
        run_tap({"files": [{"path": str(path)}]})
    assert phrase in info.value.render()
    assert f"file '{path}'" in info.value.render()


def test_file_errors_are_skipped_and_counted_when_configured(tmp_path: Path) -> None:
    good = good_csv(tmp_path)
    files = bad_files(tmp_path)
    config = {
        "files": [{"path": str(good), "stream_name": "goed"}]
        + [{"path": str(p), "stream_name": f"s{i}"} for i, (p, _) in enumerate(files.values())],
        "on_file_error": "skip",
    }
    run = run_tap(config)
    assert len(run.records("goed")) == len(ROWS)
    assert run.tap.summary.files_skipped == len(files)
    assert run.tap.summary.files_read == 1
    reasons = "\n".join(run.tap.summary.skipped_files)
    for path, phrase in files.values():
        assert str(path) in reasons
        assert phrase in reasons


def test_cli_exits_non_zero_with_one_clear_line(tmp_path: Path) -> None:
    path, _ = bad_files(tmp_path)["password"]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"files": [{"path": str(path)}]}))
    # The real executable, as an orchestrator runs it (discovery is the same code path).
    result = subprocess.run(
        [TAP, "--config", str(config)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "stopped:" in line]
    assert len(errors) == 1
    assert f"file '{path}': the workbook is password-protected" in errors[0]
    assert result.stdout == ""


def test_header_only_file_emits_nothing_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "leeg_met_kop.csv"
    path.write_text("nr;naam;stad\n", encoding="utf-8")
    run = run_tap({"files": [{"path": str(path)}]})
    assert run.records() == []
    assert run.tap.summary.files_read == 1
    assert any("has a header (row 1) but no data rows" in r.getMessage() for r in caplog.records)


def test_ragged_csv_rows_are_kept_with_reason(tmp_path: Path) -> None:
    path = tmp_path / "rafelig.csv"
    path.write_text(
        "nr,naam,stad\n1,Jan,Gent\n2,Piet\n3,Kees,Delft,extra,meer\n4,Anna,Utrecht,,\n\n"
        "5,Els,Breda\n",
        encoding="utf-8",
    )
    run = run_tap({"files": [{"path": str(path)}]})
    records = {r["_source_row"]: r for r in run.records()}
    assert sorted(records) == [2, 3, 4, 5, 7]
    short = records[3]
    assert short["_row_error"] == (
        "row has 2 cells but the header has 3 columns; the missing cells are null"
    )
    assert short["nr"] == "2"  # a bad row keeps its cells as text
    assert short["naam"] == "Piet"
    long = records[4]
    assert "row has 5 cells" in long["_row_error"]
    assert long["_extra_cells"] == {"column_4": "extra", "column_5": "meer"}
    # Trailing empty cells lose nothing: not an error.
    assert records[5]["_row_error"] is None
    assert records[5]["nr"] == 4
    summary = run.tap.summary
    assert (summary.rows_read, summary.bad_rows, summary.blank_rows) == (5, 2, 1)


def test_cells_beyond_the_header_in_a_workbook(tmp_path: Path) -> None:
    rows = [list(ROWS[0]), [*ROWS[1], "notitie buiten de tabel"]]
    path = write_xlsx(tmp_path / "breed.xlsx", rows)
    records = run_tap({"files": [{"path": str(path)}]}).records()
    assert records[0]["_row_error"] is None
    bad = records[1]
    assert "beyond the 7 header columns" in bad["_row_error"]
    assert bad["_extra_cells"] == {"column_8": "notitie buiten de tabel"}
    assert bad["klantnummer"] == "2"
    assert bad["geboortedatum"] == "1975-02-01"


def test_undecodable_bytes_in_declared_encoding(tmp_path: Path) -> None:
    path = tmp_path / "gemengd.csv"
    path.write_bytes(b"nr;naam\n1;Jan\n" + b"2;M\xfcller\n" + "3;Zoë\n".encode())
    run = run_tap({"files": [{"path": str(path), "encoding": "utf-8"}]})
    records = run.records()
    assert [r["_row_error"] for r in records][0::2] == [None, None]
    assert records[2]["naam"] == "Zoë"
    bad = records[1]
    assert bad["naam"] == "M\\xfcller"
    assert bad["_row_error"] == "bytes that are not valid utf-8 in naam; they are kept as \\xNN"
    assert bad["_source_row"] == 3


def test_file_that_disappears_mid_run(tmp_path: Path) -> None:
    first = good_csv(tmp_path)
    second = write_text(
        tmp_path / "weg.csv", [english_text_row(ROWS[0])], delimiter=",", encoding="utf-8"
    )
    config = {"files": [{"path": str(tmp_path / "*.csv"), "stream_name": "k"}]}
    tap = TapSpreadsheet(config=config)  # discovery sees both files
    second.unlink()
    with pytest.raises(SpreadsheetFileError, match="disappeared"):
        tap.sync_all()
    write_text(second, [english_text_row(ROWS[0])], delimiter=",", encoding="utf-8")
    tap = TapSpreadsheet(config={**config, "on_file_error": "skip"})
    second.unlink()
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        tap.sync_all()
    assert tap.summary.files_skipped == 1
    assert tap.summary.rows_read == len(ROWS)
    assert str(second) in tap.summary.skipped_files[0]
    assert first.exists()


def test_missing_sheet_names_the_sheets_there_are(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "k.xlsx", ROWS)
    with pytest.raises(SpreadsheetFileError, match="sheet\\(s\\) 'Prospects' not found"):
        run_tap(
            {
                "files": [
                    {"path": str(path), "sheets": ["Prospects", "Klanten"], "merge_sheets": True}
                ]
            }
        )


def test_summary_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "k.csv"
    path.write_text("nr,naam\n1,Jan\n2\n", encoding="utf-8")
    caplog.set_level(logging.INFO)
    run_tap({"files": [{"path": str(path)}]})
    summary = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("tap-spreadsheet summary")
    ]
    assert summary == [
        "tap-spreadsheet summary: 1 files read, 0 unchanged since the last run, 0 skipped; "
        "2 rows read, 1 bad rows (emitted with _row_error), 0 blank rows ignored, "
        "0 duplicate primary keys"
    ]
    assert os.path.exists(path)
