"""Benchmark of publishing: N golden records through `tap-crmhub | target-crm` end to end.

    .venv/bin/python benchmarks/bench_publish.py [--records 100000] [--profiles sql,csv-import]
        [--no-pieces]

Builds a SQLite master with N golden records (written through the models' tables in bulk),
then runs `crmhub publish` for each profile (both plugins as real processes joined by a
pipe, the results read back into the publish ledger) and prints wall time, records/s (goal:
20,000/s end to end), the CPU seconds of the two plugin processes and of the hub itself
(what free cores would need: the machine is shared, so the 1-minute load is printed with
every figure) and peak memory. A second publish of the unchanged master must send zero
records.

Then each piece alone, so the bottleneck shows: tap-crmhub emitting every record into a
file, target-crm (a process, as the hub runs it) reading that recorded file, and the hub
recording a results file into the publish ledger.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
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


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def publish(root: Path, target: str) -> tuple[dict[str, object], float, float, float]:
    """One `crmhub publish TARGET`: outcome, wall s, plugins' CPU s, the hub's own CPU s."""
    children = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN))
    hub = _cpu(resource.getrusage(resource.RUSAGE_SELF))
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["-p", str(root), "publish", "--json", target])
    wall = time.perf_counter() - started
    children = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - children
    hub = _cpu(resource.getrusage(resource.RUSAGE_SELF)) - hub
    if result.exit_code != 0:
        sys.exit(f"publish {target} failed: {result.output}")
    (outcome,) = json.loads(result.stdout)
    return outcome, wall, children, hub


def _process(command: list[str], stdin: Path, stdout: Path, cwd: Path) -> tuple[float, float, int]:
    """Run a plugin process from file to file: wall s, CPU s and peak memory (MiB).

    The peak comes from /usr/bin/time: a child's own ru_maxrss would count the copy of this
    (large) process it was forked from.
    """
    before = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN))
    started = time.perf_counter()
    peak_file = cwd / "peak.txt"
    with stdin.open("rb") as src, stdout.open("wb") as dst:
        subprocess.run(
            ["/usr/bin/time", "-o", str(peak_file), "-f", "%M", *command],
            stdin=src,
            stdout=dst,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            check=True,
        )
    wall = time.perf_counter() - started
    peak = int(peak_file.read_text().split()[-1]) // 1024
    return wall, _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - before, peak


def _script(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def pieces(root: Path, url: str, n: int, targets: dict[str, dict[str, object]]) -> None:
    """Each piece of a publish alone: tap, target from a recorded file, ledger recording."""
    from crmhub.publish.ledger import record_outcomes
    from crmhub.publish.results import read_outcomes
    from crmhub.store import open_master

    work = root / "pieces"
    work.mkdir()
    (work / "tap.json").write_text(json.dumps({"master_url": url, "only_changed": False}))
    recorded = work / "messages.singer"
    wall, cpu, peak = _process(
        [_script("tap-crmhub"), "--config", "tap.json"], Path(os.devnull), recorded, work
    )
    print(
        f"  tap-crmhub alone: {n:,} records to a file in {wall:.1f} s, CPU {cpu:.1f} s = "
        f"{n / cpu:,.0f} records per CPU-second, peak {peak} MiB (load {load()})"
    )
    for name, target in targets.items():
        config = dict(target["config"])  # type: ignore[call-overload]
        config["results_path"] = str(work / f"{name}.jsonl")
        if "output_dir" in config:
            config["output_dir"] = str(work / f"{name}-files")
        if "sqlalchemy_url" in config:
            config["sqlalchemy_url"] = f"sqlite:///{work / (name + '.db')}"
        (work / f"{name}.json").write_text(json.dumps(config))
        wall, cpu, peak = _process(
            [_script("target-crm"), "--config", f"{name}.json"], recorded, work / "state", work
        )
        print(
            f"  target-crm {name} alone, from the recorded file: {wall:.1f} s, CPU {cpu:.1f} s "
            f"= {n / cpu:,.0f} records per CPU-second, peak {peak} MiB (load {load()})"
        )
    results = work / f"{next(iter(targets))}.jsonl"
    copy = work / "master.db"
    shutil.copy(url.removeprefix("sqlite:///"), copy)
    master = open_master(f"sqlite:///{copy}")
    started, cpu0 = time.perf_counter(), time.process_time()
    lines, _ = read_outcomes(results, 0)
    with master.session() as s:
        record_outcomes(s, "pieces", lines, None)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    master.dispose()
    print(
        f"  ledger recording alone: {len(lines):,} results lines in {wall:.1f} s, CPU {cpu:.1f} s"
        f" = {len(lines) / cpu:,.0f} records per CPU-second (load {load()})"
    )


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--profiles", default="sql,csv-import")
    parser.add_argument("--no-pieces", action="store_true", help="only the end-to-end runs")
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
            outcome, wall, cpu, hub = publish(root, profile)
            sent = int(outcome["sent"])  # type: ignore[call-overload]
            total = cpu + hub
            print(
                f"{profile}: {sent:,} records in {wall:.1f} s = {sent / wall:,.0f} records/s end "
                f"to end (pipe {outcome['seconds']} s; CPU tap+target {cpu:.1f} s + hub {hub:.1f}"
                f" s = {total:.1f} s = {sent / max(total, 1e-9):,.0f} records per CPU-second; "
                f"load {load()}); counts {outcome['counts']}"
            )
            again, wall, cpu, hub = publish(root, profile)
            print(
                f"{profile}: second publish sent {again['sent']} records in {wall:.1f} s, CPU "
                f"{cpu + hub:.1f} s (must be 0; load {load()})"
            )
            if again["sent"] != 0:
                sys.exit(f"{profile}: the second publish sent {again['sent']} records")
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"peak memory of the hub (this process, master built in it): {own} MiB")
        if not args.no_pieces:
            print("each piece alone:")
            pieces(root, url, args.records, {p: targets[p] for p in args.profiles.split(",")})


if __name__ == "__main__":
    main_()
