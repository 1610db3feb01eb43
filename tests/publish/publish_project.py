"""A throw-away crmhub project for publishing tests: a scriptable source tap (customers and
orders), the real `crmhub ingest` and `crmhub match`, and target-crm targets."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from crmhub.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hub"))
import singer_project as sp

CUSTOMER_MAPPING = {
    "key": "id",
    "fields": {
        "given_name": "first",
        "family_name": "last",
        "emails": ["email"],
    },
}
ORDER_MAPPING = {
    "entity": "order",
    "key": "id",
    "fields": {
        "order_number": "number",
        "total_amount": "total",
        "customer_key": "customer",
    },
}

CUSTOMERS = [
    {"id": "1", "first": "Jan", "last": "Berg", "email": "jan.berg@example.nl"},
    {"id": "2", "first": "Anna", "last": "Schmidt", "email": "anna.schmidt@example.de"},
    {"id": "3", "first": "Rahul", "last": "Sharma", "email": "rahul.sharma@example.in"},
]
ORDERS = [
    {"id": "A-1", "number": "A-1", "total": "19.90", "customer": "1"},
    {"id": "A-2", "number": "A-2", "total": "250.00", "customer": "3"},
]


class PublishProject:
    """Project folder with source `shop` and the targets given to :meth:`configure`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tap = root / "tap.py"
        self.tap.write_text(sp.TAP_SOURCE)
        self.tap_log = root / "tap-invocations.jsonl"
        self.customers = [dict(c) for c in CUSTOMERS]
        self.orders = [dict(o) for o in ORDERS]
        self.targets: dict[str, Any] = {}

    def lines(self) -> list[str]:
        """The Singer messages the source replays (everything, every run)."""
        return [
            sp.schema("customers", ("id", "first", "last", "email")),
            *(sp.record("customers", **c) for c in self.customers),
            sp.schema("orders", ("id", "number", "total", "customer")),
            *(sp.record("orders", **o) for o in self.orders),
        ]

    def write(self) -> None:
        """Write crmhub.yml (JSON is YAML) for the current records and targets."""
        doc = {
            "version": 1,
            "master": {"url": "sqlite:///master.db", "batch_size": 100, "busy_timeout_s": 5},
            "sources": {
                "shop": {
                    "tap": [sys.executable, str(self.tap)],
                    "config": {
                        "lines": self.lines(),
                        "log": str(self.tap_log),
                        "streams": ["customers", "orders"],
                    },
                    "streams": {
                        "customers": {"mapping": CUSTOMER_MAPPING},
                        "orders": {"mapping": ORDER_MAPPING},
                    },
                }
            },
            "targets": self.targets,
        }
        (self.root / "crmhub.yml").write_text(json.dumps(doc, indent=2))

    def cli(self, *args: str) -> Result:
        """Run ``crmhub -p ROOT ARGS`` in-process (the tap and target are processes)."""
        return CliRunner().invoke(main, ["-p", str(self.root), *args])

    def ok(self, *args: str) -> Result:
        """Run a command that must succeed."""
        result = self.cli(*args)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    def refresh(self) -> None:
        """Ingest and match the current source records."""
        self.write()
        self.ok("ingest")
        self.ok("match")

    def publish(self, *args: str) -> list[dict[str, Any]]:
        """`crmhub publish --json ARGS`, parsed."""
        result = self.ok("publish", "--json", *args)
        data: list[dict[str, Any]] = json.loads(result.stdout)
        return data

    def ledger(self, target: str) -> list[dict[str, Any]]:
        """The publish_record rows of one target."""
        with sqlite3.connect(self.root / "master.db") as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(
                "SELECT * FROM publish_record WHERE target = ? ORDER BY stream, record_key",
                (target,),
            ).fetchall()
        return [dict(r) for r in rows]

    def masters(self) -> dict[str, str]:
        """Source key of each customer -> its master id."""
        with sqlite3.connect(self.root / "master.db") as conn:
            rows = conn.execute(
                "SELECT s.source_key, x.master_id FROM source_record s "
                "JOIN xref x ON x.source_record_id = s.id WHERE s.entity = 'customer'"
            ).fetchall()
        return {k: m for k, m in rows}
