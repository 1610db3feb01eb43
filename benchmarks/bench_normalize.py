"""Benchmark of the NORMALIZE stage: records per second of normalize_frame and of each step.

Usage:
    .venv/bin/python benchmarks/bench_normalize.py [--records 100000] [--seed 0] [--profile]

Records come from crmhub.synthetic (international persons and organizations, messy on
purpose). The budget: the whole engine deduplicates 1,000,000 records in about 37 s on 2
cores, so normalizing 1M records must stay well under ~12 s. The script prints the
machine load next to the figures, because on a shared machine they are pessimistic.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import sys
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def reference_loop_us() -> float:
    """CPU µs of a fixed pure-Python loop: the machine's speed right now (quiet core: ~8 µs)."""
    started = time.process_time()
    for _ in range(3000):
        sum(range(1000))
    return (time.process_time() - started) / 3000 * 1e6


def timed(func: Callable[[], T]) -> tuple[T, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="print the top functions")
    args = parser.parse_args()

    from crmhub.synthetic import generate_records
    from crmhub_dedupe.normalize import normalize_frame
    from crmhub_dedupe.validate import validate_canonical

    started = time.perf_counter()
    generated = generate_records(args.records, seed=args.seed)
    records = generated.records
    print(f"generated {len(records):,} records in {time.perf_counter() - started:.1f} s")

    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cpus")

    # first call: phone metadata, compiled patterns, reference tables (once per process)
    _, setup_wall, setup_cpu = timed(lambda: normalize_frame(records[:1000]))
    print(
        f"first call on 1,000 records (one-time setup): wall {setup_wall:.2f} s, CPU {setup_cpu:.2f} s"
    )
    reference = reference_loop_us()
    print(f"reference loop: {reference:.1f} µs CPU (a quiet modern core: ~8 µs)")
    scale = min(1.0, 8.0 / reference)

    validation, validate_wall, validate_cpu = timed(lambda: validate_canonical(records))
    valid = int(validation.valid_mask.sum())
    print(
        f"validate_canonical: wall {validate_wall:.2f} s, CPU {validate_cpu:.2f} s"
        f" ({len(records) / validate_cpu:,.0f} rec/CPU-s); {valid:,} valid,"
        f" {len(records) - valid:,} to quarantine"
    )
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    result, normalize_wall, normalize_cpu = timed(lambda: normalize_frame(records))
    if profiler:
        profiler.disable()
    per_million = normalize_cpu / len(records) * 1_000_000
    print(
        f"normalize_frame: wall {normalize_wall:.2f} s, CPU {normalize_cpu:.2f} s"
        f" ({len(records) / normalize_cpu:,.0f} rec/CPU-s)"
    )
    print(
        f"1M records: {per_million:.1f} CPU-s measured here;"
        f" ~{per_million * scale:.1f} s on a quiet core (scaled by the reference loop)"
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:,.0f} MB")
    print("issues by reason:")
    print(result.counts_by_reason().to_string(index=False))
    frame = result.frame
    print("share of records with a key:")
    for column in ("given", "family", "org", "email", "phone", "postcode", "birth_date", "tax_id"):
        print(f"  {column:<11} {frame[column].notna().mean():6.1%}")
    if profiler:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(35)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
