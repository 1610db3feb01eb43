"""tap-tryton throughput against a real trytond (SQLite): full run, then an incremental run.

Builds (or reuses, under ``.bench/tryton-template`` or ``$CRMHUB_TRYTON_TEMPLATE_CACHE``) the
template database of
``tests/tryton_server.py``, starts trytond on a copy, seeds N parties (each with one
address, one email and one phone; every 10th with a sale order) through JSON-RPC, then
runs ``tap-tryton`` as a real process and prints records per second; then edits 1% of the
addresses and runs again with the STATE, printing how many records came out.

    .venv/bin/python benchmarks/bench_tap_tryton.py                 # 5,000 parties
    .venv/bin/python benchmarks/bench_tap_tryton.py --parties 20000 --page-size 2000

Note ``uptime`` when quoting figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from tryton_server import TrytonServer, cached_template, running_trytond  # noqa: E402

TAP = str(Path(sys.executable).parent / "tap-tryton")


def seed(server: TrytonServer, parties: int) -> None:
    rpc = server.client()
    rpc.timeout = 900  # a create of hundreds of parties takes a while on a busy machine
    ctx = server.context
    nl = rpc.call("model.country.country.search", [("code", "=", "NL")], 0, 1, None, ctx)[0]
    eur = rpc.call("model.currency.currency.search", [("code", "=", "EUR")], 0, 1, None, ctx)[0]
    batch = 200
    for start in range(0, parties, batch):
        values = [
            {
                "name": f"Klant {i} B.V.",
                "addresses": [
                    (
                        "create",
                        [
                            {
                                "street": f"Damrak {i % 300 + 1}",
                                "postal_code": "1012 LG",
                                "city": "Amsterdam",
                                "country": nl,
                            }
                        ],
                    )
                ],
                "contact_mechanisms": [
                    (
                        "create",
                        [
                            {"type": "email", "value": f"klant{i}@example.nl"},
                            {"type": "phone", "value": "+31 20 123 4567"},
                        ],
                    )
                ],
            }
            for i in range(start, min(start + batch, parties))
        ]
        ids = rpc.call("model.party.party.create", values, ctx)
        sales = [
            {
                "party": party_id,
                "company": ctx["company"],
                "currency": eur,
                "lines": [
                    (
                        "create",
                        [
                            {
                                "type": "line",
                                "description": "Service",
                                "quantity": 1.0,
                                "unit_price": Decimal("99.95"),
                            }
                        ],
                    )
                ],
            }
            for party_id in ids[::10]
        ]
        rpc.call("model.sale.sale.create", sales, ctx)


def run_tap(
    config: dict[str, Any], workdir: Path, state: dict[str, Any] | None
) -> tuple[float, dict[str, int], dict[str, Any]]:
    config_file = workdir / "config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    command = [TAP, "--config", str(config_file)]
    if state is not None:
        state_file = workdir / "state.json"
        state_file.write_text(json.dumps(state), encoding="utf-8")
        command += ["--state", str(state_file)]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    counts: dict[str, int] = {}
    last_state: dict[str, Any] = {}
    for line in result.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            counts[message["stream"]] = counts.get(message["stream"], 0) + 1
        elif message["type"] == "STATE":
            last_state = message["value"]
    return elapsed, counts, last_state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=5000)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()

    print(f"load: {os.getloadavg()}")
    started = time.perf_counter()
    cache = os.environ.get("CRMHUB_TRYTON_TEMPLATE_CACHE") or ROOT / ".bench" / "tryton-template"
    template = cached_template(Path(cache))
    print(f"template ready in {time.perf_counter() - started:.1f}s")
    with tempfile.TemporaryDirectory() as tmp, running_trytond(Path(tmp), template) as server:
        started = time.perf_counter()
        seed(server, args.parties)
        print(f"seeded {args.parties} parties in {time.perf_counter() - started:.1f}s")
        config = {
            "url": server.url,
            "database": server.db,
            "username": server.user,
            "password": server.password,
            "page_size": args.page_size,
        }
        elapsed, counts, state = run_tap(config, Path(tmp), None)
        total = sum(counts.values())
        print(
            f"full run: {total} records in {elapsed:.1f}s = {total / elapsed:.0f} records/s "
            f"(page_size {args.page_size}); {counts}"
        )

        rpc = server.client()
        address_ids = rpc.call(
            "model.party.address.search", [], 0, None, [("id", "ASC")], server.context
        )
        edited = address_ids[:: max(1, len(address_ids) // max(1, len(address_ids) // 100))]
        rpc.call("model.party.address.write", edited, {"city": "Haarlem"}, server.context)
        elapsed, counts, _ = run_tap(config, Path(tmp), state)
        print(
            f"incremental run after editing {len(edited)} addresses: {counts} "
            f"in {elapsed:.1f}s (process start included)"
        )
        print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
