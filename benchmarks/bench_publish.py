"""Benchmark of publishing: N golden records through `tap-crmhub | target-crm` end to end.

    .venv/bin/python benchmarks/bench_publish.py [--records 100000] [--profiles sql,csv-import]

Builds a SQLite master with N golden records (written through the models' tables in bulk),
then runs `crmhub publish` for each profile (both plugins as real processes joined by a
pipe, the results read back into the publish ledger) and prints wall time, records/s (goal:
20,000/s end to end), and the CPU seconds the two child processes used (what free cores
would need: the machine is shared, so the 1-minute load is printed with every figure).
A second publish of the unchanged master must send zero records.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import insert

from crmhub.cli import main
from crmhub.store import open_master
from crmhub.store.models import GoldenRecord

CITIES = ["Amsterdam", "Utrecht", "Köln", "München", "Pune", "Bengaluru", "London", "Leeds"]


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def build_master(path: Path, n: int) -> str:
    url = f"sqlite:///{path}"
    master = open_master(url)
    rows = []
    for i in range(n):
        city = CITIES[i % len(CITIES)]
        organization = i % 10 == 0
        data = (
            {
                "kind": "organization",
                "organization_name": f"Firma {i} GmbH",
                "website": f"https://f{i}.example",
            }
            if organization
            else {
                "kind": "person",
                "given_name": f"Given{i}",
                "family_name": f"Family{i}",
                "emails": [f"person{i}@example.com"],
                "phones": [f"+3120{i:07d}"],
                "addresses": [
                    {"street": "Main", "house_number": str(i % 200), "city": city, "country": "NL"}
                ],
            }
        )
        rows.append(
            {
                "master_id": f"M{i:09d}",
                "kind": data["kind"],
                "data": data,
                "content_hash": f"{i:032x}",
                "version": 1,
                "status": "active",
            }
        )
    with master.session() as s:
        for start in range(0, n, 10000):
            s.execute(insert(GoldenRecord), rows[start : start + 10000])
    master.dispose()
    return url


def publish(root: Path, target: str) -> tuple[dict[str, object], float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["-p", str(root), "publish", "--json", target])
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.exit_code != 0:
        sys.exit(f"publish {target} failed: {result.output}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    (outcome,) = json.loads(result.stdout)
    return outcome, wall, cpu


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--profiles", default="sql,csv-import")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as folder:
        root = Path(folder)
        t0 = time.perf_counter()
        url = build_master(root / "master.db", args.records)
        print(
            f"master with {args.records:,} golden records built in {time.perf_counter() - t0:.1f} s"
        )
        targets = {
            "sql": {
                "target": "target-crm",
                "config": {
                    "profile": "sql",
                    "sqlalchemy_url": "sqlite:///crm.db",
                    "validate_records": False,
                },
            },
            "csv-import": {
                "target": "target-crm",
                "config": {
                    "profile": "csv-import",
                    "output_dir": "import-files",
                    "validate_records": False,
                },
            },
        }
        doc = {"version": 1, "master": {"url": url}, "targets": targets}
        (root / "crmhub.yml").write_text(json.dumps(doc))
        for profile in args.profiles.split(","):
            outcome, wall, cpu = publish(root, profile)
            sent = int(outcome["sent"])  # type: ignore[call-overload]
            print(
                f"{profile}: {sent:,} records in {wall:.1f} s = {sent / wall:,.0f} records/s end to end "
                f"(pipe {outcome['seconds']} s; tap+target CPU {cpu:.1f} s = {sent / max(cpu, 1e-9):,.0f} "
                f"records per CPU-second; load {load()}); counts {outcome['counts']}"
            )
            again, wall, _ = publish(root, profile)
            print(
                f"{profile}: second publish sent {again['sent']} records in {wall:.1f} s (must be 0)"
            )
            if again["sent"] != 0:
                sys.exit(f"{profile}: the second publish sent {again['sent']} records")


if __name__ == "__main__":
    main_()
