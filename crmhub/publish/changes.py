"""Which golden records a publish must look at: those that may differ from what the target
accepted, instead of every golden record of the master.

Building and hashing a `customers` record costs about 30 µs; a publish that rebuilt the
whole master to find the 1% that changed spent half a minute of CPU per million golden
records. The hub therefore hands tap-crmhub the start of the target's last successful
publish (``changed_since``) and the tap checks only:

- golden records stamped (``updated_at``) since then: every writer of a golden record stamps
  it (match, recompute, steward actions, reconcile), which `crmhub sync` already relies on to
  skip an idle publish;
- the target's retry list (records it failed to accept);
- records whose *sent* form changed without their row changing: a merged-away master whose
  chain of ``merged_into`` passes through a master stamped since (its survivor moved), and a
  record naming a stamped organization, or such a merged-away master, as its
  ``organization_master_id``.

Nothing is assumed beyond that: when the ledger holds fewer entries than the master holds
golden records, minus the never-sent ones among those checked, some golden record was never
accepted nor refused (a target that dropped a record, a ledger edited by hand), and the tap
falls back to building everything, as it does when asked for a full publish, on a first
publish, or when too many organizations changed for the targeted lookup to pay.

Only writers outside the project's run lock can commit a change stamped *before* a publish
started but after its tap read the master: the steward app. The window is widened by
``margin``; what it adds is checked against the ledger's hash and not sent unless changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Text, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from crmhub.match.among import among, among_chunks
from crmhub.publish.ledger import load_ledger
from crmhub.publish.records import LedgerEntry
from crmhub.store import Master
from crmhub.store.models import GoldenRecord, PublishRecord, Run

# How long before a publish started a steward's change may have been stamped and still be
# committed after tap-crmhub read the master: a steward action stamps its golden records,
# then may wait for SQLite's write lock (the master's busy timeout) before it commits; the
# rest covers the action's own work and clocks read a little apart. Runs that hold the
# project's run lock (match, ingest) commit before a publish can start: no margin needed.
SLACK = timedelta(seconds=20)


def margin(master: Master) -> timedelta:
    """How far before the last publish's start changes are looked for."""
    return timedelta(seconds=master.busy_timeout_s) + SLACK


# Organizations stamped since the last publish are looked up in every golden record's data
# (one pattern each); past this many a full build costs less than the patterns.
MAX_ORGANIZATION_LOOKUPS = 200


def last_publish(master: Master, target: str) -> Run | None:
    """The target's last successful publish run that was not a dry run."""
    with master.session() as s:
        for run in s.scalars(
            select(Run)
            .where(Run.kind == "publish", Run.target == target, Run.status == "succeeded")
            .order_by(Run.id.desc())
            .limit(50)
        ):
            if not (run.args or {}).get("dry_run"):
                return run
    return None


def changed_since(master: Master, target: str) -> datetime | None:
    """Since when tap-crmhub must look for changes for ``target`` (None: everything)."""
    last = last_publish(master, target)
    return None if last is None else last.started_at - margin(master)


def not_accepted_count(s: Session, target: str) -> int:
    """How many of ``target``'s records are on its retry list (any stream)."""
    return int(s.scalar(select(func.count()).where(_not_accepted(target))) or 0)


def _not_accepted(target: str) -> ColumnElement[bool]:
    # Records not accepted are few: reached through the status index, as two ranges around
    # "accepted" (an index cannot serve "!="), with the target kept out of the index choice
    # (``target || ''``). Given ``target = ?`` SQLite, which keeps no statistics, walks the
    # target's whole ledger and reads every row for its status.
    status = PublishRecord.status
    return ((status < "accepted") | (status > "accepted")) & (PublishRecord.target + "" == target)


@dataclass
class ChangedCustomers:
    """The golden records to check, and the ledger entries of those that have one."""

    master_ids: list[str]
    ledger: dict[str, LedgerEntry]
    redirects: Mapping[str, str]
    golden_total: int


def changed_customers(
    s: Session, target: str, since: datetime, redirects: Mapping[str, str]
) -> ChangedCustomers | None:
    """The `customers` records that may differ from what ``target`` accepted, or None when
    only a full build can tell (see the module's description)."""
    golden = GoldenRecord
    stamped: dict[str, str | None] = {}
    for master_id, kind, data in s.execute(
        select(golden.master_id, golden.kind, golden.data).where(golden.updated_at >= since)
    ):
        stamped[master_id] = kind or (data or {}).get("kind")
    keys = set(stamped)
    keys.update(
        s.scalars(
            select(PublishRecord.record_key).where(
                _not_accepted(target), PublishRecord.stream == "customers"
            )
        )
    )
    moved = _moved_losers(redirects, stamped)
    keys.update(moved)
    # An organization's id is written into its people's data; one that changed, or a
    # merged-away organization whose survivor moved, changes the `organization_master_id`
    # sent. Only organizations are named so; people are the bulk of merges.
    named = [m for m, kind in stamped.items() if kind == "organization"]
    named += _organizations(s, sorted(moved - set(stamped)))
    if len(named) > MAX_ORGANIZATION_LOOKUPS:
        return None
    if named:
        data = type_coerce(golden.data, Text)
        for start in range(0, len(named), 50):
            patterns = [data.contains(f'"{m}"', autoescape=True) for m in named[start : start + 50]]
            keys.update(s.scalars(select(golden.master_id).where(or_(*patterns))))
    ordered = sorted(keys)
    ledger = load_ledger(s, target, "customers", ordered)
    golden_total = int(s.scalar(select(func.count()).select_from(golden)) or 0)
    ledger_total = int(
        s.scalar(
            select(func.count()).where(
                PublishRecord.target == target, PublishRecord.stream == "customers"
            )
        )
        or 0
    )
    never_sent = sum(1 for key in ordered if key not in ledger)
    if golden_total - ledger_total != never_sent:
        return None
    return ChangedCustomers(ordered, ledger, redirects, golden_total)


def _organizations(s: Session, master_ids: list[str]) -> list[str]:
    """Those of ``master_ids`` that are organizations."""
    found: list[str] = []
    golden = GoldenRecord
    for chunk in among_chunks(s, master_ids):
        for master_id, kind, data in s.execute(
            select(golden.master_id, golden.kind, golden.data).where(
                among(s, golden.master_id, chunk)
            )
        ):
            if (kind or (data or {}).get("kind")) == "organization":
                found.append(master_id)
    return found


def _moved_losers(redirects: Mapping[str, str], stamped: Mapping[str, object]) -> set[str]:
    """Merged-away masters whose chain to their survivor passes through a stamped master."""
    moved: set[str] = set()
    for loser in redirects:
        node, seen = loser, {loser}
        while node in redirects:
            node = redirects[node]
            if node in stamped:
                moved.add(loser)
                break
            if node in seen:
                break
            seen.add(node)
    return moved
