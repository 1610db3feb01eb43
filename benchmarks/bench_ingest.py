"""Ingest throughput of the hub: 1,000,000 customer records from a recorded Singer file.

    .venv/bin/python benchmarks/bench_ingest.py [--records 1000000] [--batch]

Writes a message file (12 fields per record) once under .bench/, then runs
``crmhub ingest`` on a fresh SQLite master with a trivial replay tap, and prints records/s
end to end, CPU time, and CPU and peak memory (RSS) per process (hub, writer, tap) with the
load average around the run. ``--batch`` sends the same
records as Singer BATCH messages (jsonl files) instead of RECORD lines.
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
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"

FIRST = ["Jan", "Pieter", "Anna", "Sanne", "Klaus", "Jürgen", "Rahul", "Priya", "Oliver", "Emma"]
LAST = ["de Vries", "Jansen", "Müller", "Schmidt", "Sharma", "Patel", "Smith", "Jones", "Bakker"]
CITIES = ["Amsterdam", "Utrecht", "Berlin", "München", "Mumbai", "Delhi", "London", "Leeds"]


def _record(i: int, rnd: random.Random) -> dict[str, object]:
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    return {
        "id": i,
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{i}@example.com",
        "phone": f"+31 6 {rnd.randint(10000000, 99999999)}",
        "street": "Hoofdstraat",
        "house_number": str(rnd.randint(1, 300)),
        "postal_code": f"{rnd.randint(1000, 9999)} AB",
        "city": rnd.choice(CITIES),
        "country": "NL",
        "birth_date": f"{rnd.randint(1, 28):02d}-{rnd.randint(1, 12):02d}-19{rnd.randint(40, 99)}",
        "updated_at": "2026-11-01T10:00:00Z",
    }


SCHEMA = {
    "type": "SCHEMA",
    "stream": "customers",
    "key_properties": ["id"],
    "schema": {"type": "object", "properties": {k: {} for k in _record(0, random.Random(0))}},
}


def write_messages(n: int, batch: bool) -> Path:
    BENCH.mkdir(exist_ok=True)
    path = BENCH / f"ingest-{n}{'-batch' if batch else ''}.jsonl"
    if path.exists():
        return path
    rnd = random.Random(7)
    with path.open("w") as out:
        out.write(json.dumps(SCHEMA) + "\n")
        if not batch:
            for i in range(n):
                out.write('{"type":"RECORD","stream":"customers","record":')
                out.write(json.dumps(_record(i, rnd), ensure_ascii=False))
                out.write("}\n")
                if i % 100_000 == 99_999:
                    out.write(json.dumps({"type": "STATE", "value": {"pos": i + 1}}) + "\n")
        else:
            per_file = 100_000
            for start in range(0, n, per_file):
                part = BENCH / f"ingest-{n}-part{start // per_file}.jsonl"
                with part.open("w") as p:
                    for i in range(start, min(n, start + per_file)):
                        p.write(json.dumps(_record(i, rnd), ensure_ascii=False) + "\n")
                message = {
                    "type": "BATCH",
                    "stream": "customers",
                    "encoding": {"format": "jsonl", "compression": "none"},
                    "manifest": [part.as_uri()],
                }
                out.write(json.dumps(message) + "\n")
                out.write(json.dumps({"type": "STATE", "value": {"pos": start}}) + "\n")
    return path


MAPPING = """
entity: customer
key: [id]
fields:
  given_name: first_name
  family_name: last_name
  emails: [email]
  phones: [phone]
  birth_date: {from: birth_date, date: "%d-%m-%Y"}
  updated_at: updated_at
addresses:
  - {street: street, house_number: house_number, postal_code: postal_code, city: city, country: country}
"""


def _watch(proc: subprocess.Popen[str]) -> dict[str, tuple[float, float]]:
    """CPU seconds and largest RSS per process of the run (hub, writer, tap), from /proc.

    Sampled every 0.2 s until the hub exits: the last sample of each process misses at
    most its final 0.2 s. On a busy machine wall time says little; per-process CPU shows
    which process bounds the throughput once both cores are free.
    """
    seen: dict[int, tuple[str, float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    while proc.poll() is None:
        for pid in _descendants(proc.pid):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"writer_process" in cmdline:
                role = "writer process"
            elif b"replay_tap" in cmdline:
                role = "tap"
            elif pid == proc.pid:
                role = "hub (reads, maps)"
            else:
                continue
            cpu = (int(stat[11]) + int(stat[12])) / tick
            rss = int(stat[21]) * page / 2**20
            old = seen.get(pid, (role, 0.0, 0.0))
            seen[pid] = (role, cpu, max(rss, old[2]))
        time.sleep(0.2)
    roles: dict[str, tuple[float, float]] = {}
    for role, cpu, rss in seen.values():
        total, peak = roles.get(role, (0.0, 0.0))
        roles[role] = (total + cpu, max(peak, rss))
    return roles


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--batch", action="store_true")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the orjson.loads figure printed for scale"
    )
    args = parser.parse_args()
    messages = write_messages(args.records, args.batch)
    project = BENCH / "ingest-project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    (project / "mapping.yml").write_text(MAPPING)
    (project / "tap.json").write_text(json.dumps({"file": str(messages)}))
    (project / "crmhub.yml").write_text(
        "version: 1\nsources:\n  bench:\n"
        f"    tap: [{json.dumps(sys.executable)}, {json.dumps(str(ROOT / 'benchmarks/replay_tap.py'))}]\n"
        f"    config: {{file: {json.dumps(str(messages))}}}\n"
        "    discover: false\n"
        "    streams:\n      customers:\n        mapping: mapping.yml\n"
    )
    crmhub = str(Path(sys.executable).parent / "crmhub")
    subprocess.run([crmhub, "-p", str(project), "db", "upgrade"], check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [crmhub, "-p", str(project), "ingest", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    roles = _watch(proc)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if done.returncode != 0:
        print(done.stderr)
        sys.exit(done.returncode)
    summary = json.loads(done.stdout)[0]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mib = usage.ru_maxrss / 1024
    # Only the ingest run (crmhub, its writer process and the tap), not `db upgrade` before it.
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    mode = "BATCH (jsonl)" if args.batch else "RECORD lines"
    print(
        f"machine: {os.cpu_count()} cores; load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after"
    )
    print(f"mode: {mode}; records: {summary['records']:,} (new {summary['new']:,})")
    print(
        f"end to end (crmhub ingest process): {elapsed:.2f} s = {summary['records'] / elapsed:,.0f} records/s"
    )
    print(
        f"CPU time of crmhub + tap: {cpu:.2f} s = {cpu / summary['records'] * 1e6:.1f} µs per record "
        f"({summary['records'] / cpu:,.0f} records per CPU-second)"
    )
    print(f"peak RSS of the largest child process: {peak_mib:,.0f} MiB")
    for role, (seconds, rss) in sorted(roles.items()):
        print(
            f"  {role}: {seconds:.2f} s CPU = {seconds / summary['records'] * 1e6:.1f} µs per record; "
            f"largest RSS seen {rss:,.0f} MiB"
        )
    if args.no_baseline:
        return
    # The same machine's speed for the bare minimum (parse every line once), for scale.
    with messages.open("rb") as handle:
        lines = handle.readlines()
    cpu0 = time.process_time()
    for line in lines:
        orjson.loads(line)
    baseline = len(lines) / (time.process_time() - cpu0)
    print(
        f"for scale, orjson.loads alone on this machine now: {baseline:,.0f} lines per CPU-second"
    )


if __name__ == "__main__":
    main()
