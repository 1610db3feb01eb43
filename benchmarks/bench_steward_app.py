"""Steward app response times on a big master (issue 7's figures).

    .venv/bin/python benchmarks/bench_steward_app.py [--golden 1000000] [--candidates 100000]

Builds (once, cached under .bench/) a SQLite master with N golden records (three sources,
Dutch, German and Indian names, some in Devanagari), their source records and xref, M pending
match candidates and the golden records' search keys, with bulk inserts; then times the queue
page (both sorts, each filter, a deep page), a candidate page and searches by name, email,
phone and master id through the real app in-process (Starlette TestClient, HTML responses),
50 requests each, and prints p50/p95 in milliseconds with the CPU time per request and the
machine's load average (other processes share the cores; a figure at load 8 understates the
code).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"


def build(folder: Path, golden: int, candidates: int) -> None:
    from crmhub.store import open_master

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "crmhub.yml").write_text("version: 1\nmaster: {url: 'sqlite:///master.db'}\n")
    open_master(f"sqlite:///{folder / 'master.db'}").dispose()
    rnd = random.Random(3)
    given = [
        "Jan",
        "Anna",
        "Pieter",
        "Sanne",
        "Klaus",
        "Jürgen",
        "Rahul",
        "Priya",
        "Oliver",
        "Emma",
        "राहुल",
    ]
    family = ["de Vries", "Jansen", "Müller", "Schmidt", "Sharma", "Patel", "Smith", "Bakker"]
    family += [f"Family{n:05d}" for n in range(20_000)]  # a long tail, like real surnames
    sources = ["erp", "erp", "erp", "shop", "shop", "legacy"]
    conn = sqlite3.connect(folder / "master.db")
    now = "2026-11-25 00:00:00.000000"
    records, golds, xrefs = [], [], []
    for i in range(1, golden + 1):
        data = {
            "kind": "person",
            "given_name": rnd.choice(given),
            "family_name": rnd.choice(family[:8]) if rnd.random() < 0.5 else rnd.choice(family),
            "emails": [f"person{i}@example.com"],
            "phones": [f"+3161{i:07d}"],
            "addresses": [
                {"city": "Utrecht", "postal_code": f"{1000 + i % 9000} AB", "country": "NL"}
            ],
        }
        text = json.dumps(data, ensure_ascii=False)
        records.append(
            (
                i,
                sources[i % len(sources)],
                "customers",
                str(i),
                "customer",
                text,
                text,
                f"{i:032x}",
                "ok",
                "matched",
                0,
                now,
                now,
            )
        )
        golds.append(
            (i, f"M{i:015X}", "person", text, "{}", "{}", "[]", f"{i:032x}", 1, "active", now, now)
        )
        xrefs.append((i, i, f"M{i:015X}", "auto", now))
    conn.executemany(
        "INSERT INTO source_record (id, source, stream, source_key, entity, payload, canonical, content_hash, status, match_state, deleted, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        records,
    )
    conn.executemany(
        "INSERT INTO golden_record (id, master_id, kind, data, provenance, overrides, flags, content_hash, version, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        golds,
    )
    conn.executemany(
        "INSERT INTO xref (id, source_record_id, master_id, method, matched_at) VALUES (?,?,?,?,?)",
        xrefs,
    )
    explanation = json.dumps([{"comparison": "email", "label": "email exact", "weight": 9.1}])
    cands = []
    for k in range(1, candidates + 1):
        a = rnd.randint(1, golden - 1)
        cands.append(
            (
                k,
                a,
                a + 1,
                f"M{a:015X}",
                f"M{a + 1:015X}",
                rnd.random(),
                1.0,
                explanation,
                "pending",
                1,
                now,
            )
        )
    conn.executemany(
        "INSERT OR IGNORE INTO match_candidate (id, left_record_id, right_record_id, left_master_id, right_master_id, score, match_weight, comparison, status, version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        cands,
    )
    columns = {row[1] for row in conn.execute("PRAGMA table_info(match_candidate)")}
    if "left_source" in columns:  # what the ORM insert hook fills for the match stage
        conn.execute(
            "UPDATE match_candidate SET "
            "left_source = (SELECT source FROM source_record WHERE id = left_record_id), "
            "right_source = (SELECT source FROM source_record WHERE id = right_record_id)"
        )
    conn.commit()
    conn.close()
    try:
        from crmhub.store.search_keys import fill_search_keys
    except ImportError:  # the code before the search keys (for before/after figures)
        return
    master = open_master(f"sqlite:///{folder / 'master.db'}")
    with master.engine.begin() as connection:
        fill_search_keys(connection)
    master.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--golden", type=int, default=1_000_000)
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50, help="requests per page")
    parser.add_argument("--only", default="", help="time only pages whose label has this")
    args = parser.parse_args()
    folder = BENCH / f"steward-{args.golden}-{args.candidates}"
    if not (folder / "master.db").exists():
        started = time.perf_counter()
        build(folder, args.golden, args.candidates)
        print(f"built the master in {time.perf_counter() - started:.0f} s")
    from starlette.testclient import TestClient

    from crmhub.config import load_project
    from crmhub.store import open_master
    from crmhub.store.models import AppUser
    from crmhub.web.app import create_app
    from crmhub.web.users import add_user

    project = load_project(folder)
    master = open_master(project.master_url())
    with master.session() as s:
        if s.query(AppUser).count() == 0:
            add_user(s, "bench", "benchmark-password", "viewer", actor="bench")
    client = TestClient(create_app(project, master))
    client.post("/login", data={"username": "bench", "password": "benchmark-password"})

    def timed(path: str, n: int = args.requests) -> tuple[float, float, float]:
        times = []
        client.get(path)  # warm: the first request of a page pays for template compilation
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        for _ in range(n):
            t = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu_ms = (after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime) * 1000 / n
        times.sort()
        return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], cpu_ms

    import os

    with sqlite3.connect(folder / "master.db") as conn:
        middle = conn.execute(
            "SELECT id FROM match_candidate ORDER BY id LIMIT 1 OFFSET (SELECT count(*) / 2 FROM match_candidate)"
        ).fetchone()[0]
    print(f"machine: {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
    print(
        f"master: {args.golden:,} golden records, {args.candidates:,} pending candidates (SQLite)"
    )
    half = args.golden // 2
    for label, path in [
        ("queue page", "/queue"),
        ("queue page 40 (deep)", "/queue?page=40"),
        ("queue by score", "/queue?sort=score"),
        ("queue source=legacy", "/queue?source=legacy"),
        ("queue score 0.9-1", "/queue?min_score=0.9&max_score=1"),
        ("queue approved", "/queue?status=approved"),
        ("queue all statuses", "/queue?status=all"),
        ("candidate page", f"/candidates/{middle}"),
        ("search by email", f"/search?q=person{half}@example.com"),
        ("search email prefix", f"/search?q=person{half // 10}"),
        ("search by phone", f"/search?q=061{half:07d}"),
        ("search name muller", "/search?q=muller"),
        ("search name 2 words", "/search?q=anna%20mueller"),
        ("search rare name", "/search?q=family01234"),
        ("search Devanagari", "/search?q=राहुल"),
        ("search by master id", f"/search?q=M{args.golden // 3:015X}"),
    ]:
        if args.only not in label:
            continue
        p50, p95, cpu_ms = timed(path)
        print(
            f"{label:22} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   cpu {cpu_ms:6.1f} ms/request"
            f"   load {os.getloadavg()[0]:.2f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
