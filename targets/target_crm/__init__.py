"""target-crm: a Singer target that publishes crmhub golden records to CRMs.

One profile per CRM (hubspot, salesforce, dynamics365, tryton, csv-import, sql), field and
value mappings in ``mappings/crm/<profile>.yml``. Contracts: docs/targets/target-crm.md.
"""
