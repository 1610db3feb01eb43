"""A small master written through the models: golden records in every state and their
related records, for tests that read it with tap-crmhub."""

from __future__ import annotations

from pathlib import Path

from crmhub.store import open_master
from crmhub.store.models import GoldenRecord, PublishRecord, SourceRecord, Xref

PERSON = {
    "kind": "person",
    "given_name": "Priya",
    "family_name": "Nair",
    "emails": ["priya.nair@example.in"],
    "phones": ["+919812345678"],
    "addresses": [
        {"street": "MG Road", "house_number": "12", "city": "Bengaluru", "country": "IN"}
    ],
    "consent_email": True,
    "organization_master_id": "M-ORG",
}
ORGANIZATION = {"kind": "organization", "organization_name": "Nair Traders Pvt. Ltd."}
RELATED = {
    "order": ("orders", {"order_number": "O-1", "total_amount": "10.00", "lines": [{"sku": "X"}]}),
    "interaction": (
        "calls",
        {"channel": "phone", "subject": "Welcome call", "occurred_at": "2026-11-20T09:30:00Z"},
    ),
    "ticket": ("cases", {"ticket_number": "T-1", "status": "open", "subject": "Refund"}),
}


def build_master(path: Path) -> str:
    """Write the master at ``path``; return its URL."""
    url = f"sqlite:///{path}"
    master = open_master(url)
    with master.session() as s:
        s.add_all(
            [
                GoldenRecord(master_id="M-PERSON", kind="person", data=PERSON, version=2),
                GoldenRecord(master_id="M-ORG", kind="organization", data=ORGANIZATION),
                GoldenRecord(
                    master_id="M-LOSER",
                    kind="person",
                    data={**PERSON, "given_name": "P."},
                    status="merged",
                    merged_into="M-PERSON",
                    version=3,
                ),
                GoldenRecord(master_id="M-GONE", kind="person", data=PERSON, status="retired"),
            ]
        )
        customer = SourceRecord(
            source="erp",
            stream="clients",
            source_key="c1",
            entity="customer",
            payload={},
            canonical={"given_name": "Priya"},
            content_hash="h",
        )
        s.add(customer)
        s.flush()
        s.add(Xref(source_record_id=customer.id, master_id="M-PERSON", method="auto"))
        for entity, (stream, canonical) in RELATED.items():
            record = SourceRecord(
                source="erp",
                stream=stream,
                source_key="r1",
                entity=entity,
                payload={},
                canonical={**canonical, "customer_key": "c1"},
                content_hash="h",
            )
            s.add(record)
            s.flush()
            # Linked to the merged-away master on purpose: the tap must follow the redirect.
            s.add(Xref(source_record_id=record.id, master_id="M-LOSER", method="rule"))
    master.dispose()
    return url


def accept(url: str, target: str, stream: str, key: str, content_hash: str, status: str) -> None:
    """Put one ledger row, as if ``target`` had reported it."""
    master = open_master(url, upgrade=False)
    with master.session() as s:
        s.add(
            PublishRecord(
                target=target,
                stream=stream,
                record_key=key,
                remote_id=f"remote-{key}",
                content_hash=content_hash,
                status=status,
                attempts=1,
            )
        )
    master.dispose()
