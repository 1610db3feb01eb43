"""CRM profiles: one module per CRM, chosen by the ``profile`` setting."""

from __future__ import annotations

import logging

from target_crm.mapping import CRMMapping
from target_crm.profiles.base import Profile
from target_crm.settings import Settings


def make_profile(settings: Settings, mapping: CRMMapping, logger: logging.Logger) -> Profile:
    """Instantiate the profile the settings name (imports only that profile's module)."""
    name = settings.profile
    cls: type[Profile]
    if name == "hubspot":
        from target_crm.profiles.hubspot import HubSpotProfile

        cls = HubSpotProfile
    elif name == "salesforce":
        from target_crm.profiles.salesforce import SalesforceProfile

        cls = SalesforceProfile
    elif name == "dynamics365":
        from target_crm.profiles.dynamics365 import Dynamics365Profile

        cls = Dynamics365Profile
    elif name == "tryton":
        from target_crm.profiles.tryton import TrytonProfile

        cls = TrytonProfile
    elif name == "csv-import":
        from target_crm.profiles.csv_import import CsvImportProfile

        cls = CsvImportProfile
    else:
        from target_crm.profiles.sql import SqlProfile

        cls = SqlProfile
    return cls(settings, mapping, logger)


__all__ = ["Profile", "make_profile"]
