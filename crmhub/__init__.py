"""crmhub: CRM data integration and migration hub."""

from __future__ import annotations

__version__ = "0.1.0"
