"""SIGKILL `crmhub sync` at several points, re-run it, and compare with an uninterrupted run.

Kill points, one chain in one project (each re-run resumes what the killed one left):
during the tap's output (mid-batch: STATE every 3 records, batches of 100 rows are cut
short), during the match transaction, and during publish (after the target wrote results,
before or while the hub records them). Then one uninterrupted run. The master and the CRM
must equal those of a project synced once without interruption, and no record may have been
created twice in the CRM.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sync_project import SyncProject, people

CRMHUB = str(Path(sys.executable).parent / "crmhub")


def _kill_when(project: SyncProject, ready: Callable[[], bool], timeout_s: float = 120) -> str:
    """Start `crmhub sync` as a process group; SIGKILL it all once ``ready()``; its state."""
    proc = subprocess.Popen(
        [CRMHUB, "-p", str(project.root), "sync"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return "finished before the kill point"
            if ready():
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return "killed"
            time.sleep(0.02)
        raise AssertionError("kill point never reached")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _latest(project: SyncProject, kind: str) -> str | None:
    db = project.root / "master.db"
    if not db.exists():
        return None
    try:
        with sqlite3.connect(db, timeout=0.05) as conn:
            row = conn.execute(
                "SELECT status FROM run WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)
            ).fetchone()
    except sqlite3.OperationalError:  # locked or not created yet
        return None
    return None if row is None else str(row[0])


def _crm(project: SyncProject) -> list[tuple[Any, ...]]:
    with sqlite3.connect(project.root / "crm.db") as conn:
        rows = conn.execute(
            "SELECT given_name, family_name, email, version, crmhub_archived FROM customers"
        ).fetchall()
    return sorted(rows, key=repr)


def _clusters(project: SyncProject) -> list[tuple[str, ...]]:
    rows = project.query(
        "SELECT x.master_id, s.source || '/' || s.source_key FROM xref x "
        "JOIN source_record s ON s.id = x.source_record_id"
    )
    groups: dict[str, list[str]] = {}
    for master_id, key in rows:
        groups.setdefault(master_id, []).append(key)
    return sorted(tuple(sorted(g)) for g in groups.values())


def _state(project: SyncProject) -> dict[str, Any]:
    return {
        "records": sorted(
            project.query("SELECT source, source_key, content_hash, deleted FROM source_record")
        ),
        "golden": sorted(project.query("SELECT status, version FROM golden_record")),
        "clusters": _clusters(project),
        "crm": _crm(project),
    }


def _setup(root: Path, rows: list[dict[str, str]], delay: float) -> SyncProject:
    root.mkdir()
    project = SyncProject(root)
    project.sources = {"shop": rows}
    project.state_every = 3
    project.tap_options["shop"] = {"delay": delay, "progress": str(root / "progress")}
    project.write()
    return project


def test_sync_killed_anywhere_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    rows = people(30)
    reference = _setup(tmp_path / "reference", rows, 0.0)
    assert reference.sync()["status"] == "succeeded"

    project = _setup(tmp_path / "crashed", rows, 0.04)
    progress = project.root / "progress"
    results = project.root / ".crmhub" / "publish" / "crm" / "results.jsonl"
    happened = [
        # 1. while the tap is writing records (some batches committed with their STATE)
        _kill_when(project, lambda: progress.exists() and progress.stat().st_size >= 14),
        # 2. in the match transaction
        _kill_when(project, lambda: _latest(project, "match") == "running"),
        # 3. while publishing, once the target has confirmed records
        _kill_when(project, lambda: results.exists() and results.stat().st_size > 0),
    ]
    assert happened == ["killed"] * 3, happened
    final = project.sync()
    assert final["status"] == "succeeded"
    assert [s for (s,) in project.query("SELECT status FROM run WHERE kind = 'sync'")][-1] == (
        "succeeded"
    )

    assert _state(project) == _state(reference), happened
    creates = Counter(key for _, key, action in project.pushes() if action == "create")
    assert len(creates) == 30 and set(creates.values()) == {1}, creates
    # the killed runs are in the history, marked failed (not left "running")
    statuses = Counter(s for (s,) in project.query("SELECT status FROM run WHERE kind = 'sync'"))
    assert statuses["running"] == 0 and statuses["failed"] >= 2, statuses
