"""singer-sdk's standard tap tests against a SQLite ERP database."""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

from singer_sdk.testing import get_tap_test_class

from tap_sql.tap import TapSQL

sys.path.insert(0, str(Path(__file__).parent))
from erp_schema import build_erp

# The test class is built at import time, so its database is too (removed at exit).
_DIR = Path(tempfile.mkdtemp(prefix="tap_sql_standard_"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)
_URL = f"sqlite:///{_DIR / 'erp.db'}"
build_erp(_URL, customers=30)

TestTapSQLStandard = get_tap_test_class(
    TapSQL,
    config={
        "sqlalchemy_url": _URL,
        "stream_settings": {"customers": {"replication_key": "updated_at"}},
        "custom_queries": [
            {
                "name": "customer_orders",
                "sql": "SELECT c.id AS customer_id, o.id AS order_id, o.total_amount, "
                "o.updated_at FROM customers c JOIN orders o ON o.customer_id = c.id",
                "key_properties": ["order_id"],
                "replication_key": "updated_at",
            }
        ],
    },
)
