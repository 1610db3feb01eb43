"""Publish results a killed run never recorded: read them into the ledger before publishing.

``crmhub publish`` reads the target's results file from where this run started writing, after
the pipe ends. If the hub is killed while the target works, the records the target accepted
are in the results file but not in the ledger, and would be sent again. Sync keeps, per
target, the byte offset of the results file up to which the ledger is known to be complete
(scope ``sync-results`` in ``state``) and replays anything after it first. Replaying a line
twice is harmless: the ledger keeps the last outcome per record.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from crmhub.publish.ledger import record_outcomes
from crmhub.publish.results import file_size, read_outcomes
from crmhub.store import Master
from crmhub.store.models import State
from crmhub.store.types import utcnow

SCOPE = "sync-results"


def _offset_row(s: Session, target: str) -> State | None:
    return s.scalar(select(State).where(State.scope == SCOPE, State.name == target))


def save_offset(master: Master, target: str, results: Path, run_id: int) -> None:
    """The ledger now holds everything in ``results``: remember its size."""
    size = file_size(results)
    with master.session() as s:
        row = _offset_row(s, target)
        if row is None:
            s.add(State(scope=SCOPE, name=target, key="", value={"offset": size}, run_id=run_id))
        else:
            row.value = {"offset": size}
            row.updated_at = utcnow()
            row.run_id = run_id


def replay_unrecorded(master: Master, target: str, results: Path, run_id: int) -> int:
    """Record outcomes written after the saved offset; return how many were replayed.

    Without a saved offset (first sync of this target) nothing is replayed: every earlier
    run was a finished `crmhub publish`, which recorded its own lines.
    """
    with master.session() as s:
        row = _offset_row(s, target)
        offset = None if row is None else int((row.value or {}).get("offset", 0))
    if offset is None:
        save_offset(master, target, results, run_id)
        return 0
    if file_size(results) < offset:
        offset = 0  # the file was replaced or truncated by hand: replay it whole
    outcomes, _unreadable = read_outcomes(results, offset)
    if outcomes:
        with master.session() as s:
            record_outcomes(s, target, outcomes, run_id)
    save_offset(master, target, results, run_id)
    return len(outcomes)
