"""Local simulators of CRM APIs (HubSpot, Salesforce, Dynamics 365) for target-crm tests.

These are our own small HTTP servers, written from the vendors' public API documentation,
not the vendors' code: they enforce the documented batch limits and rate limits, return the
documented success and partial-failure shapes, and can be told to fail, throttle, time out
or answer HTML.
"""
