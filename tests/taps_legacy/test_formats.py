"""DBF, vCard, LDIF, XML and fixed-width readers: exact values, lineage, bad input."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from tap_legacy.errors import LegacyConfigError, LegacySourceError
from tap_legacy.readers.dbf_reader import DbfReader
from tap_legacy.readers.fixed_width_reader import FixedWidthReader
from tap_legacy.readers.ldif_reader import LdifReader
from tap_legacy.readers.vcard_reader import VcardReader
from tap_legacy.readers.xml_reader import XmlReader

from .conftest import XML_FIELDS, XML_NAMESPACES

LOG = logging.getLogger("test")


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


# ---------------------------------------------------------------- DBF


def test_dbf_exact_decimals_memo_and_deleted_rows(legacy_dir: Path) -> None:
    path = str(legacy_dir / "clients.dbf")
    reader = DbfReader({"name": "clients"}, LOG)
    props = reader.properties(path)
    assert props["balance"]["format"] == "x-singer.decimal"
    assert props["visits"]["type"] == ["integer", "null"]
    records = list(reader.read(path))
    assert [_fields(r) for r in records] == [
        {
            "name": "Müller GmbH",
            "balance": "1234.50",
            "visits": 3,
            "born": "1970-01-02",
            "active": True,
            "notes": "Memo für Müller",
            "credit": "12.3456",
        },
        {
            "name": "Sharma Pvt. Ltd.",
            "balance": "-0.10",
            "visits": 0,
            "born": None,
            "active": None,
            "notes": "line one\r\nline two",
            "credit": "-1.5000",
        },
        {
            "name": "Bakker B.V.",
            "balance": "0.30",
            "visits": 7,
            "born": "2001-12-31",
            "active": False,
            "notes": "",
            "credit": "0.1000",
        },
    ]
    # record numbers are physical positions: row 2 was deleted and is skipped, and counted
    assert [r["_record_number"] for r in records] == [1, 3, 4]
    assert reader.deleted_counts[path] == 1
    header_length = int.from_bytes((legacy_dir / "clients.dbf").read_bytes()[8:10], "little")
    record_length = int.from_bytes((legacy_dir / "clients.dbf").read_bytes()[10:12], "little")
    assert records[1]["_byte_offset"] == header_length + 2 * record_length


def test_dbf_missing_memo_file_is_structural(legacy_dir: Path, tmp_path: Path) -> None:
    lone = tmp_path / "lone.dbf"
    shutil.copy(legacy_dir / "clients.dbf", lone)
    with pytest.raises(LegacySourceError, match="memo file is missing") as caught:
        DbfReader({"name": "x"}, LOG).properties(str(lone))
    assert str(lone) in str(caught.value)
    memo = tmp_path / "elsewhere.fpt"
    shutil.copy(legacy_dir / "clients.fpt", memo)
    reader = DbfReader({"name": "x", "memo_path": str(memo)}, LOG)
    assert next(iter(reader.read(str(lone))))["notes"] == "Memo für Müller"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:20], "the DBF header is broken"),
        (lambda b: b[:10] + (9999).to_bytes(2, "little") + b[12:], "record length 9999"),
        (lambda b: b[:8] + (65000).to_bytes(2, "little") + b[10:], "header length 65000"),
    ],
)
def test_dbf_broken_header(legacy_dir: Path, tmp_path: Path, mutate: Any, message: str) -> None:
    broken = tmp_path / "broken.dbf"
    broken.write_bytes(mutate((legacy_dir / "clients.dbf").read_bytes()))
    shutil.copy(legacy_dir / "clients.fpt", tmp_path / "broken.fpt")
    with pytest.raises(LegacySourceError, match=message) as caught:
        DbfReader({"name": "x"}, LOG).open_table(str(broken))
    assert str(caught.value).startswith(f"{broken}, byte offset")


def test_dbf_bad_number_and_wrong_codepage_are_error_records(
    legacy_dir: Path, tmp_path: Path
) -> None:
    data = bytearray((legacy_dir / "clients.dbf").read_bytes())
    header_length = int.from_bytes(data[8:10], "little")
    record_length = int.from_bytes(data[10:12], "little")
    start = header_length + 3 * record_length  # Bakker, the 4th physical row
    balance_at = start + 1 + 30
    data[balance_at : balance_at + 12] = b"    12x45.00"
    path = tmp_path / "badnum.dbf"
    path.write_bytes(bytes(data))
    shutil.copy(legacy_dir / "clients.fpt", tmp_path / "badnum.fpt")
    records = list(DbfReader({"name": "x"}, LOG).read(str(path)))
    assert len(records) == 3
    bad = records[2]
    assert bad["_record_number"] == 4 and bad["_byte_offset"] == start
    assert "field BALANCE (type N, record byte 31): invalid number" in bad["_record_error"]
    assert bytes.fromhex(bad["_raw_hex"]) == bytes(data[start : start + record_length])

    ascii_records = list(DbfReader({"name": "x", "codepage": "ascii"}, LOG).read(str(path)))
    assert "not valid in code page ascii" in ascii_records[0]["_record_error"]


def test_dbase_iv_memo_file(legacy_dir: Path, tmp_path: Path) -> None:
    """dBase IV (.dbt with block headers): written by hand, the `dbf` package cannot."""
    import dbf

    path = tmp_path / "db4.dbf"
    table = dbf.Table(str(path), "name C(10); amount N(8,3); notes M", dbf_type="db3")
    table.open(dbf.READ_WRITE)
    table.append(("Iyer", "1.005", "x"))
    table.close()
    data = bytearray(path.read_bytes())
    data[0] = 0x8B  # dBase IV with memo
    header_length = int.from_bytes(data[8:10], "little")
    memo_at = header_length + 1 + 10 + 8
    data[memo_at : memo_at + 10] = b"         1"
    path.write_bytes(bytes(data))
    memo_text = "Notiz für Iyer".encode("cp437")
    block = (0x0008FFFF).to_bytes(4, "little") + len(memo_text).to_bytes(4, "little")
    dbt = bytearray(512) + block + memo_text + b"\x1f"
    (tmp_path / "db4.dbt").write_bytes(bytes(dbt))
    records = list(DbfReader({"name": "x", "codepage": "cp437"}, LOG).read(str(path)))
    assert _fields(records[0]) == {"name": "Iyer", "amount": "1.005", "notes": "Notiz für Iyer"}


# ---------------------------------------------------------------- vCard


def test_vcards_21_30_40(legacy_dir: Path) -> None:
    records = list(VcardReader({"name": "c"}, LOG).read(str(legacy_dir / "contacts.vcf")))
    assert [r["_record_number"] for r in records] == [1, 2, 3]
    assert [r["_line_number"] for r in records] == [1, 15, 27]
    assert all(r["_record_error"] is None for r in records)
    v21, v30, v40 = records
    assert (v21["family_name"], v21["given_name"], v21["name_prefix"]) == (
        "Müller",
        "Jürgen",
        "Dr.",
    )
    assert v21["full_name"] == "Dr. Jürgen Müller"
    assert (v21["organization"], v21["org_unit"]) == ("Müller GmbH", "Vertrieb")
    assert v21["emails"] == [
        {"value": "juergen@mueller.example", "types": ["internet"], "pref": True},
        {"value": "j.mueller@privat.example", "types": ["internet"], "pref": False},
    ]
    assert [p["value"] for p in v21["phones"]] == ["+49 89 123456", "+49 171 5550000"]
    assert v21["phones"][1]["types"] == ["cell"] and v21["phones"][1]["pref"]
    work = v21["addresses"][0]
    assert (work["street"], work["city"], work["postal_code"], work["country"]) == (
        "Hauptstraße 5",
        "München",
        "80331",
        "Germany",
    )
    assert v21["addresses"][1]["types"] == ["home"]
    assert v21["note"] == "Kunde seit 1998\r\nVIP"
    assert v30["note"] == "Comma, semicolon; and a long line that is folded across two lines"
    assert v30["emails"][1] == {
        "value": "a.berg@firma.example",
        "types": ["internet", "work"],
        "pref": True,
    }
    assert v30["categories"] == ["Customer", "B2C"]
    assert v30["addresses"][0]["postal_code"] == "3511 AB"
    assert v40["given_name"] == "राहुल"
    assert v40["phones"] == [
        {"value": "+91-98765-43210", "types": ["voice", "cell"], "pref": False}
    ]
    assert v40["addresses"][0]["city"] == "Pune"
    assert v40["uid"] == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"
    assert records[1]["_byte_offset"] == (legacy_dir / "contacts.vcf").read_bytes().index(
        b"BEGIN:VCARD\r\nVERSION:3.0"
    )


def test_vcard_without_end_and_bad_charset_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "broken.vcf"
    path.write_bytes(
        b"BEGIN:VCARD\nVERSION:3.0\nFN:No End\n"
        b"BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=KLINGON:x\nEND:VCARD\n"
        b"BEGIN:VCARD\nVERSION:3.0\nFN:Good\nEND:VCARD\n"
        b"BEGIN:VCARD\nVERSION:3.0\nFN:Cut off at the end\n"
    )
    records = list(VcardReader({"name": "c"}, LOG).read(str(path)))
    assert len(records) == 4
    first, second, good, last = records
    assert (
        "BEGIN:VCARD at line 1 has no END:VCARD before the next BEGIN:VCARD at line 4"
        in first["_record_error"]
    )
    assert bytes.fromhex(first["_raw_hex"]) == b"BEGIN:VCARD\nVERSION:3.0\nFN:No End"
    assert first["_byte_offset"] == 0 and first["full_name"] is None
    assert "unknown CHARSET 'KLINGON'" in second["_record_error"]
    assert good["full_name"] == "Good" and good["_record_number"] == 3
    assert "has no END:VCARD (the file ends)" in last["_record_error"]
    assert last["_line_number"] == 12


# ---------------------------------------------------------------- LDIF


def test_ldif_entries(legacy_dir: Path, tmp_path: Path) -> None:
    records = list(LdifReader({"name": "l"}, LOG).read(str(legacy_dir / "contacts.ldif")))
    assert len(records) == 2
    juergen, anna = records
    assert juergen["dn"] == "cn=Jürgen Müller,mail=juergen@mueller.example"
    assert juergen["emails"] == ["juergen@mueller.example", "j.mueller@privat.example"]
    assert juergen["phones"] == [
        {"value": "+49 89 123456", "type": "work"},
        {"value": "+49 171 5550000", "type": "mobile"},
    ]
    assert (juergen["city"], juergen["street"], juergen["country"]) == (
        "München",
        "Hauptstraße 5",
        "DE",
    )
    assert juergen["object_classes"] == ["top", "person", "inetOrgPerson"]
    assert juergen["attributes"]["givenName"] == ["Jürgen"]
    assert juergen["_line_number"] == 4
    assert anna["dn"] == "cn=Anna van der Berg,mail=anna@berg.example"  # base64 dn
    assert anna["description"] == "a long description that is folded over two lines"
    bad = tmp_path / "bad.ldif"
    bad.write_bytes(b"dn: cn=a\nmail:: !!!notbase64\n\ncn: no dn\n\ndn: cn=ok\ncn: ok\n")
    out = list(LdifReader({"name": "l"}, LOG).read(str(bad)))
    assert [r.get("_record_error") is None for r in out] == [False, False, True]
    assert "attribute mail has invalid base64" in out[0]["_record_error"]
    assert "does not start with dn:" in out[1]["_record_error"]
    assert out[2]["common_name"] == "ok"


# ---------------------------------------------------------------- XML


def _xml_reader(**options: Any) -> XmlReader:
    config = {
        "name": "x",
        "record_path": "/crm:export/crm:customers/crm:customer",
        "fields": XML_FIELDS,
        "namespaces": XML_NAMESPACES,
        **options,
    }
    return XmlReader(config, LOG)


def test_xml_records_with_namespaces(legacy_dir: Path) -> None:
    records = list(_xml_reader().read(str(legacy_dir / "crm.xml")))
    assert [_fields(r) for r in records[:2]] == [
        {
            "id": "C-1",
            "name": "Müller GmbH",
            "balance": "1234.50",
            "visits": 3,
            "vip": True,
            "emails": ["info@mueller.example", "sales@mueller.example"],
            "city": "München",
        },
        {
            "id": "C-2",
            "name": "राहुल शर्मा",
            "balance": "-0.10",
            "visits": 0,
            "vip": False,
            "emails": [],
            "city": "Pune",
        },
    ]
    assert records[0]["_line_number"] == 5
    assert "field vip (line 19): 'maybe' is not a boolean" in records[2]["_record_error"]
    assert b'id="C-3"' in bytes.fromhex(records[2]["_raw_hex"])
    anywhere = list(_xml_reader(record_path="//crm:customer").read(str(legacy_dir / "crm.xml")))
    assert [r["_record_number"] for r in anywhere] == [1, 2, 3]


def test_malformed_xml_stops_with_line_and_column(legacy_dir: Path, tmp_path: Path) -> None:
    text = (legacy_dir / "crm.xml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace("<crm:visits>0</crm:visits>", "<crm:visits>0</crm:visit>"))
    reader = _xml_reader()
    seen: list[dict[str, Any]] = []
    with pytest.raises(LegacySourceError) as caught:
        seen.extend(reader.read(str(broken)))
    assert len(seen) == 1  # the record before the break was read
    assert caught.value.line == 15
    assert "malformed XML after record 1" in str(caught.value)
    assert str(caught.value).startswith(f"{broken}, line 15, column ")


def test_xml_streams_without_holding_the_tree(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    with path.open("w", encoding="utf-8") as out:
        out.write("<root><list>")
        for i in range(20000):
            out.write(f'<c id="{i}"><n>name {i}</n></c>')
        out.write("</list></root>")
    reader = XmlReader({"name": "x", "record_path": "c", "fields": {"id": "@id", "n": "n"}}, LOG)
    count = 0
    for _record in reader.read(str(path)):
        count += 1
        if count == 19000:
            # elements already emitted were cleared and removed from their parent
            import gc

            from lxml import etree

            assert sum(isinstance(o, etree._Element) for o in gc.get_objects()) < 1000
    assert count == 20000


def test_xml_config_errors() -> None:
    with pytest.raises(LegacyConfigError, match="not in 'namespaces'"):
        XmlReader({"name": "x", "record_path": "z:c", "fields": {"a": "@a"}}, LOG)
    with pytest.raises(LegacyConfigError, match="invalid XPath"):
        XmlReader({"name": "x", "record_path": "c", "fields": {"a": "@@"}}, LOG)


# ---------------------------------------------------------------- fixed width


def test_fixed_width_layout(legacy_dir: Path) -> None:
    options = {"name": "f", "layout": str(legacy_dir / "layout.yml"), "skip_lines": 1}
    records = list(FixedWidthReader(options, LOG).read(str(legacy_dir / "customers.txt")))
    assert _fields(records[0]) == {
        "customer_id": 1,
        "name": "Müller GmbH",
        "balance": "1234.50",
        "since": "1998-01-01",
    }
    assert "field since (columns 37-44): '20010230' is not a date" in records[1]["_record_error"]
    assert records[1]["_line_number"] == 3
    assert _fields(records[2])["balance"] == "0.30"
    first_line = (legacy_dir / "customers.txt").read_bytes().split(b"\n")[0]
    assert records[0]["_byte_offset"] == len(first_line) + 1


def test_fixed_width_layout_errors(tmp_path: Path) -> None:
    with pytest.raises(LegacyConfigError, match="field 1 \\('a'\\): 'start' must be"):
        FixedWidthReader({"name": "f", "fields": [{"name": "a", "start": 0, "length": 2}]}, LOG)
    bad_yaml = tmp_path / "bad.yml"
    bad_yaml.write_text("fields:\n  - {name: a, start: 1\n")
    with pytest.raises(LegacySourceError, match="not valid YAML") as caught:
        FixedWidthReader({"name": "f", "layout": str(bad_yaml)}, LOG)
    assert caught.value.line is not None


def test_copybook_blocked_rdw_and_longer_lrecl(tmp_path: Path) -> None:
    from tap_legacy.copybook import encode_records
    from tap_legacy.readers.copybook_reader import CopybookReader

    text = "       01 R.\n          05 ID PIC 9(4).\n          05 NOTE PIC X(6).\n"
    (tmp_path / "r.cpy").write_text(text)
    rdw = encode_records(
        text, [{"id": 1, "note": "one"}, {"id": 2, "note": "two"}], "cp500", record_format="rdw"
    )
    block = (len(rdw) + 4).to_bytes(2, "big") + b"\x00\x00" + rdw
    (tmp_path / "vb.dat").write_bytes(block + block)
    options = {"name": "v", "copybook": str(tmp_path / "r.cpy"), "codepage": "cp500"}
    reader = CopybookReader({**options, "record_format": "rdw_blocked"}, LOG)
    got = [
        (r["_record_number"], r["_byte_offset"], r["id"])
        for r in reader.read(str(tmp_path / "vb.dat"))
    ]
    assert got == [(1, 4, 1), (2, 18, 2), (3, 36, 1), (4, 50, 2)]

    fixed = encode_records(text, [{"id": 7, "note": "x"}], "cp500") + "PAD!".encode("cp500")
    (tmp_path / "lrecl.dat").write_bytes(fixed * 2)
    reader = CopybookReader({**options, "record_length": 14}, LOG)
    records = list(reader.read(str(tmp_path / "lrecl.dat")))
    assert [(r["id"], r["note"], r["_byte_offset"]) for r in records] == [(7, "x", 0), (7, "x", 14)]


def test_dbf_glob_with_a_different_table_layout_stops(legacy_dir: Path, tmp_path: Path) -> None:
    import dbf

    shutil.copy(legacy_dir / "clients.dbf", tmp_path / "a.dbf")
    shutil.copy(legacy_dir / "clients.fpt", tmp_path / "a.fpt")
    other = dbf.Table(str(tmp_path / "b.dbf"), "code C(5)", dbf_type="db3")
    other.open(dbf.READ_WRITE)
    other.append(("X",))
    other.close()
    reader = DbfReader({"name": "x"}, LOG)
    reader.properties(str(tmp_path / "a.dbf"))
    assert len(list(reader.read(str(tmp_path / "a.dbf")))) == 3
    with pytest.raises(LegacySourceError, match="differ from those of"):
        list(reader.read(str(tmp_path / "b.dbf")))
