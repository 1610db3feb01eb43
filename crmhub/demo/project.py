"""The demo's ``crmhub.yml`` and mappings: a real project a user can read and re-run."""

from __future__ import annotations

from pathlib import Path

PROJECT = """\
# crmhub demo project, written by `crmhub demo`. Re-run any step by hand:
#   crmhub -p {root} ingest      crmhub -p {root} match      crmhub -p {root} status
version: 1
name: crmhub-demo
master:
  url: sqlite:///master.db
sources:
  webshop:
    tap: tap-spreadsheet
    config:
      files:
        - path: data/webshop_klanten.csv
          stream_name: klanten
          primary_keys: [klantnummer]
    streams:
      klanten: {{mapping: mappings/webshop.yml}}
    priority: 20
  erp:
    tap: tap-sql
    config:
      sqlalchemy_url: sqlite:///{root}/data/erp.db
      stream_settings:
        customers: {{replication_key: updated_at}}
        orders: {{replication_key: updated_at}}
    streams:
      customers: {{mapping: mappings/erp_customers.yml}}
      orders: {{mapping: mappings/erp_orders.yml}}
    priority: 10
  legacy:
    tap: tap-legacy
    config:
      streams:
        - name: custmast
          format: copybook
          path: {root}/data/legacy/CUSTMAST.DAT
          copybook: {root}/data/legacy/CUSTMAST.cpy
          codepage: cp037
          key_properties: [cust_id]
    streams:
      custmast: {{mapping: mappings/legacy.yml}}
    priority: 30
matching:
  thresholds: {{auto_merge: 0.99, review: 0.80}}
targets:
  crm-import:                   # CRM import files, the layout HubSpot's import expects
    target: target-crm
    config: {{profile: csv-import, output_dir: crm-import, layout: hubspot-import}}
"""

MAPPINGS = {
    "webshop.yml": """\
# Dutch webshop export (tap-spreadsheet turns headers into snake_case property names).
entity: customer
key: [klantnummer]
fields:
  given_name: voornaam
  name_particle: tussenvoegsel
  family_name: achternaam
  organization_name: bedrijf
  emails: [e_mail]
  phones: [telefoon, mobiel]
  birth_date: {from: geboortedatum, date: ["%d-%m-%Y"]}
  consent_email: {from: nieuwsbrief, type: boolean}
  updated_at: laatst_gewijzigd
addresses:
  - street: straat
    house_number: huisnummer
    postal_code: postcode
    city: plaats
    country: {from: land, map: countries, strict: true}
""",
    "erp_customers.yml": """\
entity: customer
key: [customer_id]
fields:
  given_name: first_name
  family_name: last_name
  organization_name: company_name
  legal_form: legal_form
  emails: [email, email_2]
  phones: [phone]
  tax_ids: [vat_id]
  birth_date: birth_date
  created_at: created_at
  updated_at: updated_at
addresses:
  - {street: street, house_number: house_number, postal_code: postal_code, city: city,
     country: country_code}
""",
    "erp_orders.yml": """\
entity: order
key: [order_id]
fields:
  customer_key: customer_id
  order_number: order_number
  order_date: order_date
  status: status
  currency: currency
  total_amount: {from: total, type: decimal}
""",
    "legacy.yml": """\
# Mainframe customer master (EBCDIC, COMP-3): one upper-case name field, YYYYMMDD dates.
entity: customer
key: [cust_id]
fields:
  full_name: full_name
  emails: [email]
  phones: [phone]
  birth_date: {from: birth_date, map: {"0": null}, date: ["%Y%m%d"]}   # 0 = unknown
addresses:
  - {street: street, house_number: house_no, postal_code: postcode, city: city, country: country}
extras: [balance, credit_limit]
""",
}


def write_project(root: Path) -> Path:
    """Write crmhub.yml and the mappings into ``root``; return the project file."""
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    for name, text in MAPPINGS.items():
        (root / "mappings" / name).write_text(text, encoding="utf-8")
    path = root / "crmhub.yml"
    path.write_text(PROJECT.format(root=root.resolve()), encoding="utf-8")
    return path
