"""How much the machine's second core gives right now: one CPU-bound process, then two.

Wall-clock figures of this project's pipelines (a tap, the hub and its writer process side
by side; normalize in forked workers) depend on two processes really running at once. On a
shared virtual machine they may not: the host can give two virtual CPUs about the
throughput of one. Print this next to a benchmark's figures so that they can be read.

    .venv/bin/python benchmarks/parallelism.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time


def burn(loops: int) -> int:
    """Pure-Python work of a fixed size."""
    total = 0
    for i in range(loops):
        total += i
    return total


def calibrate(seconds: float) -> int:
    """Loops that take about ``seconds`` in one process now."""
    loops = 1_000_000
    while True:
        started = time.perf_counter()
        burn(loops)
        took = time.perf_counter() - started
        if took > 0.2:
            return int(loops * seconds / took)
        loops *= 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    loops = calibrate(args.seconds)
    started = time.perf_counter()
    burn(loops)
    one = time.perf_counter() - started
    with multiprocessing.get_context("fork").Pool(2) as pool:
        started = time.perf_counter()
        pool.map(burn, [loops, loops])
        two = time.perf_counter() - started
    print(
        f"parallelism now: one busy process {one:.2f} s, two side by side {two:.2f} s: "
        f"{2 * one / two:.2f} processes' worth of work per unit of time "
        f"({os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
