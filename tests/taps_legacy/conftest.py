"""Fixture files for tap-legacy, generated once per session: copybook/EBCDIC, DBF, vCard..."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tap_legacy.copybook import encode_records

CUSTOMER_COPYBOOK = """\
      * CUSTOMER MASTER - test copybook with the usual mainframe types
000100 01  CUSTOMER-RECORD.
000200     05  CUST-ID              PIC 9(8).
000300     05  CUST-NAME.
000400         10  FAMILY-NAME      PIC X(20).
000500         10  GIVEN-NAME       PIC X(15).
000600     05  CITY                 PIC X(20).
000700     05  BALANCE              PIC S9(7)V99 COMP-3.
000800     05  CREDIT-LIMIT         PIC 9(5)V99 COMP-3.
000900     05  ORDER-COUNT          PIC S9(5) COMP-3.
001000     05  LAST-AMOUNT          PIC S9(5)V99.
001100     05  BRANCH               PIC S9(4) COMP.
001200     05  LOYALTY-POINTS       PIC 9(9) COMP-5.
001300     05  PHONE OCCURS 2 TIMES PIC X(16).
001400     05  FILLER               PIC X(4).
"""

CUSTOMERS: list[dict[str, Any]] = [
    {
        "cust_id": 10000001,
        "family_name": "Müller",
        "given_name": "Jürgen",
        "city": "München",
        "balance": Decimal("-1234.56"),
        "credit_limit": Decimal("50000.00"),
        "order_count": 42,
        "last_amount": Decimal("-99.95"),
        "branch": -12,
        "loyalty_points": 123456789,
        "phone": ["+49 89 123456", "+49 171 555"],
    },
    {
        "cust_id": 10000002,
        "family_name": "van der Berg",
        "given_name": "Anna",
        "city": "Utrecht",
        "balance": Decimal("9999999.99"),
        "credit_limit": Decimal("0.01"),
        "order_count": -99999,
        "last_amount": Decimal("0.00"),
        "branch": 9999,
        "loyalty_points": 0,
        "phone": ["+31 30 1234567"],
    },
    {
        "cust_id": 10000003,
        "family_name": "Sharma",
        "given_name": "Rahul",
        "city": "Pune",
        "balance": Decimal("0.00"),
        "credit_limit": Decimal("12345.67"),
        "order_count": 0,
        "last_amount": Decimal("12345.67"),
        "branch": 0,
        "loyalty_points": 999999999,
        "phone": [],
    },
]

EXPECTED_DECODED = [
    {
        "cust_id": 10000001,
        "family_name": "Müller",
        "given_name": "Jürgen",
        "city": "München",
        "balance": "-1234.56",
        "credit_limit": "50000.00",
        "order_count": 42,
        "last_amount": "-99.95",
        "branch": -12,
        "loyalty_points": 123456789,
        "phone": ["+49 89 123456", "+49 171 555"],
    },
    {
        "cust_id": 10000002,
        "family_name": "van der Berg",
        "given_name": "Anna",
        "city": "Utrecht",
        "balance": "9999999.99",
        "credit_limit": "0.01",
        "order_count": -99999,
        "last_amount": "0.00",
        "branch": 9999,
        "loyalty_points": 0,
        "phone": ["+31 30 1234567", ""],
    },
    {
        "cust_id": 10000003,
        "family_name": "Sharma",
        "given_name": "Rahul",
        "city": "Pune",
        "balance": "0.00",
        "credit_limit": "12345.67",
        "order_count": 0,
        "last_amount": "12345.67",
        "branch": 0,
        "loyalty_points": 999999999,
        "phone": ["", ""],
    },
]

RECORD_LENGTH = 8 + 20 + 15 + 20 + 5 + 4 + 3 + 7 + 2 + 4 + 32 + 4


@pytest.fixture(scope="session")
def legacy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with one file of every format the tap reads."""
    return write_fixture_files(tmp_path_factory.mktemp("legacy"))


def write_fixture_files(base: Path) -> Path:
    """Write one small file of every format into ``base`` (generated, never checked in)."""
    (base / "customer.cpy").write_text(CUSTOMER_COPYBOOK, encoding="utf-8")
    (base / "customers.ebc").write_bytes(encode_records(CUSTOMER_COPYBOOK, CUSTOMERS, "cp1141"))
    _write_dbf(base / "clients.dbf")
    (base / "contacts.vcf").write_bytes(VCARDS)
    (base / "contacts.ldif").write_bytes(LDIF)
    (base / "crm.xml").write_bytes(XML)
    (base / "layout.yml").write_text(LAYOUT, encoding="utf-8")
    (base / "customers.txt").write_text(FIXED_WIDTH, encoding="utf-8")
    return base


def _write_dbf(path: Path) -> None:
    import dbf

    table = dbf.Table(
        str(path),
        "name C(30); balance N(12,2); visits N(5,0); born D; active L; notes M; credit Y",
        dbf_type="vfp",
        codepage="cp1252",
    )
    table.open(dbf.READ_WRITE)
    rows = [
        (
            "Müller GmbH",
            Decimal("1234.50"),
            3,
            dt.date(1970, 1, 2),
            True,
            "Memo für Müller",
            Decimal("12.3456"),
        ),
        ("Gelöscht", Decimal("1.00"), 1, None, False, "", Decimal(0)),
        (
            "Sharma Pvt. Ltd.",
            Decimal("-0.10"),
            0,
            None,
            None,
            "line one\r\nline two",
            Decimal("-1.5"),
        ),
        ("Bakker B.V.", Decimal("0.30"), 7, dt.date(2001, 12, 31), False, "", Decimal("0.1")),
    ]
    for row in rows:
        table.append(row)
    dbf.delete(table[1])
    table.close()


VCARDS = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen;;Dr.;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Dr. J=C3=BCrgen M=C3=BCller\r\n"
    "ORG:Müller GmbH;Vertrieb\r\n"
    "TEL;WORK;VOICE:+49 89 123456\r\n"
    "TEL;CELL;PREF:+49 171 5550000\r\n"
    "EMAIL;PREF;INTERNET:juergen@mueller.example\r\n"
    "EMAIL;INTERNET:j.mueller@privat.example\r\n"
    "ADR;WORK;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:;;Hauptstra=C3=9Fe 5;M=C3=BCnchen;BY;80331;=\r\n"
    "Germany\r\n"
    "ADR;HOME:;;Nebenweg 2;Starnberg;;82319;DE\r\n"
    "NOTE;ENCODING=QUOTED-PRINTABLE:Kunde seit 1998=0D=0AVIP\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:Berg;Anna;;;\r\n"
    "FN:Anna van der Berg\r\n"
    "EMAIL;TYPE=INTERNET,HOME:anna@berg.example\r\n"
    "EMAIL;TYPE=INTERNET,WORK,PREF:a.berg@firma.example\r\n"
    "TEL;TYPE=CELL:+31 6 12345678\r\n"
    "ADR;TYPE=HOME:;;Oudegracht 1;Utrecht;;3511 AB;Netherlands\r\n"
    "NOTE:Comma\\, semicolon\\; and a long line that is folded across\r\n"
    "  two lines\r\n"
    "CATEGORIES:Customer,B2C\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:राहुल शर्मा\r\n"
    "N:शर्मा;राहुल;;;\r\n"
    "EMAIL;TYPE=work;PREF=1:rahul@sharma.example\r\n"
    'TEL;VALUE=uri;TYPE="voice,cell":tel:+91-98765-43210\r\n'
    "item1.ADR;TYPE=work:;;MG Road 12;Pune;MH;411001;India\r\n"
    "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
    "END:VCARD\r\n"
).encode()

LDIF = """\
version: 1

# Thunderbird address book export
dn: cn=Jürgen Müller,mail=juergen@mueller.example
objectclass: top
objectclass: person
objectclass: inetOrgPerson
cn: Jürgen Müller
givenName: Jürgen
sn: Müller
mail: juergen@mueller.example
mail: j.mueller@privat.example
telephoneNumber: +49 89 123456
mobile: +49 171 5550000
o: Müller GmbH
l: München
postalCode: 80331
c: DE
street: Hauptstraße 5

dn:: Y249QW5uYSB2YW4gZGVyIEJlcmcsbWFpbD1hbm5hQGJlcmcuZXhhbXBsZQ==
cn: Anna van der Berg
sn: van der Berg
mail: anna@berg.example
description: a long description that is folded
  over two lines
homePhone: +31 30 1234567
""".encode()

XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<crm:export xmlns:crm="urn:example:crm" xmlns:a="urn:example:address">
  <crm:meta><crm:created>2009-05-01</crm:created></crm:meta>
  <crm:customers>
    <crm:customer id="C-1" vip="true">
      <crm:name>Müller GmbH</crm:name>
      <crm:balance>1234.50</crm:balance>
      <crm:visits>3</crm:visits>
      <crm:emails><crm:email>info@mueller.example</crm:email><crm:email>sales@mueller.example</crm:email></crm:emails>
      <a:address><a:city>München</a:city><a:zip>80331</a:zip></a:address>
    </crm:customer>
    <crm:customer id="C-2" vip="false">
      <crm:name>राहुल शर्मा</crm:name>
      <crm:balance>-0.10</crm:balance>
      <crm:visits>0</crm:visits>
      <crm:emails/>
      <a:address><a:city>Pune</a:city><a:zip>411001</a:zip></a:address>
    </crm:customer>
    <crm:customer id="C-3" vip="maybe">
      <crm:name>Broken Boolean</crm:name>
      <crm:balance>1</crm:balance>
      <crm:visits>1</crm:visits>
    </crm:customer>
  </crm:customers>
</crm:export>
""".encode()

XML_FIELDS = {
    "id": "@id",
    "name": "crm:name",
    "balance": {"path": "crm:balance", "type": "decimal"},
    "visits": {"path": "crm:visits", "type": "integer"},
    "vip": {"path": "@vip", "type": "boolean"},
    "emails": {"path": "crm:emails/crm:email", "type": "list"},
    "city": "a:address/a:city",
}
XML_NAMESPACES = {"crm": "urn:example:crm", "a": "urn:example:address"}

LAYOUT = """\
fields:
  - {name: customer_id, start: 1, length: 6, type: integer}
  - {name: name, start: 7, length: 20}
  - {name: balance, start: 27, length: 10, type: decimal, scale: 2}
  - {name: since, start: 37, length: 8, type: date, date_format: "%Y%m%d"}
"""

FIXED_WIDTH = "ID    NAME                BALANCE   SINCE\n" + "".join(
    f"{cid:06d}{name:<20}{balance:>10}{since}\n"
    for cid, name, balance, since in [
        (1, "Müller GmbH", "0000123450", "19980101"),
        (2, "Sharma", "-000000010", "20010230"),  # 30 February: an error record
        (3, "van der Berg", "0000000030", "20050615"),
    ]
)
