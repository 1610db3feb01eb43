"""Write the demo's three source systems from generated customers, each in its own dialect.

- ``webshop``: a Dutch Excel "CSV UTF-8" export (semicolons, BOM, Dutch headers, dd-mm-yyyy).
- ``erp``: an ERP database (SQLite) with customers and their orders.
- ``legacy``: a mainframe export, fixed-width EBCDIC (cp037) with COMP-3 money fields,
  described by a COBOL copybook; names in upper case, ASCII only.

A few records are broken on purpose (an impossible date, a corrupt packed decimal) so the
demo shows quarantine at work.
"""

from __future__ import annotations

import csv
import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from unidecode import unidecode

from crmhub.demo.ebcdic import COPYBOOK, corrupt_packed, encode_record

WEBSHOP_HEADER = [
    "Klantnummer",
    "Voornaam",
    "Tussenvoegsel",
    "Achternaam",
    "Bedrijf",
    "E-mail",
    "Telefoon",
    "Mobiel",
    "Straat",
    "Huisnummer",
    "Postcode",
    "Plaats",
    "Land",
    "Geboortedatum",
    "Nieuwsbrief",
    "Laatst gewijzigd",
]

COUNTRY_NL = {"NL": "Nederland", "DE": "Duitsland", "IN": "India", "GB": "Verenigd Koninkrijk"}


def _first(values: Any, index: int = 0) -> str:
    if isinstance(values, list) and len(values) > index:
        return str(values[index])
    return ""


def _address(record: dict[str, Any]) -> dict[str, Any]:
    addresses = record.get("addresses") or [{}]
    return dict(addresses[0])


def _yes_no(value: Any) -> str:
    return "ja" if value is True else "nee" if value is False else ""


def _dmy(iso: str | None) -> str:
    if not iso:
        return ""
    y, m, d = iso.split("-")
    return f"{d}-{m}-{y}"


def write_webshop(records: list[dict[str, Any]], path: Path) -> int:
    """The webshop's customer export; returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(WEBSHOP_HEADER)
        for number, r in enumerate(records, 1):
            a = _address(r)
            birth = _dmy(r.get("birth_date"))
            if number % 97 == 13 and birth:
                birth = "31-02-" + birth[-4:]  # an impossible date: quarantined with a reason
            writer.writerow(
                [
                    10000 + number,
                    r.get("given_name", ""),
                    r.get("name_particle", ""),
                    r.get("family_name") or r.get("full_name", ""),
                    r.get("organization_name", ""),
                    _first(r.get("emails")),
                    _first(r.get("phones")),
                    _first(r.get("phones"), 1),
                    a.get("street", ""),
                    a.get("house_number", ""),
                    a.get("postal_code", ""),
                    a.get("city", ""),
                    COUNTRY_NL.get(str(a.get("country", "")), a.get("country", "")),
                    birth,
                    _yes_no(r.get("consent_email")),
                    (r.get("updated_at") or "")[:10],
                ]
            )
    return len(records)


def write_erp(records: list[dict[str, Any]], path: Path, *, seed: int) -> tuple[int, int]:
    """The ERP database: customers and orders; returns (customers, orders)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    rnd = random.Random(seed)
    conn = sqlite3.connect(path)
    try:
        conn.executescript(
            """
            CREATE TABLE customers (
                customer_id INTEGER PRIMARY KEY,
                first_name TEXT, last_name TEXT, company_name TEXT, legal_form TEXT,
                email TEXT, email_2 TEXT, phone TEXT, street TEXT, house_number TEXT,
                postal_code TEXT, city TEXT, country_code TEXT, vat_id TEXT,
                birth_date DATE, created_at TIMESTAMP, updated_at TIMESTAMP NOT NULL
            );
            CREATE TABLE orders (
                order_id INTEGER PRIMARY KEY,
                customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
                order_number TEXT NOT NULL, order_date DATE NOT NULL,
                status TEXT NOT NULL, currency TEXT NOT NULL, total NUMERIC(12, 2) NOT NULL,
                updated_at TIMESTAMP NOT NULL
            );
            """
        )
        order_id = 0
        for number, r in enumerate(records, 1):
            a = _address(r)
            emails = r.get("emails") or []
            conn.execute(
                "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    number,
                    r.get("given_name"),
                    " ".join(x for x in (r.get("name_particle"), r.get("family_name")) if x)
                    or r.get("full_name"),
                    r.get("organization_name"),
                    r.get("legal_form"),
                    emails[0] if emails else None,
                    emails[1] if len(emails) > 1 else None,
                    _first(r.get("phones")) or None,
                    a.get("street"),
                    a.get("house_number"),
                    a.get("postal_code"),
                    a.get("city"),
                    a.get("country"),
                    _first(r.get("tax_ids")) or None,
                    r.get("birth_date"),
                    (r.get("created_at") or "").replace("T", " ").rstrip("Z") or None,
                    (r.get("updated_at") or "2024-01-01T00:00:00Z").replace("T", " ").rstrip("Z"),
                ),
            )
            for _ in range(rnd.randint(0, 3)):
                order_id += 1
                day = date(2020, 1, 1) + timedelta(days=rnd.randint(0, 1800))
                conn.execute(
                    "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?)",
                    (
                        order_id,
                        number,
                        f"SO{order_id:06d}",
                        day.isoformat(),
                        rnd.choice(["done", "done", "processing", "cancelled"]),
                        "EUR",
                        f"{rnd.randint(500, 250000) / 100:.2f}",
                        f"{day.isoformat()} 12:00:00",
                    ),
                )
        conn.commit()
    finally:
        conn.close()
    return len(records), order_id


def write_legacy(records: list[dict[str, Any]], folder: Path) -> int:
    """The mainframe export and its copybook; returns the records written."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "CUSTMAST.cpy").write_text(COPYBOOK, encoding="ascii")
    rows = []
    for number, r in enumerate(records, 1):
        a = _address(r)
        name = r.get("full_name") or " ".join(
            x for x in (r.get("given_name"), r.get("name_particle"), r.get("family_name")) if x
        )
        name = name or r.get("organization_name") or ""
        birth = (r.get("birth_date") or "").replace("-", "")
        data = encode_record(
            {
                "cust_id": 500000 + number,
                "full_name": unidecode(name).upper(),
                "street": unidecode(str(a.get("street", ""))).upper(),
                "house_no": a.get("house_number", ""),
                "postcode": a.get("postal_code", ""),
                "city": unidecode(str(a.get("city", ""))).upper(),
                "country": a.get("country", ""),
                "phone": _first(r.get("phones")),
                "email": _first(r.get("emails")).upper(),
                "birth_date": int(birth) if birth.isdigit() else 0,
                "balance": f"{(number * 7919) % 1000000 / 100:.2f}",
                "credit_limit": (number % 5) * 1000,
            }
        )
        if number % 150 == 77:
            data = corrupt_packed(data)  # a broken record: kept in quarantine with its bytes
        rows.append(data)
    (folder / "CUSTMAST.DAT").write_bytes(b"".join(rows))
    return len(rows)
