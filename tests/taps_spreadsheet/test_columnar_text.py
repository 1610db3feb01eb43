"""Text files without quoting are read a chunk of lines at a time, column by column; the
records, their order, lineage, row errors and the run summary must be exactly those of the
csv.reader path, whatever the file holds."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tap_spreadsheet.text_files as text_files
from taps_spreadsheet.spreadsheet_files import TapRun, run_tap


def messages_without_time(run: TapRun) -> list[str]:
    # Compared as JSON text: key order and number forms (5 versus 5.0) count too.
    lines = run.messages
    return [
        json.dumps({k: v for k, v in message.items() if k != "time_extracted"}) for message in lines
    ]


def both_paths(monkeypatch: pytest.MonkeyPatch, config: dict[str, Any]) -> tuple[TapRun, TapRun]:
    columnar = run_tap(config)
    text_files._DECODED.clear()  # the decoded table is cached between discovery and sync
    with monkeypatch.context() as patched:
        patched.setattr(text_files, "_line_chunker", lambda text, quotechar: None)
        by_row = run_tap(config)
    text_files._DECODED.clear()
    return columnar, by_row


def summary_of(run: TapRun) -> dict[str, Any]:
    return dict(vars(run.tap.summary))


def big_messy_lines() -> list[str]:
    lines = ["Klantenlijst export;;;;", ";;;;", "nr;naam;bedrag;datum;postcode"]
    for i in range(1, 12001):
        if i == 700:
            lines.append(f"{i};ragged;1,00;01-01-2020;1234 AB;extra")
        elif i == 3000:
            lines.append("")  # a blank line
        elif i == 3001:
            lines.append(";;;;")  # a row of empty cells
        elif i == 5000:
            lines.append(f"{i};trailing;2,00;02-02-2020;1234 AB;;")  # trailing delimiters
        elif i == 7000:
            lines.append(f"{i};kapot;veel;31-02-2020;")  # cells that do not fit their type
        elif i == 9000:
            lines.append(f"{i - 1};dubbel;3,00;;1234 AB")  # a duplicate key
        elif i == 9500:
            lines.append(";geen sleutel;4,00;03-03-2021;")  # an empty key
        else:
            lines.append(f"{i};Zoë {i};{i},{i % 100:02d};{i % 28 + 1:02d}-0{i % 9 + 1}-1980;")
    return lines


@pytest.mark.parametrize(
    ("newline", "final_newline"), [("\n", True), ("\r\n", True), ("\n", False)]
)
@pytest.mark.parametrize("keys", [None, "flag", "log"])
# 10 characters: the title rows and the header arrive in separate chunks of lines.
@pytest.mark.parametrize("chunk_chars", [10, 5000, text_files._LINE_CHUNK_CHARS])
def test_columnar_reading_matches_row_by_row(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    newline: str,
    final_newline: bool,
    keys: str | None,
    chunk_chars: int,
) -> None:
    monkeypatch.setattr(text_files, "_LINE_CHUNK_CHARS", chunk_chars)
    path = tmp_path / "klanten.csv"
    text = newline.join(big_messy_lines()) + (newline if final_newline else "")
    path.write_bytes(text.encode("utf-8"))
    table = text_files.read_text_table(str(path), encoding=None, delimiter=None, quotechar='"')
    assert table.line_chunks is not None and table.line_chunks() is not None
    assert not table.may_need_trim  # else the rows are stripped one by one
    text_files._DECODED.clear()
    spec: dict[str, Any] = {"path": str(path)}
    config: dict[str, Any] = {"files": [spec]}
    if keys is not None:
        spec["primary_keys"] = ["nr"]
        config["duplicate_key_action"] = keys
    columnar, by_row = both_paths(monkeypatch, config)
    assert messages_without_time(columnar) == messages_without_time(by_row)
    assert summary_of(columnar) == summary_of(by_row)
    records = columnar.records()
    assert len(records) == 11998  # 12,000 lines less the blank one and the empty row
    if keys == "flag":
        errors = [r["_row_error"] for r in records if r["_row_error"]]
        assert any("duplicate primary key" in e for e in errors)
        assert any("is empty" in e for e in errors)


def test_one_column_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "emails.csv"
    path.write_text("email\na@example.nl\n\nb@example.nl\n", encoding="utf-8")
    columnar, by_row = both_paths(monkeypatch, {"files": [{"path": str(path)}]})
    assert messages_without_time(columnar) == messages_without_time(by_row)
    assert [r["email"] for r in columnar.records()] == ["a@example.nl", "b@example.nl"]


@pytest.mark.parametrize(
    "text",
    [
        'nr;naam\n1;"Jansen; B.V."\n',  # quoting: a delimiter inside a cell
        "nr;naam\r1;Jansen\r2;Bakker\r",  # old Mac line ends: csv.reader splits on a lone CR
        "nr;naam\r\n1;Jan\rsen\r\n",  # a lone CR inside a CRLF file
    ],
)
def test_files_that_need_csv_reader_keep_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    path = tmp_path / "k.csv"
    path.write_bytes(text.encode("utf-8"))
    table = text_files.read_text_table(str(path), encoding=None, delimiter=";", quotechar='"')
    assert table.line_chunks is not None and table.line_chunks() is None
    text_files._DECODED.clear()
    columnar, by_row = both_paths(monkeypatch, {"files": [{"path": str(path)}]})
    assert messages_without_time(columnar) == messages_without_time(by_row)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab;"\r\n\u2028\x0b', max_size=60), st.integers(1, 8))
def test_lines_are_those_of_a_stringio(text: str, chunk_chars: int) -> None:
    old = text_files._LINE_CHUNK_CHARS
    text_files._LINE_CHUNK_CHARS = chunk_chars
    try:
        assert list(text_files._lines(text)) == list(io.StringIO(text, newline=""))
    finally:
        text_files._LINE_CHUNK_CHARS = old
