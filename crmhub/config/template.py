"""The commented project file ``crmhub init`` writes (kept valid by a test)."""

from __future__ import annotations

PROJECT_TEMPLATE = """\
# crmhub project file. Every key is documented in docs/configuration.md.
# Secrets come from the environment: write ${VAR} (or ${VAR:-default}), never the value.
version: 1
name: my-customer-master

master:
  # The customer master. SQLite is the embedded default (a file in this folder, WAL mode);
  # for production use PostgreSQL: postgresql+psycopg://crmhub:${CRMHUB_DB_PASSWORD}@db/crmhub
  url: sqlite:///master.db
  busy_timeout_s: 10        # wait this long when another process holds the database
  batch_size: 20000         # records per transaction while ingesting

sources:
  # One entry per source system. `tap` is any Singer tap on PATH (ours or third-party);
  # `config` is handed to it as its --config file; `streams` maps each stream you want
  # to a mapping file (source field -> canonical field, see docs/mappings.md).
  webshop:
    tap: tap-spreadsheet
    config:
      files:
        - path: data/webshop_customers.csv
          stream_name: customers
          primary_keys: [customer_id]
    streams:
      customers:
        mapping: mappings/customers.yml
    priority: 10            # survivorship: the lower number wins a conflict

matching:
  thresholds:
    auto_merge: 0.99        # merge pairs at or above this match probability
    review: 0.80            # between review and auto_merge: a steward decides
  engine: {}                # comparisons and blocking rules; {} = the built-in defaults
  survivorship: {}          # which rule picks each golden field (docs/matching/)

targets:
  # crm_files:
  #   target: target-crm
  #   config: {profile: csv-import, output_dir: out/}
  {}
"""

MAPPING_TEMPLATE = """\
# Source mapping: which field of the stream feeds which canonical field (docs/mappings.md).
entity: customer
key: [customer_id]
fields:
  given_name: first_name
  family_name: last_name
  organization_name: company
  emails: [email]
  phones: [phone, mobile]
  birth_date: {from: birth_date, date: ["%d-%m-%Y", "%Y-%m-%d"]}
addresses:
  - street: street
    house_number: house_number
    postal_code: postal_code
    city: city
    country: {from: country, map: countries}
"""
