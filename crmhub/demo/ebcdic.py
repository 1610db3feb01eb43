"""Write the demo's mainframe export: fixed-width EBCDIC records with COMP-3 fields.

The hub never imports a tap (taps are separate processes), so the demo writes the file with
this small encoder for its one fixed layout; tap-legacy then reads it with its own copybook
parser, which makes the demo an end-to-end check of both.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

COPYBOOK = """\
      * Customer master export of the retired mainframe CRM (demo).
       01  CUSTOMER-RECORD.
           05  CUST-ID            PIC 9(8).
           05  FULL-NAME          PIC X(40).
           05  STREET             PIC X(30).
           05  HOUSE-NO           PIC X(6).
           05  POSTCODE           PIC X(8).
           05  CITY               PIC X(25).
           05  COUNTRY            PIC X(2).
           05  PHONE              PIC X(18).
           05  EMAIL              PIC X(40).
           05  BIRTH-DATE         PIC 9(8).
           05  BALANCE            PIC S9(7)V99 COMP-3.
           05  CREDIT-LIMIT       PIC S9(7) COMP-3.
           05  FILLER             PIC X(4).
"""

# (name, kind, length, scale); COMP-3 length is in digits.
LAYOUT: list[tuple[str, str, int, int]] = [
    ("cust_id", "zoned", 8, 0),
    ("full_name", "text", 40, 0),
    ("street", "text", 30, 0),
    ("house_no", "text", 6, 0),
    ("postcode", "text", 8, 0),
    ("city", "text", 25, 0),
    ("country", "text", 2, 0),
    ("phone", "text", 18, 0),
    ("email", "text", 40, 0),
    ("birth_date", "zoned", 8, 0),
    ("balance", "packed", 9, 2),
    ("credit_limit", "packed", 7, 0),
    ("filler", "text", 4, 0),
]
CODEPAGE = "cp037"


def _packed(value: Decimal, digits: int, scale: int) -> bytes:
    unscaled = int((value * (10**scale)).to_integral_value())
    sign = 0x0D if unscaled < 0 else 0x0C
    text = str(abs(unscaled)).rjust(digits + (digits + 1) % 2, "0")
    if len(text) > digits + 1:
        raise ValueError(f"{value} does not fit {digits} digits")
    nibbles = [int(c) for c in text] + [sign]
    return bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, len(nibbles), 2))


def _text(value: Any, length: int) -> bytes:
    raw = str(value or "").encode(CODEPAGE, errors="replace")[:length]
    return raw + " ".encode(CODEPAGE) * (length - len(raw))


def _zoned(value: int, length: int) -> bytes:
    return str(int(value)).rjust(length, "0")[-length:].encode(CODEPAGE)


def encode_record(record: dict[str, Any]) -> bytes:
    """One fixed-length record in the layout above."""
    out = bytearray()
    for name, kind, length, scale in LAYOUT:
        value = record.get(name)
        if kind == "text":
            out += _text(value, length)
        elif kind == "zoned":
            out += _zoned(int(value or 0), length)
        else:
            out += _packed(Decimal(str(value or 0)), length, scale)
    return bytes(out)


def corrupt_packed(record: bytes) -> bytes:
    """The same record with an invalid nibble in BALANCE (a real-world broken export)."""
    offset = sum(length for name, kind, length, _ in LAYOUT[:10])
    return record[:offset] + b"\xfa" + record[offset + 1 :]
