"""Benchmark of target-crm: throughput of the sql and csv-import profiles, and the HubSpot
profile against the HubSpot simulator with its real limits.

    .venv/bin/python benchmarks/bench_target_crm.py [--records 100000] [--hubspot-records 30000]
        [--hubspot-limit 100]

Prints records/s for sql (SQLite) and csv-import on --records golden records (target-side:
Singer parsing, mapping, upsert/write, results file), then for HubSpot: requests sent, the
most requests seen by the simulator in any 10 s window, 429s, and the throughput reached as a
share of what the limit allows (limit x 100 records per 10 s). Finally a second publish of
the same records, which must make zero write calls. The machine is shared: `uptime` load is
printed with the figures, and the file profiles also report records per CPU-second of this
process (what one free core would do), since wall time on a loaded machine mostly measures
the other processes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "targets_crm"))

from singer_input import person, read_results, singer_text  # noqa: E402

from target_crm.target import TargetCRM  # noqa: E402

CPU: dict[str, float] = {}


def run(config: dict[str, object], text_file: Path) -> float:
    """Run the target on a Singer file; wall seconds taken (CPU seconds in CPU["last"])."""
    started, cpu = time.perf_counter(), time.process_time()
    with text_file.open(encoding="utf-8") as fh, contextlib.redirect_stdout(io.StringIO()):
        TargetCRM(config=config, validate_config=True).run(fh)
    CPU["last"] = time.process_time() - cpu
    return time.perf_counter() - started


def load() -> str:
    """The 1-minute load average."""
    return f"{os.getloadavg()[0]:.1f}"


def bench_files(n: int, work: Path) -> None:
    text_file = work / "golden.singer"
    t0 = time.perf_counter()
    text_file.write_text(singer_text({"customers": (person(i) for i in range(n))}, 10000))
    print(f"generated {n} golden records in {time.perf_counter() - t0:.1f}s")
    base = {"validate_records": False, "batch_size": 10000}
    cases = {
        "sql (SQLite)": {"profile": "sql", "sqlalchemy_url": f"sqlite:///{work / 'crm.db'}"},
        "csv-import (salesforce-data-import-wizard)": {
            "profile": "csv-import",
            "output_dir": str(work / "csv"),
        },
    }
    for name, cfg in cases.items():
        results = work / f"{name.split()[0]}.jsonl"
        seconds = run({**base, **cfg, "results_path": str(results)}, text_file)
        lines = read_results(results)
        if len(lines) != n or {ln["action"] for ln in lines} != {"create"}:
            raise SystemExit(f"{name}: expected {n} creates, got {len(lines)} lines")
        cpu = CPU["last"]
        print(
            f"{name:45s} {n} records in {seconds:6.2f}s = {n / seconds:8.0f} records/s "
            f"wall; {cpu:6.2f}s CPU = {n / cpu:8.0f} records per CPU-second (load {load()})"
        )
        again = run({**base, **cfg, "results_path": str(results)}, text_file)
        skipped = sum(1 for ln in read_results(results)[n:] if ln["action"] == "skip")
        print(f"{'  second run, nothing changed':45s} {skipped} skipped in {again:6.2f}s")


def max_in_window(stamps: list[float], window: float) -> int:
    """Most events in any window of ``window`` seconds."""
    best, start = 0, 0
    for end, t in enumerate(stamps):
        while t - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def bench_hubspot(n: int, limit: int, work: Path) -> None:
    # the simulator runs in its own process, as HubSpot would: it must not share our GIL
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators", "hubspot", "--rate-limit", str(limit)],
        cwd=ROOT / "tests" / "targets_crm",
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if proc.stdout is None:
            raise SystemExit("simulator did not start")
        port = int(proc.stdout.readline().split()[1])
        url = f"http://127.0.0.1:{port}"
        text_file = work / "hubspot.singer"
        text_file.write_text(singer_text({"customers": (person(i) for i in range(n))}, 1000))
        cfg = {
            "profile": "hubspot",
            "base_url": url,
            "access_token": "good-token",
            "requests_per_10s": limit,
            "results_path": str(work / "hubspot.jsonl"),
            "validate_records": False,
        }
        seconds = run(cfg, text_file)
        stats = requests.get(f"{url}/__simulator/stats", timeout=30).json()
        stamps = [t for t, m, p in stats["log"] if p.startswith("/crm/")]
        upserts = sum(1 for _, m, p in stats["log"] if p.endswith("batch/upsert"))
        accepted = sum(1 for ln in read_results(work / "hubspot.jsonl") if ln["action"] == "create")
        allowed = limit * 100 / 10.0
        rate = n / seconds
        print(
            f"hubspot simulator, limit {limit} requests/10 s, 100 per batch: {n} records "
            f"({accepted} created) in {seconds:.1f}s = {rate:.0f} records/s; {upserts} upsert "
            f"calls, {len(stamps)} requests in all, max {max_in_window(stamps, 10.0)} in any "
            f"10 s, {stats['throttled']} throttled (load {load()})"
        )
        print(
            f"  the limit allows {allowed:.0f} records/s sustained: reached "
            f"{100 * rate / allowed:.0f}% (CPU {CPU['last']:.1f}s)"
        )
        writes = stats["writes"]
        again = run(cfg, text_file)
        after = requests.get(f"{url}/__simulator/stats", timeout=30).json()["writes"]
        print(f"  second publish, nothing changed: {after - writes} write calls, {again:.1f}s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--hubspot-records", type=int, default=30_000)
    parser.add_argument("--hubspot-limit", type=int, default=100)
    parser.add_argument("--skip-hubspot", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench_files(args.records, work)
        if not args.skip_hubspot:
            bench_hubspot(args.hubspot_records, args.hubspot_limit, work)


if __name__ == "__main__":
    main()
