"""tap-legacy on copybook files, run as the real console script."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tap_legacy.copybook import encode_records
from tap_legacy.copybook.records import rdw_encode
from tap_legacy.errors import LegacySourceError
from tap_legacy.readers.copybook_reader import CopybookReader

from .conftest import CUSTOMER_COPYBOOK, CUSTOMERS, EXPECTED_DECODED, RECORD_LENGTH
from .helpers import run_tap

LOG = logging.getLogger("test")


def _stream(legacy_dir: Path, data: Path, **options: Any) -> dict[str, Any]:
    return {
        "name": "customers",
        "format": "copybook",
        "path": str(data),
        "copybook": str(legacy_dir / "customer.cpy"),
        "codepage": "cp1141",
        **options,
    }


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def test_reads_ebcdic_comp3_file_exactly_with_lineage(legacy_dir: Path, tmp_path: Path) -> None:
    data = legacy_dir / "customers.ebc"
    run = run_tap(tmp_path, [_stream(legacy_dir, data)])
    assert run.returncode == 0, run.stderr
    records = run.records("customers")
    assert [_fields(r) for r in records] == EXPECTED_DECODED
    assert [(r["_record_number"], r["_byte_offset"]) for r in records] == [
        (1, 0),
        (2, RECORD_LENGTH),
        (3, 2 * RECORD_LENGTH),
    ]
    assert all(r["_source_file"] == str(data) for r in records)
    schema = run.schema("customers")["properties"]
    assert schema["balance"]["format"] == "x-singer.decimal"
    assert schema["order_count"]["type"] == ["integer", "null"]
    assert any(m["type"] == "STATE" for m in run.messages)


def test_undecodable_record_is_emitted_for_quarantine(legacy_dir: Path, tmp_path: Path) -> None:
    data = bytearray((legacy_dir / "customers.ebc").read_bytes())
    second = RECORD_LENGTH
    data[second + 63 : second + 68] = bytes.fromhex("0012a4567c")  # nibble A in a digit
    bad = tmp_path / "bad_nibble.ebc"
    bad.write_bytes(bytes(data))
    run = run_tap(tmp_path, [_stream(legacy_dir, bad)])
    assert run.returncode == 0, run.stderr
    records = run.records()
    assert len(records) == 3  # nothing lost
    broken = records[1]
    assert broken["_record_number"] == 2
    assert broken["_byte_offset"] == RECORD_LENGTH
    assert "field BALANCE at record byte 63" in broken["_record_error"]
    assert "invalid packed-decimal digit nibble 0xA" in broken["_record_error"]
    assert f"file offset {RECORD_LENGTH + 63}" in broken["_record_error"]
    assert bytes.fromhex(broken["_raw_hex"]) == bytes(data[second : second + RECORD_LENGTH])
    assert all(broken[k] is None for k in EXPECTED_DECODED[0])
    assert _fields(records[2]) == EXPECTED_DECODED[2]
    assert "record 2" in run.stderr  # logged as a warning too


def test_length_not_a_multiple_stops_with_file_record_offset(
    legacy_dir: Path, tmp_path: Path
) -> None:
    truncated = tmp_path / "truncated.ebc"
    truncated.write_bytes((legacy_dir / "customers.ebc").read_bytes()[:-10])
    run = run_tap(tmp_path, [_stream(legacy_dir, truncated)])
    assert run.returncode == 65
    assert f"{truncated}, record 3, byte offset {2 * RECORD_LENGTH}" in run.stderr
    assert "not a multiple of the record length" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.records() == []

    reader = CopybookReader(_stream(legacy_dir, truncated, partial_record="quarantine"), LOG)
    records = list(reader.read(str(truncated)))
    assert len(records) == 3
    assert records[2]["_record_error"].startswith("partial record")
    assert len(bytes.fromhex(records[2]["_raw_hex"])) == RECORD_LENGTH - 10


def test_copybook_syntax_error_exits_with_line_and_column(legacy_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.cpy"
    broken.write_text(CUSTOMER_COPYBOOK.replace("PIC S9(7)V99 COMP-3", "PIC S9(7)V99 COMP-9"))
    stream = _stream(legacy_dir, legacy_dir / "customers.ebc", copybook=str(broken))
    for args in ((), ("--discover",)):
        run = run_tap(tmp_path, [stream], *args)
        assert run.returncode == 65
        line = broken.read_text().splitlines()[7]
        column = line.index("COMP-9") + 1
        assert f"{broken}, line 8, column {column}: unexpected word 'COMP-9'" in run.stderr
        assert "Traceback" not in run.stderr


def test_wrong_codepage_is_detected(legacy_dir: Path, tmp_path: Path) -> None:
    ascii_file = tmp_path / "ascii.dat"
    ascii_customers = [
        {**c, "family_name": "Mueller", "given_name": "J", "city": "M"} for c in CUSTOMERS
    ]
    ascii_file.write_bytes(encode_records(CUSTOMER_COPYBOOK, ascii_customers, "ascii"))
    run = run_tap(tmp_path, [_stream(legacy_dir, ascii_file, codepage="cp037")])
    assert run.returncode == 65
    assert "code page cp037 (EBCDIC) looks wrong" in run.stderr
    assert "the data looks like ASCII" in run.stderr
    assert f"{ascii_file}, record 1, byte offset 0" in run.stderr

    run = run_tap(tmp_path, [_stream(legacy_dir, legacy_dir / "customers.ebc", codepage="ascii")])
    assert run.returncode == 65
    assert "looks like EBCDIC" in run.stderr

    reader = CopybookReader(_stream(legacy_dir, ascii_file, codepage="ascii"), LOG)
    assert [r["family_name"] for r in reader.read(str(ascii_file))] == ["Mueller"] * 3


def test_variable_records_with_rdw_and_glob(legacy_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "rdw"
    folder.mkdir()
    text = "       01 R.\n          05 ID PIC 9(4).\n          05 NOTE PIC X(30).\n"
    (folder / "r.cpy").write_text(text)
    full = encode_records(text, [{"id": 1, "note": "long note"}], "cp037", record_format="rdw")
    short = rdw_encode(["0002".encode("cp037"), "0003abc".encode("cp037")])
    (folder / "a.vb").write_bytes(full)
    (folder / "b.vb").write_bytes(short)
    stream = {
        "name": "notes",
        "format": "copybook",
        "path": str(folder / "*.vb"),
        "copybook": str(folder / "r.cpy"),
        "codepage": "cp037",
        "record_format": "rdw",
    }
    run = run_tap(tmp_path, [stream])
    assert run.returncode == 0, run.stderr
    got = [
        (r["_source_file"][-4:], r["_record_number"], r["_byte_offset"], r["id"], r["note"])
        for r in run.records()
    ]
    assert got == [
        ("a.vb", 1, 0, 1, "long note"),
        ("b.vb", 1, 0, 2, None),
        ("b.vb", 2, 8, 3, "abc"),
    ]
    bad = folder / "c.vb"
    bad.write_bytes(b"\x00\x10\x00\x00" + "0004".encode("cp037"))
    with pytest.raises(LegacySourceError) as caught:
        list(CopybookReader({**stream, "path": str(bad)}, LOG).read(str(bad)))
    assert str(caught.value).startswith(
        f"{bad}, record 1, byte offset 0: the record descriptor word announces 16 bytes"
    )
