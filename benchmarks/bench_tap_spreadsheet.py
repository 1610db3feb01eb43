"""Throughput of tap-spreadsheet: a 1,000,000-row 12-column CSV and a 100,000-row XLSX,
each first piped to /dev/null (the tap alone), then through `crmhub ingest` into a fresh
SQLite master (end to end). Prints rows/s of wall and CPU time, and the machine load, since
the figures on a shared 2-core box are pessimistic.

    .venv/bin/python benchmarks/bench_tap_spreadsheet.py [--rows 1000000] [--xlsx-rows 100000]
        [--keep DIR] [--no-ingest]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GIVEN = ["Jan", "Anna", "Pieter", "Sanne", "Lukas", "Rahul", "Priya", "Emma", "Jürgen", "Zoë"]
FAMILY = ["de Vries", "Jansen", "Müller", "Schmidt", "Sharma", "Patel", "Bakker", "Visser"]
CITIES = ["Amsterdam", "Utrecht", "Köln", "München", "Mumbai", "Delhi", "London", "Gent"]
STREETS = ["Dorpsstraat", "Hauptstraße", "MG Road", "High Street", "Kerkweg", "Lindenallee"]
HEADER = [
    "Klantnummer",
    "Voornaam",
    "Achternaam",
    "E-mail",
    "Telefoon",
    "Straat",
    "Huisnummer",
    "Postcode",
    "Plaats",
    "Land",
    "Geboortedatum",
    "Omzet",
]


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A Dutch-style export: semicolons, dd-mm-yyyy dates, decimal commas."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(";".join(HEADER) + "\r\n")
        lines = []
        for i in range(1, rows + 1):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            lines.append(
                f"{i};{given};{family};{given.lower()}.{i}@example.nl;+31 6 {i:08d};"
                f"{rng.choice(STREETS)};{rng.randint(1, 300)};{rng.randint(1000, 9999)} AB;"
                f"{rng.choice(CITIES)};NL;{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(1940, 2005)};{rng.randint(0, 99999)},{rng.randint(0, 99):02d}\r\n"
            )
            if len(lines) == 10000:
                handle.write("".join(lines))
                lines.clear()
        handle.write("".join(lines))


def write_xlsx(path: Path, rows: int, seed: int = 7) -> None:
    """The same columns as a workbook with a title row, real dates and numbers."""
    import datetime as dt

    import openpyxl

    rng = random.Random(seed)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Klanten")
    sheet.append(["Klantenlijst export"])
    sheet.append(HEADER)
    for i in range(1, rows + 1):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        sheet.append(
            [
                i,
                given,
                family,
                f"{given.lower()}.{i}@example.nl",
                f"+31 6 {i:08d}",
                rng.choice(STREETS),
                rng.randint(1, 300),
                f"{rng.randint(1000, 9999)} AB",
                rng.choice(CITIES),
                "NL",
                dt.date(rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)),
                rng.randint(0, 9999999) / 100,
            ]
        )
    workbook.save(path)


def run_tap(config: Path, expected_rows: int) -> tuple[float, float]:
    """Wall and CPU seconds of `tap-spreadsheet --config CONFIG > /dev/null`.

    The CPU time (user + system of the tap process) is what the tap costs; on a shared,
    oversubscribed machine the wall time mostly measures the other tenants.
    """
    tap = Path(sys.executable).parent / "tap-spreadsheet"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        result = subprocess.run(
            [str(tap), "--config", str(config)],
            stdout=devnull,
            stderr=subprocess.PIPE,
            check=False,
        )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    log = result.stderr.decode("utf-8", "replace")
    if result.returncode != 0:
        sys.exit(f"tap failed (exit {result.returncode}):\n{log[-3000:]}")
    marker = f"{expected_rows} rows read"
    if marker not in log:
        sys.exit(f"tap did not report '{marker}':\n{log[-2000:]}")
    return elapsed, cpu


INGEST_MAPPING = """
entity: customer
key: [klantnummer]
fields:
  given_name: voornaam
  family_name: achternaam
  emails: [e_mail]
  phones: [telefoon]
  birth_date: geboortedatum
addresses:
  - {street: straat, house_number: huisnummer, postal_code: postcode, city: plaats, country: land}
"""


def run_ingest(
    workdir: Path, tap: str, tap_config: dict[str, object], stream: str, mapping: str
) -> dict[str, float]:
    """`crmhub ingest` of one source (the tap as a process) into a fresh SQLite master.

    Returns wall and CPU seconds (crmhub, its helper processes and the tap: all children)
    and the records the hub counted; the master and project live under ``workdir``.
    """
    project = workdir / "ingest-project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    (project / "mapping.yml").write_text(mapping)
    (project / "crmhub.yml").write_text(
        "version: 1\nsources:\n  bench:\n"
        f"    tap: {json.dumps(tap)}\n"
        f"    config: {json.dumps(tap_config)}\n"
        f"    streams:\n      {stream}:\n        mapping: mapping.yml\n"
    )
    crmhub = str(Path(sys.executable).parent / "crmhub")
    subprocess.run([crmhub, "-p", str(project), "db", "upgrade"], check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(
        [crmhub, "-p", str(project), "ingest", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"crmhub ingest failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    summary = json.loads(done.stdout)[0]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "records": summary["records"],
        "new": summary["new"],
        "quarantined": summary["quarantined"],
        "load": load,
    }


def print_ingest(label: str, run: dict[str, float]) -> None:
    """One line for an end-to-end run."""
    records = run["records"]
    print(
        f"{label} | crmhub ingest (SQLite master): {records:>9,.0f} records "
        f"({run['new']:,.0f} new, {run['quarantined']:,.0f} quarantined), "
        f"wall {run['seconds']:6.2f} s = {records / run['seconds']:>9,.0f} records/s; "
        f"CPU (hub + tap) {run['cpu_seconds']:6.2f} s = "
        f"{records / run['cpu_seconds']:>9,.0f} per CPU-second; load {run['load']:.2f} before"
    )


def calibration(csv_path: Path, rows: int) -> float:
    """Rows per CPU-second of the least a Python tap must do: csv.reader, dict, msgspec.

    Printed next to the tap's figure so a reader can tell a slow tap from a busy machine.
    """
    import csv
    import io

    import msgspec

    started = time.process_time()
    text = csv_path.read_text(encoding="utf-8")
    encoder, buffer = msgspec.json.Encoder(), bytearray()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    names = next(reader)
    for row in reader:
        encoder.encode_into(
            {"type": "RECORD", "stream": "k", "record": dict(zip(names, row, strict=True))},
            buffer,
            -1,
        )
        if len(buffer) > 1 << 20:
            buffer.clear()
    return rows / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    parser.add_argument(
        "--no-ingest", action="store_true", help="the tap alone, no crmhub ingest runs"
    )
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench_tap_spreadsheet_"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        csv_path, xlsx_path = workdir / "klanten.csv", workdir / "klanten.xlsx"
        if not csv_path.exists():
            write_csv(csv_path, args.rows)
        if not xlsx_path.exists():
            write_xlsx(xlsx_path, args.xlsx_rows)
        print(f"load before: {os.getloadavg()[0]:.2f} (1-min average, {os.cpu_count()} cores)")
        for path, rows in ((csv_path, args.rows), (xlsx_path, args.xlsx_rows)):
            config = workdir / f"{path.stem}{path.suffix}.json"
            config.write_text(json.dumps({"files": [{"path": str(path)}]}))
            seconds, cpu = run_tap(config, rows)
            size = path.stat().st_size / 1e6
            print(
                f"{path.suffix[1:]:>4}: {rows:>9,} rows x 12 columns ({size:.0f} MB) -> "
                f"/dev/null: wall {seconds:6.2f} s = {rows / seconds:>9,.0f} rows/s; "
                f"CPU {cpu:6.2f} s = {rows / cpu:>9,.0f} rows per CPU-second"
            )
        print(
            f"calibration: csv.reader -> dict -> msgspec alone (no types, no lineage) = "
            f"{calibration(csv_path, args.rows):,.0f} rows per CPU-second on this machine now"
        )
        if not args.no_ingest:
            tap = str(Path(sys.executable).parent / "tap-spreadsheet")
            for path in (csv_path, xlsx_path):
                run = run_ingest(
                    workdir, tap, {"files": [{"path": str(path)}]}, path.stem, INGEST_MAPPING
                )
                print_ingest(f"tap-spreadsheet {path.suffix[1:]}", run)
        print(f"load after: {os.getloadavg()[0]:.2f}")
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
