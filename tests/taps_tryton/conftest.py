"""Fixtures for tap-tryton: one template database, one seeded trytond shared by the tests.

The bare template (modules, company, currencies) comes from ``tests/tryton_server.py`` and is
cached across runs (keyed by the trytond and module versions) in pytest's cache directory,
or in ``$CRMHUB_TRYTON_TEMPLATE_CACHE`` (a directory CI may keep between runs);
``CRMHUB_TRYTON_REBUILD=1`` or ``pytest --cache-clear`` forces a rebuild. The seed data
(international parties, addresses, emails, phones, sales, opportunities) goes in once per
session, through Tryton's JSON-RPC API, into the one trytond the tests share.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent))

from tryton_server import (
    TrytonServer,
    TrytonTemplate,
    cached_template,
    running_trytond,
)

# name, kind hint, country, street, postal code, city, email, phone
PEOPLE = [
    (
        "Jan van der Berg",
        "NL",
        "Keizersgracht 12",
        "1015 CJ",
        "Amsterdam",
        "jan.vdberg@example.nl",
        "+31 20 123 4567",
    ),
    (
        "Anna de Vries",
        "NL",
        "Oudegracht 200",
        "3511 NR",
        "Utrecht",
        "anna.devries@example.nl",
        "+31 30 234 5678",
    ),
    (
        "Bakkerij Jansen B.V.",
        "NL",
        "Markt 5",
        "5211 JV",
        "'s-Hertogenbosch",
        "info@bakkerij-jansen.nl",
        "+31 73 612 3456",
    ),
    (
        "Pieter Bakker",
        "NL",
        "Coolsingel 40",
        "3011 AD",
        "Rotterdam",
        "p.bakker@example.nl",
        "+31 10 414 1234",
    ),
    (
        "Müller & Söhne GmbH",
        "DE",
        "Friedrichstraße 43",
        "10117",
        "Berlin",
        "kontakt@mueller-soehne.de",
        "+49 30 12345678",
    ),
    (
        "Jürgen Schäfer",
        "DE",
        "Königsallee 1",
        "40212",
        "Düsseldorf",
        "j.schaefer@example.de",
        "+49 211 1234567",
    ),
    (
        "Karin Weiß",
        "DE",
        "Marienplatz 8",
        "80331",
        "München",
        "karin.weiss@example.de",
        "+49 89 2345678",
    ),
    (
        "Stefan Groß AG",
        "DE",
        "Zeil 106",
        "60313",
        "Frankfurt am Main",
        "info@gross-ag.de",
        "+49 69 1234567",
    ),
    (
        "राहुल शर्मा",
        "IN",
        "12 MG Road",
        "560001",
        "Bengaluru",
        "rahul.sharma@example.in",
        "+91 80 2345 6789",
    ),
    (
        "Priya Patel",
        "IN",
        "45 Marine Drive",
        "400020",
        "Mumbai",
        "priya.patel@example.in",
        "+91 22 2345 6789",
    ),
    (
        "Tata Widgets Pvt. Ltd.",
        "IN",
        "7 Park Street",
        "700016",
        "Kolkata",
        "sales@tatawidgets.in",
        "+91 33 2345 6789",
    ),
    (
        "अनीता देसाई",
        "IN",
        "3 Connaught Place",
        "110001",
        "New Delhi",
        "anita.desai@example.in",
        "+91 11 2345 6789",
    ),
    (
        "Oliver Smith",
        "GB",
        "221B Baker Street",
        "NW1 6XE",
        "London",
        "oliver.smith@example.co.uk",
        "+44 20 7946 0018",
    ),
    (
        "Emma Jones Ltd",
        "GB",
        "1 Deansgate",
        "M3 1AZ",
        "Manchester",
        "emma@jonesltd.co.uk",
        "+44 161 496 0000",
    ),
    (
        "George Brown",
        "GB",
        "10 Princes Street",
        "EH2 2AN",
        "Edinburgh",
        "g.brown@example.co.uk",
        "+44 131 496 0000",
    ),
]
PARTY_COUNT = 30  # PEOPLE twice, numbered, all created in one call (one shared timestamp)


def _party_values(country_ids: dict[str, int]) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = []
    for index in range(PARTY_COUNT):
        name, country, street, postal, city, email, phone = PEOPLE[index % len(PEOPLE)]
        round_ = index // len(PEOPLE)
        local, _, domain = email.partition("@")
        addresses: list[dict[str, Any]] = [
            {"street": street, "postal_code": postal, "city": city, "country": country_ids[country]}
        ]
        if index % 5 == 0:  # some have a second (delivery) address
            addresses.append(
                {
                    "street": f"Depot {index}",
                    "postal_code": postal,
                    "city": city,
                    "country": country_ids[country],
                }
            )
        values.append(
            {
                "name": name if round_ == 0 else f"{name} ({round_ + 1})",
                "addresses": [("create", addresses)],
                "contact_mechanisms": [
                    (
                        "create",
                        [
                            {"type": "email", "value": f"{local}{round_ or ''}@{domain}"},
                            {"type": "phone", "value": phone},
                        ],
                    )
                ],
            }
        )
    return values


def seed(server: TrytonServer) -> dict[str, Any]:
    """Seed parties, addresses, contact mechanisms, sales and opportunities; return ids."""
    rpc = server.client()
    ctx = server.context
    countries = rpc.call("model.country.country.search_read", [], 0, None, None, ["code"], ctx)
    country_ids = {row["code"]: row["id"] for row in countries}
    party_ids = rpc.call("model.party.party.create", _party_values(country_ids), ctx)
    # One archived party: the tap must still read it (inactive records are read-only, so
    # archive after creating).
    rpc.call("model.party.party.write", [party_ids[7]], {"active": False}, ctx)
    eur = rpc.call("model.currency.currency.search", [("code", "=", "EUR")], 0, 1, None, ctx)
    sale_ids = rpc.call(
        "model.sale.sale.create",
        [
            {
                "party": party_ids[i],
                "company": ctx["company"],
                "currency": eur[0],
                "reference": f"PO-{1000 + i}",
                "description": f"Order {i}",
                "lines": [
                    (
                        "create",
                        [
                            {
                                "type": "line",
                                "description": "Consulting day",
                                "quantity": 2.0,
                                "unit_price": Decimal("850.00"),
                            },
                            {
                                "type": "line",
                                "description": "Travel",
                                "quantity": 1.0,
                                "unit_price": Decimal("120.50"),
                            },
                        ],
                    )
                ],
            }
            for i in (0, 4, 8)
        ],
        ctx,
    )
    opportunity_ids = rpc.call(
        "model.sale.opportunity.create",
        [
            {
                "party": party_ids[i],
                "company": ctx["company"],
                "currency": eur[0],
                "description": f"Opportunity {i}",
                "amount": Decimal("12500.00"),
            }
            for i in (1, 9)
        ],
        ctx,
    )
    return {"parties": party_ids, "sale_orders": sale_ids, "opportunities": opportunity_ids}


@pytest.fixture(scope="session")
def tryton_template(request: pytest.FixtureRequest) -> TrytonTemplate:
    """The bare template: built once, reused across runs while the versions match."""
    configured = os.environ.get("CRMHUB_TRYTON_TEMPLATE_CACHE")
    cache_dir = (
        Path(configured) if configured else Path(str(request.config.cache.mkdir("tryton-template")))
    )
    if os.environ.get("CRMHUB_TRYTON_REBUILD"):
        shutil.rmtree(cache_dir, ignore_errors=True)
    return cached_template(cache_dir)


@pytest.fixture(scope="session")
def tryton(
    tryton_template: TrytonTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrytonServer]:
    """One trytond on a copy of the template, seeded, shared by every test of the area.

    Starting trytond costs 3-5 s of CPU (15 s on a busy machine), so tests share it: they
    compare against what Tryton holds at the time (``all_ids``), not against fixed counts,
    and a test that stops the server starts it again.
    """
    with running_trytond(tmp_path_factory.mktemp("tryton"), tryton_template) as server:
        seed(server)
        yield server
