"""Run one simulator as its own process: ``python -m simulators hubspot --rate-limit 100``.

Prints ``PORT <n>`` on stdout once listening, then serves until killed. Benchmarks use this
so the simulator does not share the target's interpreter (and its GIL).
"""

from __future__ import annotations

import argparse
import sys
import time

from .base import Simulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vendor", choices=["hubspot", "salesforce", "dynamics"])
    parser.add_argument("--rate-limit", type=int, default=None)
    parser.add_argument("--rate-window", type=float, default=10.0)
    args = parser.parse_args()
    sim: Simulator
    if args.vendor == "hubspot":
        from .hubspot import HubSpotSimulator

        sim = HubSpotSimulator(rate_limit=args.rate_limit, rate_window=args.rate_window)
    elif args.vendor == "salesforce":
        from .salesforce import SalesforceSimulator

        sim = SalesforceSimulator()
    else:
        from .dynamics import DynamicsSimulator

        sim = DynamicsSimulator(rate_limit=args.rate_limit, rate_window=args.rate_window)
    sim.start()
    assert sim.server is not None
    sys.stdout.write(f"PORT {sim.server.server_address[1]}\n")
    sys.stdout.flush()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
