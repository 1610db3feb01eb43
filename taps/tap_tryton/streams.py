"""The Tryton models tap-tryton reads: parties, addresses, contact mechanisms, sales, opportunities.

Addresses and contact mechanisms are streams of their own (not nested in parties): editing
an address changes the address's write_date, not the party's.
"""

from __future__ import annotations

from tap_tryton.columns import Column
from tap_tryton.stream import TrytonStream

_ID = Column("id", "integer", description="Tryton record id.", required=True)
_ACTIVE = Column("active", "boolean", description="False when archived in Tryton.")


class PartiesStream(TrytonStream):
    """``party.party``: persons and organizations."""

    name = "parties"
    model = "party.party"
    columns = (
        _ID,
        Column("code", "string", description="Party code (customer number)."),
        Column("name", "string"),
        _ACTIVE,
        Column("lang", "string", path="lang.code", description="Language code, e.g. nl."),
        Column("categories", "strings", path="categories.name", description="Category names."),
        Column(
            "identifiers",
            "objects",
            children=(
                Column("id", "integer", required=True),
                Column("type", "string", description="e.g. eu_vat, in_gst; null if free."),
                Column("code", "string"),
            ),
            description="Tax and other identifiers (VAT, GSTIN ...).",
        ),
        Column("replaced_by", "integer", description="Party id this one was merged into."),
    )


class AddressesStream(TrytonStream):
    """``party.address``: postal addresses, each with its own write_date."""

    name = "addresses"
    model = "party.address"
    columns = (
        _ID,
        Column("party", "integer", description="Party id."),
        Column("party_name", "string", description="Name to print instead of the party's."),
        Column("street", "string", description="Full street lines as Tryton formats them."),
        Column("street_unstructured", "string"),
        Column("street_name", "string"),
        Column("building_number", "string"),
        Column("building_name", "string"),
        Column("unit_number", "string"),
        Column("post_box", "string"),
        Column("postal_code", "string"),
        Column("city", "string"),
        Column("subdivision", "string", path="subdivision.code"),
        Column("subdivision_name", "string", path="subdivision.name"),
        Column("country", "string", path="country.code", description="ISO 3166 alpha-2."),
        Column("country_name", "string", path="country.name"),
        Column("full_address", "string"),
        Column("invoice", "boolean", description="Invoice address."),
        Column("delivery", "boolean", description="Delivery address."),
        Column("sequence", "integer"),
        _ACTIVE,
    )


class ContactMechanismsStream(TrytonStream):
    """``party.contact_mechanism``: emails, phones, mobiles, websites ..."""

    name = "contact_mechanisms"
    model = "party.contact_mechanism"
    columns = (
        _ID,
        Column("party", "integer", description="Party id."),
        Column("address", "integer", description="Address id, if bound to one."),
        Column("type", "string", description="email, phone, mobile, fax, website, ..."),
        Column("value", "string", description="As entered."),
        Column("value_compact", "string", description="Phone numbers without spaces."),
        Column("name", "string"),
        Column("comment", "string"),
        Column("language", "string", path="language.code"),
        Column("invoice", "boolean"),
        Column("delivery", "boolean"),
        Column("sequence", "integer"),
        _ACTIVE,
    )


class SaleOrdersStream(TrytonStream):
    """``sale.sale``: quotations and sale orders with their lines."""

    name = "sale_orders"
    model = "sale.sale"
    columns = (
        _ID,
        Column("number", "string"),
        Column("reference", "string", description="The customer's reference."),
        Column("description", "string"),
        Column("state", "string", description="draft, quotation, confirmed, processing, ..."),
        Column("party", "integer", description="Customer party id."),
        Column("invoice_party", "integer"),
        Column("invoice_address", "integer"),
        Column("shipment_party", "integer"),
        Column("shipment_address", "integer"),
        Column("contact", "integer", description="Contact mechanism id."),
        Column("sale_date", "date"),
        Column("quotation_date", "date"),
        Column("company", "integer"),
        Column("currency", "string", path="currency.code", description="ISO 4217 code."),
        Column("untaxed_amount", "number"),
        Column("tax_amount", "number"),
        Column("total_amount", "number"),
        Column("comment", "string"),
        Column(
            "lines",
            "objects",
            children=(
                Column("id", "integer", required=True),
                Column("sequence", "integer"),
                Column("type", "string", description="line, subtotal, title, comment"),
                Column("product", "integer"),
                Column("product_code", "string", path="product.code"),
                Column("description", "string"),
                Column("quantity", "number"),
                Column("unit", "string", path="unit.symbol"),
                Column("unit_price", "number"),
                Column("amount", "number"),
            ),
            description="Order lines (a change of lines alone does not touch write_date).",
        ),
    )


class OpportunitiesStream(TrytonStream):
    """``sale.opportunity``: leads and opportunities."""

    name = "opportunities"
    model = "sale.opportunity"
    columns = (
        _ID,
        Column("number", "string"),
        Column("reference", "string"),
        Column("description", "string"),
        Column("state", "string", description="lead, opportunity, converted, won, lost, ..."),
        Column("party", "integer", description="Party id."),
        Column("contact", "integer", description="Contact mechanism id."),
        Column("address", "integer", description="Address id."),
        Column("start_date", "date"),
        Column("end_date", "date"),
        Column("amount", "number"),
        Column("currency", "string", path="currency.code"),
        Column("conversion_probability", "number"),
        Column("company", "integer"),
        Column("employee", "integer"),
        Column("lost_reason", "string"),
        Column("comment", "string"),
        Column("sales", "ids", description="Sale ids converted from this opportunity."),
    )


STREAM_CLASSES: tuple[type[TrytonStream], ...] = (
    PartiesStream,
    AddressesStream,
    ContactMechanismsStream,
    SaleOrdersStream,
    OpportunitiesStream,
)
