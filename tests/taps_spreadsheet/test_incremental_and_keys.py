"""File bookmarks (unchanged files are not re-emitted) and primary keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from taps_spreadsheet.spreadsheet_files import (
    ROWS,
    english_text_row,
    run_tap,
    write_text,
    write_xlsx,
)


def test_unchanged_file_is_not_re_emitted_changed_file_is(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    jan = write_text(
        folder / "k_2024-01.csv",
        [english_text_row(r) for r in ROWS[:2]],
        delimiter=",",
        encoding="utf-8",
    )
    feb = write_xlsx(folder / "k_2024-02.xlsx", ROWS[2:])
    config = {"files": [{"path": str(folder), "stream_name": "k"}]}

    first = run_tap(config)
    assert len(first.records("k")) == 4
    partitions = first.state["bookmarks"]["k"]["partitions"]
    assert {p["context"]["_source_file"] for p in partitions} == {str(jan), str(feb)}
    assert all(len(p["file_sha256"]) == 64 and p["file_modified_at"] for p in partitions)

    second = run_tap(config, state=first.state)
    assert second.records("k") == []
    assert second.tap.summary.files_unchanged == 2

    # Touched but not changed: still not re-emitted.
    os.utime(jan, (1_700_000_000, 1_700_000_000))
    assert run_tap(config, state=second.state).records("k") == []

    # Changed: re-read whole; the other file stays skipped.
    write_text(jan, [english_text_row(r) for r in ROWS[:3]], delimiter=",", encoding="utf-8")
    third = run_tap(config, state=second.state)
    assert [r["_source_file"] for r in third.records("k")] == [str(jan)] * 3
    assert third.tap.summary.files_unchanged == 1

    # A new month appears: only it is read.
    mar = write_text(
        folder / "k_2024-03.csv", [english_text_row(ROWS[3])], delimiter=",", encoding="utf-8"
    )
    fourth = run_tap(config, state=third.state)
    assert [r["_source_file"] for r in fourth.records("k")] == [str(mar)]


def test_failed_file_gets_no_bookmark(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_bytes(b"")
    config = {
        "files": [{"path": str(tmp_path / "*.csv"), "stream_name": "k"}],
        "on_file_error": "skip",
    }
    run = run_tap(config)
    assert run.tap.summary.files_skipped == 1
    path.write_text("nr\n1\n", encoding="utf-8")
    # The file is read once fixed: a skipped file was not bookmarked.
    assert len(run_tap(config, state=run.state).records("k")) == 1


def test_configured_primary_key_and_duplicates_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_text(
        "Klant nr,naam\n1,Jan\n2,Piet\n1,Jan (dubbel)\n,Zonder nummer\n3,Kees\n",
        encoding="utf-8",
    )
    run = run_tap({"files": [{"path": str(path), "primary_keys": ["Klant nr"]}]})
    assert run.schema("k")["key_properties"] == ["klant_nr"]
    records = run.records("k")
    assert len(records) == 5  # nothing dropped
    errors = {r["_source_row"]: r["_row_error"] for r in records}
    assert errors[2] is None and errors[3] is None and errors[6] is None
    assert errors[4] == "duplicate primary key klant_nr=1 (first seen at row 2 of the same file)"
    assert errors[5] == "primary key klant_nr is empty"
    assert run.tap.summary.duplicate_keys == 1
    assert run.tap.summary.bad_rows == 2


def test_duplicates_only_logged_when_configured(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_text("nr,naam\n1,Jan\n1,Piet\n", encoding="utf-8")
    config = {"files": [{"path": str(path), "primary_keys": ["nr"]}], "duplicate_key_action": "log"}
    run = run_tap(config)
    assert [r["_row_error"] for r in run.records()] == [None, None]
    assert run.tap.summary.duplicate_keys == 1


def test_same_key_in_two_monthly_files_is_not_a_duplicate(tmp_path: Path) -> None:
    for month in ("01", "02"):
        (tmp_path / f"k_{month}.csv").write_text("nr,naam\n1,Jan\n", encoding="utf-8")
    config = {"files": [{"path": str(tmp_path / "k_*.csv"), "primary_keys": ["nr"]}]}
    run = run_tap(config)
    assert [r["_row_error"] for r in run.records("k")] == [None, None]


def test_lineage_primary_key_when_none_configured(tmp_path: Path) -> None:
    csv_path = tmp_path / "k.csv"
    csv_path.write_text("nr\n1\n", encoding="utf-8")
    assert run_tap({"files": [{"path": str(csv_path)}]}).schema("k")["key_properties"] == [
        "_source_file",
        "_source_row",
    ]
    xlsx = write_xlsx(tmp_path / "w.xlsx", ROWS)
    assert run_tap({"files": [{"path": str(xlsx)}]}).schema("w")["key_properties"] == [
        "_source_file",
        "_source_sheet",
        "_source_row",
    ]


def test_unknown_primary_key_column_is_a_config_error(tmp_path: Path) -> None:
    from tap_spreadsheet.errors import SpreadsheetConfigError

    path = tmp_path / "k.csv"
    path.write_text("nr\n1\n", encoding="utf-8")
    with pytest.raises(SpreadsheetConfigError, match="primary key column 'klantid'"):
        run_tap({"files": [{"path": str(path), "primary_keys": ["klantid"]}]})


def test_duplicate_email_key_is_masked_in_log_and_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "k.csv"
    path.write_text(
        "email,naam\njan.devries@example.nl,Jan\njan.devries@example.nl,Jan 2\n", encoding="utf-8"
    )
    run = run_tap({"files": [{"path": str(path), "primary_keys": ["email"]}]})
    reason = run.records()[1]["_row_error"]
    assert reason == (
        "duplicate primary key email=j***@example.nl (first seen at row 2 of the same file)"
    )
    assert "jan.devries" not in caplog.text


def test_mask_value() -> None:
    from tap_spreadsheet.masking import mask_value

    assert mask_value("+31 6 12345678") == "***78"
    assert mask_value(("a@b.nl", 12)) == "(a***@b.nl, 12)"
    assert mask_value(12) == "12"
    assert mask_value("K-100") == "'K-100'"
