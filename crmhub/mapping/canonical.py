"""Canonical field names per entity (docs/canonical-model.md); mappings may target only these."""

from __future__ import annotations

ENTITIES = ("customer", "order", "interaction", "ticket")

ADDRESS_FIELDS = frozenset(
    {"street", "house_number", "postal_code", "city", "region", "country", "type"}
)

LIST_FIELDS = frozenset({"emails", "phones", "tax_ids", "tags", "lines"})

FIELDS: dict[str, frozenset[str]] = {
    "customer": frozenset(
        {
            "kind",
            "given_name",
            "family_name",
            "name_particle",
            "name_prefix",
            "name_suffix",
            "full_name",
            "organization_name",
            "legal_form",
            "emails",
            "phones",
            "addresses",
            "birth_date",
            "tax_ids",
            "website",
            "language",
            "consent_email",
            "consent_phone",
            "segment",
            "tags",
            "created_at",
            "updated_at",
        }
    ),
    "order": frozenset(
        {
            "order_number",
            "order_date",
            "status",
            "currency",
            "total_amount",
            "lines",
            "customer_key",
        }
    ),
    "interaction": frozenset(
        {"channel", "occurred_at", "subject", "body", "direction", "customer_key"}
    ),
    "ticket": frozenset(
        {
            "ticket_number",
            "opened_at",
            "closed_at",
            "status",
            "priority",
            "subject",
            "customer_key",
        }
    ),
}

# Properties taps add to say a row could not be read whole; such a record goes to quarantine.
TAP_ERROR_PROPERTIES = ("_row_error", "_record_error")
