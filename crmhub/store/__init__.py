"""The master store: tables, engine, migrations and bulk writers."""

from __future__ import annotations

from crmhub.store import match_index as _match_index  # noqa: F401  (its tables join the metadata)
from crmhub.store import queue_index as _queue_index  # noqa: F401  (indexes, insert hook)
from crmhub.store import search_keys as _search_keys  # noqa: F401  (its tables join the metadata)
from crmhub.store.engine import Master, display_url, open_master

__all__ = ["Master", "display_url", "open_master"]
