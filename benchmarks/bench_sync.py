"""`crmhub sync` on a project whose master holds N customer records: 1% changed, nothing changed.

Builds a project in a folder (default ``.bench/sync-<N>``) with one source whose tap is a
small generator process (N distinct customers, deterministic; ``--changed`` of them get a
new email in the "changed" pass) and, unless ``--no-target``, a SQL target (SQLite "CRM").
Then it times, each as a real `crmhub sync` process:

1. the initial load (every record new: ingest, match, publish everything) -- setup, printed
   but not the headline;
2. a sync where ``--changed`` (default 1%) of the source rows changed;
3. a sync where nothing changed.

Wall time and CPU time (this process's children: crmhub, the tap, tap-crmhub, the target)
are printed with the load average, because the machine is shared, and so is each step's wall
and CPU time as the sync reports it (``steps``, ``steps_cpu``); ``outside_steps_cpu`` is the
rest of the process tree: Python start-up of `crmhub`, the lock and the run bookkeeping.

The initial load of a big master takes long (at 1,000,000 records far longer than the
syncs measured). With ``--reuse`` it is done once into ``<folder>-built`` and kept; every
repetition (``--repeat``) copies that folder to ``<folder>`` and runs the two timed syncs
there, as real `crmhub sync` processes on a master nobody has synced since its first load
(migrated first with `crmhub db upgrade`, untimed, when the built master is older than the
code). The built folder is rebuilt when it was made with other options.

    .venv/bin/python benchmarks/bench_sync.py                        # 1,000,000 records
    .venv/bin/python benchmarks/bench_sync.py --records 20000 --json
    .venv/bin/python benchmarks/bench_sync.py --reuse --repeat 2     # initial load kept
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CRMHUB = str(Path(sys.executable).parent / "crmhub")

# The source: N customers as Singer RECORDs, a STATE every 10,000. Each row has a version
# (0 at first, the project's version once changed); with ``incremental`` the tap behaves like
# a tap with a replication key: it sends only rows whose version is above the bookmark in its
# state, as tap-sql/tap-tryton do with an updated-at column (reading only those rows).
# Without it, a full-table tap re-sends every row on every run.
GENERATOR = textwrap.dedent(
    """
    import json, sys
    args = sys.argv[1:]
    if "--discover" in args:
        print(json.dumps({"streams": [{"tap_stream_id": "customers", "stream": "customers",
                                       "schema": {}, "metadata": []}]}))
        sys.exit(0)
    config = json.load(open(args[args.index("--config") + 1]))
    state = json.load(open(args[args.index("--state") + 1])) if "--state" in args else {}
    n, changed, version = config["records"], config["changed"], config["version"]
    incremental = config.get("incremental", False)
    mark = state.get("bookmarks", {}).get("customers", {})
    bookmark = mark.get("replication_key_value", -1) if incremental else -1
    every = max(1, int(1 / changed)) if changed else 0
    first = ["Jan", "Anna", "Rahul", "Priya", "Henk", "Sabine", "Arjun", "Maria", "Pieter"]
    last = ["Berg", "Schmidt", "Sharma", "Patel", "Vries", "Mueller", "Iyer", "Jansen"]
    out = sys.stdout
    out.write(json.dumps({"type": "SCHEMA", "stream": "customers", "key_properties": ["id"],
        "schema": {"type": "object", "properties": {
            "id": {}, "first": {}, "last": {}, "email": {}}}}) + "\\n")
    # Only rows above the bookmark are visited, as a query on an indexed replication key
    # would: looping over all N rows to skip them cost 0.3 s CPU per sync at 1,000,000.
    if bookmark < 0:
        rows = range(n)
    elif version > bookmark and every:
        rows = range(0, n, every)
    else:
        rows = range(0)
    for i in rows:
        row_version = version if version and every and i % every == 0 else 0
        if row_version <= bookmark:
            continue
        mail = f"c{i}@example{i % 97}.nl"
        if row_version:
            mail = f"c{i}.v{version}@example{i % 97}.nl"
        out.write(json.dumps({"type": "RECORD", "stream": "customers", "record": {
            "id": str(i), "first": f"{first[i % 9]}{i}", "last": last[(i // 9) % 8],
            "email": mail}}) + "\\n")
        if i % 10000 == 9999 and not incremental:
            out.write(json.dumps({"type": "STATE", "value": {"done": i + 1}}) + "\\n")
    final = {"bookmarks": {"customers": {"replication_key": "version",
             "replication_key_value": max(version, bookmark)}}} if incremental else {}
    out.write(json.dumps({"type": "STATE", "value": final}) + "\\n")
    """
)


def _write_project(
    folder: Path, *, records: int, changed: float, version: int, target: bool, incremental: bool
) -> None:
    (folder / "gen_tap.py").write_text(GENERATOR)
    doc: dict[str, Any] = {
        "version": 1,
        "name": "bench-sync",
        "master": {"url": "sqlite:///master.db"},
        "sources": {
            "shop": {
                "tap": [sys.executable, str(folder / "gen_tap.py")],
                "config": {
                    "records": records,
                    "changed": changed,
                    "version": version,
                    "incremental": incremental,
                },
                "streams": {
                    "customers": {
                        "mapping": {
                            "key": "id",
                            "fields": {
                                "given_name": "first",
                                "family_name": "last",
                                "emails": ["email"],
                            },
                        }
                    }
                },
            }
        },
        "targets": {}
        if not target
        else {
            "crm": {
                "target": "target-crm",
                "config": {"profile": "sql", "sqlalchemy_url": f"sqlite:///{folder / 'crm.db'}"},
            }
        },
    }
    (folder / "crmhub.yml").write_text(json.dumps(doc, indent=2))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _sync(folder: Path) -> dict[str, Any]:
    cpu, wall = _children_cpu(), time.monotonic()
    proc = subprocess.run(
        [CRMHUB, "-p", str(folder), "sync", "--json", "--no-notify"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds, cpu_seconds = time.monotonic() - wall, _children_cpu() - cpu
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"crmhub sync failed with exit code {proc.returncode}")
    summary = json.loads(proc.stdout)
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "steps": {s["step"]: round(s["seconds"], 2) for s in summary["steps"]},
        "steps_cpu": {s["step"]: round(s["cpu_seconds"], 2) for s in summary["steps"]},
        "outside_steps_cpu": round(cpu_seconds - summary["cpu_seconds"], 2),
        "load_average": round(os.getloadavg()[0], 1),
    }


def _built(folder: Path, options: dict[str, Any]) -> dict[str, Any]:
    """The initial load kept in ``<folder>-built`` (made now if missing or made otherwise)."""
    built = folder.with_name(folder.name + "-built")
    marker = built / "built.json"
    if marker.exists():
        kept = json.loads(marker.read_text())
        if kept.get("options") == options:
            return {**kept["initial_load"], "kept": True}
    if built.exists():
        shutil.rmtree(built)
    built.mkdir(parents=True)
    _write_project(built, version=0, **options)
    initial = _sync(built)
    marker.write_text(json.dumps({"options": options, "initial_load": initial}, indent=2))
    return initial


def _copy_built(folder: Path, options: dict[str, Any]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(folder.with_name(folder.name + "-built"), folder)
    # The project file names the target's database by absolute path: point it at the copy.
    _write_project(folder, version=1, **options)
    # A master built by an older crmhub is migrated before the clock starts: a schema
    # migration happens once per upgrade, not in every sync.
    subprocess.run([CRMHUB, "-p", str(folder), "db", "upgrade"], check=True, capture_output=True)
    # the copy's gigabytes of dirty page cache flushed before the clock starts, not during
    os.sync()


def main() -> None:
    """Build the project, run the three syncs, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of rows changed")
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--no-target", action="store_true", help="no publish step")
    parser.add_argument(
        "--full-table",
        action="store_true",
        help="the tap re-sends every row on every run (default: replication key, changed rows)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the initial load in <folder>-built and copy it before each repetition",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="repetitions of the two timed syncs (with --reuse)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.repeat > 1 and not args.reuse:
        parser.error("--repeat needs --reuse (each repetition starts from the initial load)")
    folder = args.folder or ROOT / ".bench" / f"sync-{args.records}"
    options: dict[str, Any] = {
        "records": args.records,
        "changed": args.changed,
        "target": not args.no_target,
        "incremental": not args.full_table,
    }
    runs: list[dict[str, Any]] = []
    if args.reuse:
        initial = _built(folder, options)
        for _ in range(args.repeat):
            _copy_built(folder, options)
            runs.append({"sync_changed": _sync(folder), "sync_unchanged": _sync(folder)})
    else:
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        _write_project(folder, version=0, **options)
        initial = _sync(folder)
        _write_project(folder, version=1, **options)
        runs.append({"sync_changed": _sync(folder), "sync_unchanged": _sync(folder)})
    figures = {
        "records": args.records,
        "changed_rows": int(args.records * args.changed),
        "source": "full table" if args.full_table else "replication key",
        "initial_load": initial,
        **runs[0],
        "repeats": runs[1:],
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    if args.json:
        sys.stdout.write(json.dumps(figures, indent=2) + "\n")
        return
    sys.stdout.write(
        f"crmhub sync, master of {args.records:,} records, {figures['source']} source (load average "
        f"{figures['load_average']}, {figures['cpus']} CPUs)\n"
    )
    rows: list[tuple[str, dict[str, Any]]] = [("initial load (setup)", initial)]
    for run in runs:
        rows += [(f"{args.changed:.0%} changed", run["sync_changed"])]
        rows += [("nothing changed", run["sync_unchanged"])]
    for label, f in rows:
        kept = " (kept from an earlier run, --reuse)" if f.get("kept") else ""
        sys.stdout.write(
            f"  {label:<22} {f['seconds']:8.1f} s wall {f['cpu_seconds']:8.1f} s CPU  "
            f"(load {f['load_average']}){kept}\n    steps wall: {f['steps']}\n"
            f"    steps CPU:  {f['steps_cpu']}, outside the steps {f['outside_steps_cpu']}\n"
        )


if __name__ == "__main__":
    main()
