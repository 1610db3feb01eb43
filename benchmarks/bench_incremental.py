"""Incremental matching: 10,000 new records against a 1,000,000-record master, via `crmhub match`.

The synthetic set (:mod:`crmhub.synthetic`, cached under ``.bench/``) of master + new
records is shuffled with a fixed seed, so new records have duplicates in the master, among
themselves, or nowhere. Setup (not timed, cached in ``.bench/incremental-<N>-<new>-<seed>-v2/``
and built once): a SQLite master whose source records, xref, golden records, stored model
and match index are what a previous run would have left. Its master ids are the
generator's entity ids, as if the previous run were perfect, so every error counted here is
the incremental run's own. The model is EM on a 100,000-record sample.

Timed: a copy of that master gets the new records as an ingest leaves them (pending), then
a real `crmhub match --json` process runs: validate and normalize the new records, find
candidates through the match index, match, write xref, golden records and the review
queue. Printed: wall and CPU time of the process (start-up included), its peak memory, the
load average, what the run decided, and pairwise precision/recall/F1 over the pairs that
involve a new record.

Preparing that copy reads the whole generated set again; ``--reuse`` keeps the prepared
copy in the cache folder and later runs only copy it and time the match, ``--repeat``
times several matches, each on a fresh copy, and ``--code`` runs another checkout's
crmhub (say ``git archive`` of an older commit) on the same prepared copy, for old/new
comparisons.

    .venv/bin/python benchmarks/bench_incremental.py
    .venv/bin/python benchmarks/bench_incremental.py --master 100000 --new 2000 --json
    .venv/bin/python benchmarks/bench_incremental.py --reuse --repeat 3
    .venv/bin/python benchmarks/bench_incremental.py --reuse --code /tmp/old-checkout
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dedupe_1m import CACHE, ROOT, load_avg, load_chunks

CRMHUB = str(Path(sys.executable).parent / "crmhub")
SOURCES = ("crm", "erp", "legacy", "webshop")


def _project_file(folder: Path, sources: set[str]) -> None:
    doc = {
        "version": 1,
        "name": "bench-incremental",
        "master": {"url": "sqlite:///master.db"},
        "sources": {name: {"tap": ["true"]} for name in sorted(sources)},
    }
    (folder / "crmhub.yml").write_text(json.dumps(doc, indent=2))


def _incoming(records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    from crmhub.store.source_records import IncomingRecord

    out: dict[str, list[Any]] = {}
    for rec in records:
        canonical = {k: v for k, v in rec.items() if k not in ("record_id", "source")}
        text = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS).decode()
        out.setdefault(rec["source"], []).append(
            IncomingRecord(rec["record_id"], text, str(hash(text)), "customer", text, "ok", None)
        )
    return out


def _write(master: Any, records: list[dict[str, Any]], run_id: int) -> None:
    from crmhub.store.source_records import write_batch

    with master.engine.begin() as conn:
        for source, incoming in _incoming(records).items():
            for start in range(0, len(incoming), 20_000):
                write_batch(
                    conn,
                    source=source,
                    stream="customers",
                    records=incoming[start : start + 20_000],
                    run_id=run_id,
                    mapping_version="bench",
                )


def _split(n_master: int, n_new: int, seed: int) -> tuple[dict[str, str], Any, np.ndarray]:
    truth, _, chunks = load_chunks(n_master + n_new, seed, 0.0)
    order = np.random.default_rng(seed).permutation(n_master + n_new)
    is_new = np.zeros(n_master + n_new, dtype=bool)
    is_new[order[n_master:]] = True
    return truth, chunks, is_new


def build(n_master: int, n_new: int, seed: int) -> Path:
    """The cached master (built once): source records, xref, golden records, model, index."""
    from sqlalchemy import insert

    from crmhub.match import index
    from crmhub.match.engine import save_model
    from crmhub.match.recompute import recompute
    from crmhub.store import open_master
    from crmhub.store.models import GoldenRecord, Xref
    from crmhub_dedupe.normalize import normalize_frame
    from crmhub_dedupe.pipeline import train
    from crmhub_dedupe.settings import MatchSettings

    # v2: golden records and search keys built by recompute (v1 left them empty)
    folder = CACHE / f"incremental-{n_master}-{n_new}-{seed}-v2"
    if (folder / "ready").exists():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    print(f"building the {n_master:,}-record master once into {folder} ...", flush=True)
    started = time.perf_counter()
    truth, chunks, is_new = _split(n_master, n_new, seed)
    _project_file(folder, set(SOURCES))
    master = open_master(f"sqlite:///{folder / 'master.db'}")
    settings = MatchSettings.default()
    frames: list[pd.DataFrame] = []
    position = 0
    for chunk in chunks:
        mine = [r for k, r in enumerate(chunk) if not is_new[position + k]]
        position += len(chunk)
        _write(master, mine, run_id=1)
        frame = normalize_frame(mine).frame
        frames.append(frame)
        print(f"  {position:,} records written and normalized", flush=True)
    with master.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE source_record SET match_state = 'matched'")
        ids = dict(
            conn.exec_driver_sql("SELECT source || '/' || source_key, id FROM source_record").all()
        )
    for frame in frames:
        keys = frame["source"] + "/" + frame["record_id"]
        frame["master_id"] = frame["record_id"].map(truth)
        frame["record_id"] = keys.map(ids).astype(str)
    entities = sorted({m for f in frames for m in f["master_id"].tolist()})
    with master.session() as s:
        now = pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime()
        for frame in frames:
            s.execute(
                insert(Xref),
                [
                    {
                        "source_record_id": int(r),
                        "master_id": m,
                        "method": "auto",
                        "matched_at": now,
                        "run_id": 1,
                    }
                    for r, m in zip(frame["record_id"], frame["master_id"], strict=True)
                ],
            )
        for start in range(0, len(entities), 50_000):
            s.execute(
                insert(GoldenRecord),
                [
                    {
                        "master_id": e,
                        "kind": None,
                        "data": {},
                        "provenance": {},
                        "overrides": {},
                        "flags": [],
                        "version": 1,
                        "status": "active",
                        "created_at": now + pd.Timedelta(seconds=int(e[1:]) % 60),
                        "updated_at": now,
                    }
                    for e in entities[start : start + 50_000]
                ],
            )
        share = min(1.0, 100_000 / max(1, n_master))
        sample = pd.concat(
            [f.sample(frac=share, random_state=seed) for f in frames], ignore_index=True
        ).drop(columns="master_id")
        save_model(s, train(sample, settings), run_id=1)
        index.rebuild(s, [f.drop(columns="master_id") for f in frames], settings, run_id=1)
        # The golden records and their search keys as that run would have left them, built
        # by the hub's own recompute from the members: a timed run then rewrites what its
        # new records change, not every golden record they touch from empty.
        print(f"  recomputing {len(entities):,} golden records", flush=True)
        recompute(s, entities, {name: 100 for name in SOURCES}, run_id=1)
    master.dispose()
    (folder / "ready").write_text(f"{time.perf_counter() - started:.0f} s to build\n")
    return folder


def _previous_match_run(master: Any) -> None:
    """The run history of a master a previous `crmhub match` built (later runs only look at
    what changed since it)."""
    from crmhub.store.models import Run

    with master.session() as s:
        if s.query(Run).filter(Run.kind == "match").count() == 0:
            at = pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime()
            s.add(Run(kind="match", status="succeeded", started_at=at, finished_at=at))


def pairs_with_new(groups: Counter[Any], new_groups: Counter[Any]) -> int:
    """Pairs inside groups that involve at least one new record."""
    total = 0
    for g, size in groups.items():
        old = size - new_groups.get(g, 0)
        total += size * (size - 1) // 2 - old * (old - 1) // 2
    return total


def prepare(n_master: int, n_new: int, seed: int, reuse: bool) -> tuple[Path, list[str]]:
    """The cached master as an ingest leaves it for the timed run (a previous match run, the
    new records pending) and the new records' ``source/key``.

    Kept next to the cached master (``pending.db``, ``new-records.json``); a later ``reuse``
    takes them as they are instead of reading the generated set again and writing the new
    records (the prepared copy is made with the code of its day: leave ``--reuse`` out after
    a change to how ingest writes source records).
    """
    from crmhub.store import open_master

    cached = build(n_master, n_new, seed)
    pending, keys_file = cached / "pending.db", cached / "new-records.json"
    if reuse and pending.exists() and keys_file.exists():
        return pending, json.loads(keys_file.read_text())
    _, chunks, is_new = _split(n_master, n_new, seed)
    new_recs: list[dict[str, Any]] = []
    position = 0
    for chunk in chunks:
        new_recs += [r for k, r in enumerate(chunk) if is_new[position + k]]
        position += len(chunk)
    tmp = cached / "pending.tmp"
    shutil.copy(cached / "master.db", tmp)
    # Left at the cached master's schema revision: each run migrates its copy with the
    # crmhub it times (``--code`` may be older than this checkout), before the clock starts.
    master = open_master(f"sqlite:///{tmp}", upgrade=False)
    _previous_match_run(master)
    _write(master, new_recs, run_id=2)  # what `crmhub ingest` leaves: pending records
    master.dispose()
    keys = [f"{r['source']}/{r['record_id']}" for r in new_recs]
    keys_file.write_text(json.dumps(keys))
    tmp.replace(pending)
    return pending, keys


def run(
    n_master: int, n_new: int, seed: int, keep: bool, reuse: bool, code: Path | None
) -> dict[str, Any]:
    """One timed `crmhub match` on a fresh copy of the prepared master, and its quality."""
    pending, new_keys = prepare(n_master, n_new, seed, reuse)
    work = CACHE / f"incremental-run-{n_master}-{n_new}-{seed}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copy(pending, work / "master.db")
    shutil.copy(pending.parent / "crmhub.yml", work / "crmhub.yml")
    truth, _, _ = load_chunks(n_master + n_new, seed, 0.0)
    env = dict(os.environ)
    if code is not None:
        # Another checkout's packages ahead of this one's editable install (which Python
        # consults after PYTHONPATH), for old/new comparisons on the same prepared master.
        env["PYTHONPATH"] = os.pathsep.join([str(code), str(code / "dedupe")])
    # The schema as the crmhub that runs left it after its previous run: a migration the
    # prepared copy predates is a one-time step, not the incremental run's work.
    migrate = "import sys; from crmhub.store import open_master; open_master(sys.argv[1]).dispose()"
    url = f"sqlite:///{work / 'master.db'}"
    # (from the run's folder: ``-c`` puts the working directory, maybe this checkout, first)
    subprocess.run([sys.executable, "-c", migrate, url], check=True, env=env, cwd=work)
    # The copy just written is gigabytes of dirty page cache; flushed now, the kernel's
    # writeback of it does not run inside the timed match (a master is not a file written
    # a second ago; without this the match's system time swung between 1.9 and 3.5 s).
    os.sync()

    # --- timed: one `crmhub match` process ------------------------------------------------
    load_start = load_avg()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic()
    proc = subprocess.run(
        [CRMHUB, "-p", str(work), "match", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    seconds = time.monotonic() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"crmhub match failed with exit code {proc.returncode}")
    summary = json.loads(proc.stdout)
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime

    # --- quality over pairs that involve a new record ----------------------------------------
    with sqlite3.connect(work / "master.db") as conn:
        final = {
            f"{source}/{key}": master_id
            for source, key, master_id in conn.execute(
                "SELECT s.source, s.source_key, x.master_id FROM xref x "
                "JOIN source_record s ON s.id = x.source_record_id"
            )
        }
    truth_of = {k: truth[k.split("/", 1)[1]] for k in final}
    new_ids = set(new_keys)
    predicted = Counter(final.values())
    predicted_new = Counter(final[r] for r in new_ids)
    true_groups = Counter(truth_of.values())
    true_new = Counter(truth_of[r] for r in new_ids)
    cells = Counter((final[r], truth_of[r]) for r in final)
    cells_new = Counter((final[r], truth_of[r]) for r in new_ids)
    tp = pairs_with_new(cells, cells_new)
    n_pred = pairs_with_new(predicted, predicted_new)
    n_true = pairs_with_new(true_groups, true_new)
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_true if n_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    if not keep:
        shutil.rmtree(work)
    return {
        "code": str(code or ROOT),
        "master_records": n_master,
        "new_records": len(new_keys),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(user + system, 2),
        "user_sys_seconds": [round(user, 2), round(system, 2)],
        "records_per_s": round(len(new_keys) / seconds),
        "peak_rss_gib": round(after.ru_maxrss / 2**20, 2),
        "index": summary["index"],
        "changed": summary["changed"],
        "golden_created": summary["golden_created"],
        "golden_updated": summary["golden_updated"],
        "masters_merged": summary["masters_merged"],
        "candidates": summary["candidates"],
        "precision_new_pairs": round(precision, 4),
        "recall_new_pairs": round(recall, 4),
        "f1_new_pairs": round(f1, 4),
        "true_pairs_with_new": n_true,
        "load_at_start": load_start,
        "load_at_end": load_avg(),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--master", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the last run's master copy")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="take the prepared copy (previous match run, new records pending) an earlier run "
        "kept instead of preparing it again: each repetition is a copy and the timed match",
    )
    parser.add_argument("--repeat", type=int, default=1, help="timed runs, each on a fresh copy")
    parser.add_argument(
        "--code",
        type=Path,
        default=None,
        help="run the crmhub of this checkout (e.g. an older commit's `git archive`) instead",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.code is not None and not (args.code / "crmhub" / "__init__.py").is_file():
        parser.error(f"--code {args.code}: no crmhub package there")
    code = args.code.resolve() if args.code is not None else None
    for k in range(args.repeat):
        out = run(args.master, args.new, args.seed, args.keep, args.reuse or k > 0, code)
        if args.json:
            print(json.dumps(out), flush=True)
            continue
        for key, value in out.items():
            print(f"{key:<22} {value}")
        print(flush=True)


if __name__ == "__main__":
    main()
