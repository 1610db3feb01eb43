"""Benchmark tap-sql on PostgreSQL: 1,000,000 customer rows, full and incremental.

Prints rows/s (wall and per CPU-second) and peak RSS of the tap process (stdout to
/dev/null), the same full read through `crmhub ingest` into a fresh SQLite master (end to
end), then the count of rows an incremental run reads after 1% of the rows changed. Needs
the PostgreSQL server of the test fixtures (127.0.0.1:5432, user postgres); creates and
drops its own database (--keep keeps it, --database NAME reuses a kept one).

    .venv/bin/python benchmarks/bench_tap_sql.py [--rows 1000000] [--keep] [--database NAME]
        [--no-ingest]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "taps_sql"))
from erp_schema import PEOPLE, erp_metadata

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tap_spreadsheet import print_ingest, run_ingest

ROOT = Path(__file__).resolve().parents[1]
TAP = str(ROOT / ".venv" / "bin" / "tap-sql")
ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
BASE = dt.datetime(2024, 3, 1, 8, 0, 0)
INGEST_MAPPING = """
entity: customer
key: [id]
fields:
  given_name: given_name
  family_name: family_name
  birth_date: birth_date
  updated_at: updated_at
"""


def load(dsn: str, rows: int) -> None:
    """Create the ERP customers table and COPY ``rows`` rows into it."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{dsn}"
    engine = sa.create_engine(url)
    md = erp_metadata()
    md.tables["customers"].create(engine)
    engine.dispose()
    columns = (
        "id, customer_number, kind, salutation, given_name, name_particle, family_name, "
        "company_name, legal_form, vat_id, birth_date, language, credit_limit, balance, "
        "consent_email, logo, created_at, updated_at"
    )
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={dsn}") as conn:
        with conn.cursor() as cur, cur.copy(f"COPY customers ({columns}) FROM STDIN") as copy:
            for i in range(1, rows + 1):
                given, family, particle, lang, *_ = PEOPLE[i % len(PEOPLE)]
                copy.write_row(
                    (
                        i,
                        f"C{i:08d}",
                        "person",
                        "Mr",
                        given,
                        particle,
                        family,
                        None,
                        None,
                        None,
                        dt.date(1950, 1, 1) + dt.timedelta(days=i % 18000),
                        lang,
                        f"{i % 50000}.{i % 100:02d}",
                        f"{(i * 7) % 100000}.{i % 10000:04d}",
                        i % 3 == 0,
                        i.to_bytes(4, "big") if i % 10 == 0 else None,
                        BASE - dt.timedelta(days=i % 3000),
                        BASE + dt.timedelta(seconds=i // 50),  # 50 rows share each value
                    )
                )
        conn.execute("CREATE INDEX customers_updated ON customers (updated_at, id)")
        conn.execute("ANALYZE customers")


def reset(dsn: str) -> None:
    """Undo the 1% change of an earlier run, so a kept database can be measured again."""
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={dsn}") as conn:
        conn.execute(
            "UPDATE customers SET updated_at = %s + (id / 50) * interval '1 second', "
            "family_name = left(family_name, -6) WHERE id %% 100 = 7 AND updated_at > %s",
            (BASE, BASE + dt.timedelta(days=29)),
        )


def run_tap(
    config: dict[str, object], state: dict[str, object] | None, *, mode: str
) -> dict[str, Any]:
    """Run tap-sql as a process; return wall and CPU time, records, peak RSS, last STATE.

    mode "null": stdout to /dev/null; "state": stdout through grep (C) keeping only STATE
    lines; "records": every line parsed here (small runs only).
    """
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config.json"
        cfg.write_text(json.dumps(config))
        args = [TAP, "--config", str(cfg)]
        if state is not None:
            st = Path(tmp) / "state.json"
            st.write_text(json.dumps(state))
            args += ["--state", str(st)]
        start = time.perf_counter()
        records = -1
        last_state = None
        err_path = Path(tmp) / "stderr.log"
        with open(err_path, "wb") as err:
            if mode == "null":
                with open(os.devnull, "wb") as null:
                    tap = subprocess.Popen(args, stdout=null, stderr=err)
                    returncode, usage = _wait(tap)
            else:
                tap = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err)
                if mode == "state":
                    grep = subprocess.run(
                        ["grep", "-F", '{"type":"STATE"'],
                        stdin=tap.stdout,
                        capture_output=True,
                        check=False,
                    )
                    lines = grep.stdout.splitlines()
                else:
                    lines = (tap.stdout.read() if tap.stdout else b"").splitlines()
                    records = sum(1 for line in lines if line.startswith(b'{"type":"RECORD"'))
                returncode, usage = _wait(tap)
                states = [
                    json.loads(line)["value"]
                    for line in lines
                    if line.startswith(b'{"type":"STATE"')
                ]
                last_state = states[-1] if states else None
        elapsed = time.perf_counter() - start
        # The tap's own resource usage (wait4), not that of earlier children such as a
        # crmhub ingest run: peak RSS and CPU of this process alone.
        peak = usage.ru_maxrss
        cpu = usage.ru_utime + usage.ru_stime
        stderr = err_path.read_bytes()
        if returncode != 0:
            raise SystemExit(f"tap-sql failed ({returncode}):\n{stderr.decode()[-2000:]}")
        if records < 0:
            # The SDK logs the counter periodically, each time with the count since the last.
            counted = re.findall(rb'"metric":"record_count","value":(\d+)', stderr)
            records = sum(int(m) for m in counted)
        return {
            "seconds": elapsed,
            "cpu_seconds": cpu,
            "records": records,
            "peak_rss_mib": peak / 1024,
            "state": last_state,
        }


def _wait(process: subprocess.Popen[bytes]) -> tuple[int, resource.struct_rusage]:
    """Wait for ``process``; its exit code and its own resource usage."""
    if process.stdout is not None:
        process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage


def _rates(label: str, run: dict[str, Any]) -> None:
    print(
        f"{label}: {run['records']:,} rows in {run['seconds']:.1f}s wall = "
        f"{run['records'] / run['seconds']:,.0f} rows/s; tap CPU {run['cpu_seconds']:.1f}s = "
        f"{run['records'] / run['cpu_seconds']:,.0f} rows per CPU-second; "
        f"peak RSS {run['peak_rss_mib']:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--database", help="reuse this database of an earlier --keep run (kept afterwards)"
    )
    parser.add_argument(
        "--no-ingest", action="store_true", help="the tap alone, no crmhub ingest run"
    )
    args = parser.parse_args()
    name = args.database or f"crmhub_bench_{uuid.uuid4().hex[:10]}"
    if args.database:
        args.keep = True
        reset(name)
    else:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        if not args.database:
            t0 = time.perf_counter()
            load(name, args.rows)
            print(f"loaded {args.rows:,} customers into {name} in {time.perf_counter() - t0:.1f}s")
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        full_cfg = {"sqlalchemy_url": url, "include_tables": ["customers"]}
        inc_cfg = {
            **full_cfg,
            "stream_settings": {"customers": {"replication_key": "updated_at"}},
            "state_every_records": 100_000,
        }
        print(f"load average before runs: {os.getloadavg()} (2 shared cores)")

        full = run_tap(full_cfg, None, mode="null")
        _rates("full table -> /dev/null", full)
        first = run_tap(inc_cfg, None, mode="state")
        _rates("incremental first run (ORDER BY updated_at, id) -> grep STATE", first)
        changed = args.rows // 100
        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={name}") as conn:
            conn.execute(
                "UPDATE customers SET updated_at = %s, family_name = family_name || ' (upd)' "
                "WHERE id %% 100 = 7",
                (BASE + dt.timedelta(days=30),),
            )
        second = run_tap(inc_cfg, first["state"], mode="records")
        print(
            f"incremental after {changed:,} rows (1%) changed: read {second['records']:,} rows "
            f"(expected {changed:,}) in {second['seconds']:.1f}s"
        )
        third = run_tap(inc_cfg, second["state"], mode="records")
        print(f"incremental with nothing changed: read {third['records']:,} rows")
        if not args.no_ingest:
            with tempfile.TemporaryDirectory() as workdir:
                run = run_ingest(Path(workdir), TAP, full_cfg, "customers", INGEST_MAPPING)
            print_ingest("tap-sql full table", run)
        print(f"load average after runs: {os.getloadavg()}")
    finally:
        if not args.keep:
            with psycopg.connect(ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
