"""Throw-away projects for sync tests: scriptable Singer sources (real tap processes), the
real hub, and real target-crm processes writing into a SQLite "CRM"."""

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

# The scriptable tap of tests/hub, plus "delay" (seconds after each line) and "progress"
# (a file that counts the lines written), so a test can kill a sync while the tap talks.
SLOW_TAP_SOURCE = (
    sp.TAP_SOURCE
    if "import json, os, signal, sys, time" in sp.TAP_SOURCE
    else sp.TAP_SOURCE.replace("import json, os, signal, sys", "import json, os, signal, sys, time")
).replace(
    "    out.write(line if",
    '    if config.get("progress"):\n'
    '        open(config["progress"], "a").write("x")\n'
    '    if config.get("delay"):\n'
    "        out.flush()\n"
    '        time.sleep(config["delay"])\n'
    "    out.write(line if",
)
assert SLOW_TAP_SOURCE.count('time.sleep(config["delay"])') == 1, (
    "tests/hub/singer_project.py changed"
)

MAPPING = {
    "key": "id",
    "fields": {"given_name": "first", "family_name": "last", "emails": ["email"]},
}
FIRST = ["Jan", "Anna", "Rahul", "Priya", "Henk", "Sabine", "Arjun", "Maria", "Pieter", "Uwe"]
LAST = ["Berg", "Schmidt", "Sharma", "Patel", "de Vries", "Müller", "Iyer", "Jansen", "Bakker"]


def people(count: int, *, start: int = 0, prefix: str = "c") -> list[dict[str, str]]:
    """Distinct customers (no two match), deterministic."""
    out = []
    for n in range(start, start + count):
        first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
        out.append(
            {
                "id": f"{prefix}{n}",
                "first": f"{first}{n}",
                "last": last,
                "email": f"{first.lower()}.{n}@example{n % 7}.nl",
            }
        )
    return out


class SyncProject:
    """Project folder: sources name -> customer rows, one sql target `crm` by default."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tap = root / "tap.py"
        self.tap.write_text(SLOW_TAP_SOURCE)
        self.tap_log = root / "tap-invocations.jsonl"
        self.sources: dict[str, list[dict[str, Any]]] = {"shop": people(6)}
        self.tap_options: dict[str, dict[str, Any]] = {}
        self.state_every = 2
        self.targets: dict[str, Any] = {
            "crm": {
                "target": "target-crm",
                "config": {"profile": "sql", "sqlalchemy_url": f"sqlite:///{root / 'crm.db'}"},
            }
        }
        self.extra: dict[str, Any] = {}

    def lines(self, rows: list[dict[str, Any]]) -> list[str]:
        """SCHEMA, the records, and a STATE ({"skip": n}) every ``state_every`` records."""
        out = [sp.schema("customers", ("id", "first", "last", "email", "_sdc_deleted_at"))]
        for number, row in enumerate(rows, start=1):
            out.append(sp.record("customers", **row))
            if number % self.state_every == 0:
                out.append(sp.state({"skip": len(out)}))
        out.append(sp.state({}))  # a full-table tap forgets its progress once the pass is done
        return out

    def write(self) -> None:
        """Write crmhub.yml (JSON is YAML)."""
        doc: dict[str, Any] = {
            "version": 1,
            "name": "synctest",
            "master": {"url": "sqlite:///master.db", "batch_size": 100, "busy_timeout_s": 5},
            "sources": {
                name: {
                    "tap": [sys.executable, str(self.tap)],
                    "config": {
                        "lines": self.lines(rows),
                        "log": str(self.tap_log),
                        **self.tap_options.get(name, {}),
                    },
                    "streams": {"customers": {"mapping": MAPPING}},
                }
                for name, rows in self.sources.items()
            },
            "targets": self.targets,
            **self.extra,
        }
        (self.root / "crmhub.yml").write_text(json.dumps(doc, indent=2))

    def cli(self, *args: str) -> Result:
        """``crmhub -p ROOT ARGS`` in-process (taps and targets are real processes)."""
        return CliRunner().invoke(main, ["-p", str(self.root), *args])

    def sync(self, *args: str, code: int = 0) -> dict[str, Any]:
        """``crmhub sync --json ARGS``; check the exit code; the parsed summary."""
        result = self.cli("sync", "--json", *args)
        assert result.exit_code == code, (result.output, result.exception)
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def query(self, sql: str, db: str = "master.db") -> list[tuple[Any, ...]]:
        """Rows of a query on the master (or another SQLite file in the project)."""
        with sqlite3.connect(self.root / db) as conn:
            return list(conn.execute(sql).fetchall())

    def crm_customers(self) -> list[tuple[Any, ...]]:
        """What the CRM holds: every customer row, sorted."""
        with sqlite3.connect(self.root / "crm.db") as conn:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            table = next(t for t in tables if "customer" in t or "contact" in t)
            return sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)

    def master_snapshot(self) -> dict[str, Any]:
        """The master's content without ids and timestamps: records, golden data, xref."""
        return {
            "records": sorted(
                self.query(
                    "SELECT source, source_key, content_hash, deleted, status FROM source_record"
                )
            ),
            "golden": sorted(
                self.query("SELECT status, content_hash, data FROM golden_record"), key=repr
            ),
            "clusters": sorted(
                self.query(
                    "SELECT s.source || '/' || s.source_key, count(*) OVER (PARTITION BY "
                    "x.master_id) FROM xref x JOIN source_record s ON s.id = x.source_record_id"
                )
            ),
        }

    def pushes(self, target: str = "crm") -> list[tuple[str, str, str]]:
        """Every (stream, key, action) line the target reported, across all runs."""
        path = self.root / ".crmhub" / "publish" / target / "results.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                data = json.loads(line)
            except ValueError:
                continue
            out.append((data["stream"], data["key"], data["action"]))
        return out
