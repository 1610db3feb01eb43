"""singer-sdk's standard tap tests, against a real trytond with the seeded data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from singer_sdk.testing import get_tap_test_class
from tryton_server import TrytonServer
from tryton_tap_helpers import tap_config

from tap_tryton.tap import TapTryton

# The SDK builds its test class (and a first tap, to list the streams) at import time, before
# any fixture runs; discovery needs no server, so placeholders are enough until the
# module's autouse fixture below points the same dict at the live server.
LIVE_CONFIG: dict[str, Any] = {
    "url": "http://127.0.0.1:9/",
    "database": "placeholder",
    "username": "placeholder",
    "password": "placeholder",
}


@pytest.fixture(scope="module", autouse=True)
def _point_config_at_live_server(tryton: TrytonServer) -> Iterator[None]:
    LIVE_CONFIG.update(tap_config(tryton, page_size=7))
    yield


TestTapTryton = get_tap_test_class(tap_class=TapTryton, config=LIVE_CONFIG)
