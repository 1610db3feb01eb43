"""Benchmark: tap-legacy over a 1,000,000-record EBCDIC copybook file (20 fields, 5 COMP-3).

Writes the file with ``tap_legacy.copybook.encode_records`` (10,000 distinct records repeated),
runs ``tap-legacy`` as a process with stdout to /dev/null, and prints records/s (wall clock),
records per CPU-second (meaningful on a shared machine) and the peak RSS of the tap process. Usage::

    .venv/bin/python benchmarks/bench_tap_legacy.py [--records 1000000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from tap_legacy.copybook import encode_records

COPYBOOK = """\
      * Customer master record, 20 fields, several COMP-3 amounts
       01  CUSTOMER-RECORD.
           05  CUST-ID              PIC 9(9).
           05  CUST-TYPE            PIC X.
           05  CUST-NAME.
               10  FAMILY-NAME      PIC X(25).
               10  GIVEN-NAME       PIC X(20).
           05  COMPANY-NAME         PIC X(30).
           05  STREET               PIC X(30).
           05  POSTAL-CODE          PIC X(8).
           05  CITY                 PIC X(25).
           05  COUNTRY              PIC X(2).
           05  PHONE                PIC X(18).
           05  EMAIL                PIC X(40).
           05  BIRTH-DATE           PIC 9(8).
           05  BALANCE              PIC S9(9)V99 COMP-3.
           05  CREDIT-LIMIT         PIC S9(7)V99 COMP-3.
           05  YTD-SALES            PIC S9(11)V99 COMP-3.
           05  ORDER-COUNT          PIC S9(7) COMP-3.
           05  DISCOUNT-PCT         PIC S9(3)V99 COMP-3.
           05  BRANCH               PIC S9(4) COMP.
           05  CREATED-YYYYMMDD     PIC 9(8).
           05  STATUS-CODE          PIC X(2).
           05  FILLER               PIC X(10).
"""

FAMILY = ["Müller", "van der Berg", "Sharma", "Smith", "Schäfer", "de Vries", "Iyer", "Jones"]
GIVEN = ["Jan", "Anna", "Rahul", "Sophie", "Jürgen", "Priya", "John", "Maria"]
CITY = ["München", "Amsterdam", "Pune", "London", "Köln", "Utrecht", "Chennai", "Leeds"]


def distinct_records(count: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    records = []
    for i in range(count):
        records.append(
            {
                "cust_id": i + 1,
                "cust_type": rng.choice("PO"),
                "family_name": rng.choice(FAMILY),
                "given_name": rng.choice(GIVEN),
                "company_name": rng.choice(["", "Acme GmbH", "Tata Pvt. Ltd.", "Bakker B.V."]),
                "street": f"Hauptstraße {rng.randint(1, 200)}",
                "postal_code": f"{rng.randint(10000, 99999)}",
                "city": rng.choice(CITY),
                "country": rng.choice(["DE", "NL", "IN", "GB"]),
                "phone": f"+49 89 {rng.randint(1000000, 9999999)}",
                "email": f"user{i}@example.com",
                "birth_date": 19700101 + rng.randint(0, 300000),
                "balance": Decimal(rng.randint(-(10**9), 10**9)).scaleb(-2),
                "credit_limit": Decimal(rng.randint(0, 10**8)).scaleb(-2),
                "ytd_sales": Decimal(rng.randint(-(10**12), 10**12)).scaleb(-2),
                "order_count": rng.randint(0, 10**6),
                "discount_pct": Decimal(rng.randint(0, 9999)).scaleb(-2),
                "branch": rng.randint(-999, 9999),
                "created_yyyymmdd": 20000101 + rng.randint(0, 250000),
                "status_code": rng.choice(["AC", "IN", "BL"]),
            }
        )
    return records


def _reference_loop() -> float:
    """CPU seconds of a fixed pure-Python loop: how fast this machine is right now."""
    started = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_tap_legacy_"))
    workdir.mkdir(parents=True, exist_ok=True)
    copybook = workdir / "customer.cpy"
    copybook.write_text(COPYBOOK, encoding="utf-8")
    data = workdir / "customers.ebc"
    block = encode_records(COPYBOOK, distinct_records(10_000), "cp1141")
    record_length = len(block) // 10_000
    with data.open("wb") as out:
        written = 0
        while written < args.records:
            take = min(10_000, args.records - written)
            out.write(block[: take * record_length])
            written += take
    config = workdir / "config.json"
    config.write_text(
        json.dumps(
            {
                "streams": [
                    {
                        "name": "customers",
                        "format": "copybook",
                        "path": str(data),
                        "copybook": str(copybook),
                        "codepage": "cp1141",
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    calibration = _reference_loop()
    tap = Path(sys.executable).with_name("tap-legacy")
    load = os.getloadavg()
    started = time.perf_counter()
    with open(os.devnull, "wb") as devnull, (workdir / "stderr.log").open("wb") as err:
        proc = subprocess.run([str(tap), "--config", str(config)], stdout=devnull, stderr=err)
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kib = usage.ru_maxrss
    cpu = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        print(f"tap-legacy failed with exit code {proc.returncode}; see {workdir / 'stderr.log'}")
        return 1
    size_mb = data.stat().st_size / 1e6
    print(f"records:          {args.records:,} x {record_length} bytes ({size_mb:.0f} MB, cp1141)")
    print(f"elapsed:          {elapsed:.1f} s (process start to exit)")
    print(f"throughput:       {args.records / elapsed:,.0f} records/s")
    print(f"CPU time (tap):   {cpu:.1f} s -> {args.records / cpu:,.0f} records per CPU-second")
    print(f"peak RSS (tap):   {peak_kib / 1024:.0f} MiB")
    print(f"load average:     {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 shared cores)")
    print(
        f"calibration:      a 10M-step Python loop took {calibration:.2f} s here "
        "(about 0.4 s on an idle modern core)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
