"""A realistic ERP-like database, built on any SQLAlchemy URL (SQLite, PostgreSQL, MariaDB).

Tables: customers, addresses, contacts, orders, order_lines (composite key), tickets,
interactions, and a view ``open_tickets``. Data is deterministic for a seed: Dutch, German,
Indian (Latin and Devanagari) and English customers, B.V./GmbH/Pvt. Ltd. companies,
DECIMAL amounts, a binary column, dates and timestamps. ``updated_at`` values come in
bursts (many rows share one timestamp, as after a batch job in a real ERP) so that
incremental replication is tested on ties.

Reusable: ``build_erp(url, customers=...)`` creates the tables and fills them;
``erp_metadata()`` gives the schema only.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

PEOPLE = [
    ("Jan Willem", "Berg", "van den", "nl", "NL", "Amsterdam", "1012 AB", "Keizersgracht"),
    ("Anneke", "Vries", "de", "nl", "NL", "Utrecht", "3511 LX", "Oudegracht"),
    ("Jürgen", "Müller", None, "de", "DE", "München", "80331", "Marienplatz"),
    ("Anna-Lena", "Schröder", None, "de", "DE", "Köln", "50667", "Hohe Straße"),
    ("Rahul", "Sharma", None, "hi", "IN", "New Delhi", "110001", "Connaught Place"),
    ("राहुल", "शर्मा", None, "hi", "IN", "नई दिल्ली", "110001", "कनॉट प्लेस"),
    ("Priya", "Iyer", None, "en", "IN", "Bengaluru", "560001", "MG Road"),
    ("Oliver", "Smith", None, "en", "GB", "London", "SW1A 1AA", "Whitehall"),
    ("Siobhán", "O'Brien", None, "en", "IE", "Dublin", "D02 X285", "Grafton Street"),
]
COMPANIES = [
    ("Bakkerij de Gouden Korenaar", "B.V.", "NL"),
    ("Müller & Söhne Maschinenbau", "GmbH", "DE"),
    ("Tata Precision Tools", "Pvt. Ltd.", "IN"),
    ("Harrington Logistics", "Ltd", "GB"),
]
STATUSES = ["open", "confirmed", "shipped", "invoiced", "cancelled"]
BASE_TIME = dt.datetime(2024, 3, 1, 8, 0, 0)


def erp_metadata() -> sa.MetaData:
    """The ERP tables (portable types only)."""
    md = sa.MetaData()
    sa.Table(
        "customers",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_number", sa.String(20), nullable=False, unique=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("salutation", sa.String(20)),
        sa.Column("given_name", sa.String(80)),
        sa.Column("name_particle", sa.String(20)),
        sa.Column("family_name", sa.String(80)),
        sa.Column("company_name", sa.String(120)),
        sa.Column("legal_form", sa.String(20)),
        sa.Column("vat_id", sa.String(30)),
        sa.Column("birth_date", sa.Date),
        sa.Column("language", sa.String(2)),
        sa.Column("credit_limit", sa.Numeric(12, 2)),
        sa.Column("balance", sa.Numeric(14, 4)),
        sa.Column("consent_email", sa.Boolean),
        sa.Column("logo", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
    )
    sa.Table(
        "addresses",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("address_type", sa.String(12), nullable=False),
        sa.Column("street", sa.String(120)),
        sa.Column("house_number", sa.String(12)),
        sa.Column("postal_code", sa.String(12)),
        sa.Column("city", sa.String(80)),
        sa.Column("country", sa.String(2)),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "contacts",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("contact_type", sa.String(10), nullable=False),
        sa.Column("value", sa.String(120), nullable=False),
        sa.Column("is_primary", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "orders",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("order_number", sa.String(20), nullable=False),
        sa.Column("order_date", sa.Date, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "order_lines",
        md,
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sku", sa.String(20), nullable=False),
        sa.Column("description", sa.String(200)),
        sa.Column("quantity", sa.Numeric(12, 3), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "tickets",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("ticket_number", sa.String(20), nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("closed_at", sa.DateTime),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "interactions",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("subject", sa.String(200)),
        sa.Column("body", sa.Text),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    return md


OPEN_TICKETS_VIEW = (
    "CREATE VIEW open_tickets AS SELECT t.id, t.ticket_number, t.customer_id, t.subject, "
    "t.priority, t.updated_at FROM tickets t WHERE t.status <> 'closed'"
)


@dataclass(frozen=True)
class ErpCounts:
    """How many rows each table got."""

    customers: int
    addresses: int
    contacts: int
    orders: int
    order_lines: int
    tickets: int
    interactions: int


def _burst_time(i: int, burst: int) -> dt.datetime:
    # Rows come in bursts of `burst` that share one updated_at (a nightly batch job).
    return BASE_TIME + dt.timedelta(minutes=i // burst)


def customer_rows(n: int, *, seed: int = 7, burst: int = 25) -> list[dict[str, object]]:
    """Customer rows, persons and organizations mixed."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for i in range(1, n + 1):
        created = BASE_TIME - dt.timedelta(days=rng.randint(30, 3000))
        row: dict[str, object] = {
            "id": i,
            "customer_number": f"C{i:07d}",
            "created_at": created,
            "updated_at": _burst_time(i, burst),
            "credit_limit": Decimal(rng.randint(0, 5_000_000)) / 100,
            "balance": Decimal(rng.randint(-10_000_000, 10_000_000)) / 10_000,
            "consent_email": rng.random() < 0.6,
            "logo": bytes(rng.randrange(256) for _ in range(12)) if i % 5 == 0 else None,
            "salutation": None,
            "given_name": None,
            "name_particle": None,
            "family_name": None,
            "company_name": None,
            "legal_form": None,
            "vat_id": None,
            "birth_date": None,
            "language": None,
        }
        if i % 4 == 0:
            name, form, country = COMPANIES[i % len(COMPANIES)]
            row.update(
                kind="organization",
                company_name=f"{name} {form}",
                legal_form=form,
                vat_id=f"{country}{rng.randint(10**8, 10**9 - 1)}",
                language={"NL": "nl", "DE": "de", "IN": "en", "GB": "en"}[country],
            )
        else:
            given, family, particle, lang, *_ = PEOPLE[i % len(PEOPLE)]
            row.update(
                kind="person",
                salutation=rng.choice(["Mr", "Mrs", "Dr.", "Herr", "Frau", "Shri", "Smt.", None]),
                given_name=given,
                name_particle=particle,
                family_name=family,
                birth_date=dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 18000)),
                language=lang,
            )
        rows.append(row)
    return rows


def build_erp(url: str, *, customers: int = 200, seed: int = 7, burst: int = 25) -> ErpCounts:
    """Create the ERP tables and the view on ``url`` and fill them deterministically."""
    rng = random.Random(seed + 1)
    engine = sa.create_engine(url)
    md = erp_metadata()
    try:
        md.create_all(engine)
        custs = customer_rows(customers, seed=seed, burst=burst)
        addresses, contacts, orders, lines, tickets, interactions = [], [], [], [], [], []
        for c in custs:
            cid = int(str(c["id"]))
            person = PEOPLE[cid % len(PEOPLE)]
            t = _burst_time(cid, burst)
            for k, kind in enumerate(["billing", "shipping"][: 1 + cid % 2]):
                addresses.append(
                    {
                        "id": len(addresses) + 1,
                        "customer_id": cid,
                        "address_type": kind,
                        "street": person[7],
                        "house_number": str(1 + (cid * 7 + k) % 300),
                        "postal_code": person[6],
                        "city": person[5],
                        "country": person[4],
                        "updated_at": t,
                    }
                )
            local = str(person[1]).lower().replace(" ", "").replace("'", "")
            contacts.append(
                {
                    "id": len(contacts) + 1,
                    "customer_id": cid,
                    "contact_type": "email",
                    "value": f"{local}.{cid}@example.com",
                    "is_primary": True,
                    "updated_at": t,
                }
            )
            contacts.append(
                {
                    "id": len(contacts) + 1,
                    "customer_id": cid,
                    "contact_type": "phone",
                    "value": {
                        "NL": "+31 20 ",
                        "DE": "+49 89 ",
                        "IN": "+91 11 ",
                        "GB": "+44 20 ",
                        "IE": "+353 1 ",
                    }[str(person[4])]
                    + f"{1000000 + cid * 37 % 8999999}",
                    "is_primary": False,
                    "updated_at": t,
                }
            )
            for _ in range(cid % 3):
                oid = len(orders) + 1
                total = Decimal(0)
                for line_no in range(1, 1 + oid % 3 + 1):
                    qty = Decimal(rng.randint(1, 20_000)) / 1000
                    price = Decimal(rng.randint(100, 99_999)) / 100
                    total += (qty * price).quantize(Decimal("0.01"))
                    lines.append(
                        {
                            "order_id": oid,
                            "line_no": line_no,
                            "sku": f"SKU-{rng.randint(1, 500):04d}",
                            "description": rng.choice(
                                ["Roggebrood", "Schraube M8", "ड्रिल बिट", "Pallet"]
                            ),
                            "quantity": qty,
                            "unit_price": price,
                            "updated_at": t,
                        }
                    )
                orders.append(
                    {
                        "id": oid,
                        "customer_id": cid,
                        "order_number": f"SO{oid:08d}",
                        "order_date": (t - dt.timedelta(days=rng.randint(0, 400))).date(),
                        "status": rng.choice(STATUSES),
                        "currency": rng.choice(["EUR", "INR", "GBP"]),
                        "total_amount": total,
                        "updated_at": t,
                    }
                )
            if cid % 4 == 1:
                opened = t - dt.timedelta(days=rng.randint(1, 90))
                closed = opened + dt.timedelta(hours=rng.randint(1, 200)) if cid % 8 == 1 else None
                tickets.append(
                    {
                        "id": len(tickets) + 1,
                        "customer_id": cid,
                        "ticket_number": f"T{len(tickets) + 1:06d}",
                        "opened_at": opened,
                        "closed_at": closed,
                        "status": "closed" if closed else "open",
                        "priority": rng.choice(["low", "normal", "high"]),
                        "subject": rng.choice(
                            [
                                "Lieferung fehlt",
                                "Factuur klopt niet",
                                "Refund request",
                                "डिलीवरी में देरी",
                            ]
                        ),
                        "updated_at": t,
                    }
                )
            interactions.append(
                {
                    "id": len(interactions) + 1,
                    "customer_id": cid,
                    "channel": rng.choice(["email", "phone", "visit"]),
                    "direction": rng.choice(["inbound", "outbound"]),
                    "occurred_at": t - dt.timedelta(hours=rng.randint(1, 5000)),
                    "subject": "Follow-up",
                    "body": "Kunde fragt nach Lieferstatus; Rückruf vereinbart.",
                    "updated_at": t,
                }
            )
        with engine.begin() as conn:
            for table, rows in [
                ("customers", custs),
                ("addresses", addresses),
                ("contacts", contacts),
                ("orders", orders),
                ("order_lines", lines),
                ("tickets", tickets),
                ("interactions", interactions),
            ]:
                if rows:
                    conn.execute(md.tables[table].insert(), rows)
            conn.exec_driver_sql(OPEN_TICKETS_VIEW)
    finally:
        engine.dispose()
    return ErpCounts(
        len(custs),
        len(addresses),
        len(contacts),
        len(orders),
        len(lines),
        len(tickets),
        len(interactions),
    )
