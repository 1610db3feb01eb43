"""The steward web app (``crmhub serve``): server-rendered pages, each with a JSON twin."""
