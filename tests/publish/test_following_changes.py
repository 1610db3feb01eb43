"""tap-crmhub following changes: checking only the golden records stamped since the last
publish (and their dependents) must send exactly what checking every record sends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from crmhub.publish.changes import changed_customers, changed_since, margin
from crmhub.publish.ledger import load_ledger
from crmhub.publish.records import customer_records, redirects_of, should_send
from crmhub.runs import recorded_run
from crmhub.store import Master, open_master
from crmhub.store.models import GoldenRecord, PublishRecord, Run
from crmhub.store.types import utcnow

TARGET = "crm"
LONG_AGO = utcnow() - timedelta(days=3)


def _person(i: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "person", "given_name": f"Given{i}", "family_name": f"Family{i}", **extra}


def _organization(master_id: str, name: str) -> GoldenRecord:
    return GoldenRecord(
        master_id=master_id,
        kind="organization",
        data={"kind": "organization", "organization_name": name},
    )


@pytest.fixture
def master(tmp_path: Path) -> Master:
    """200 people, 10 organizations (people 0-49 name one), a merged chain A -> B, all
    published and accepted by TARGET long ago."""
    m = open_master(f"sqlite:///{tmp_path / 'master.db'}")
    with m.session() as s:
        for i in range(10):
            s.add(_organization(f"M-ORG{i}", f"Org {i}"))
        for i in range(200):
            data = _person(i, organization_master_id=f"M-ORG{i % 10}") if i < 50 else _person(i)
            s.add(GoldenRecord(master_id=f"M-P{i:03d}", kind="person", data=data))
        s.add(
            GoldenRecord(
                master_id="M-A",
                kind="person",
                data=_person(900),
                status="merged",
                merged_into="M-B",
            )
        )
        s.add(GoldenRecord(master_id="M-B", kind="person", data=_person(901)))
        s.flush()
        s.execute(update(GoldenRecord).values(updated_at=LONG_AGO))
        for record in customer_records(s):
            s.add(
                PublishRecord(
                    target=TARGET,
                    stream="customers",
                    record_key=record["master_id"],
                    content_hash=record["content_hash"],
                    status="accepted",
                    remote_id=f"r-{record['master_id']}",
                )
            )
    return m


def _sent_checking_everything(s: Any) -> dict[str, str]:
    ledger = load_ledger(s, TARGET, "customers")
    return {
        r["master_id"]: r["content_hash"]
        for r in customer_records(s)
        if should_send(r, ledger.get(r["master_id"]), only_changed=True)
    }


def _sent_following_changes(s: Any, since: Any) -> dict[str, str] | None:
    plan = changed_customers(s, TARGET, since, redirects_of(s))
    if plan is None:
        return None
    return {
        r["master_id"]: r["content_hash"]
        for r in customer_records(s, plan.master_ids, plan.redirects)
        if should_send(r, plan.ledger.get(r["master_id"]), only_changed=True)
    }


def _merged_long_ago(s: Any, loser: str, survivor: str) -> None:
    """``loser`` merged into ``survivor`` before the last publish, which the target accepted."""
    s.execute(
        update(GoldenRecord)
        .where(GoldenRecord.master_id == loser)
        .values(status="merged", merged_into=survivor)
    )
    s.flush()
    for record in customer_records(s):
        s.execute(
            update(PublishRecord)
            .where(PublishRecord.record_key == record["master_id"])
            .values(content_hash=record["content_hash"])
        )


def _stamp(s: Any, master_id: str, **values: Any) -> None:
    s.execute(
        update(GoldenRecord)
        .where(GoldenRecord.master_id == master_id)
        .values(updated_at=utcnow(), **values)
    )


def test_nothing_changed_checks_nothing_and_sends_nothing(master: Master) -> None:
    since = utcnow() - timedelta(minutes=1)
    with master.session() as s:
        plan = changed_customers(s, TARGET, since, redirects_of(s))
        assert plan is not None and plan.master_ids == [] and plan.golden_total == 212
        assert _sent_checking_everything(s) == {}


def test_changes_merges_and_organization_moves_send_what_a_full_check_sends(
    master: Master,
) -> None:
    since = utcnow() - timedelta(minutes=1)
    with master.session() as s:
        # a plain change, a change that leaves the sent content alone (stamped only), a new
        # golden record, a retirement
        _stamp(s, "M-P100", data=_person(100, emails=["new@example.com"]))
        _stamp(s, "M-P101")
        s.add(GoldenRecord(master_id="M-NEW", kind="person", data=_person(999)))
        _stamp(s, "M-P102", status="retired")
        # B merges into C: A (merged into B long ago, not stamped) now points at C
        _stamp(s, "M-B", status="merged", merged_into="M-P150")
        # organization 3 merges into organization 4: people naming ORG3 (not stamped) now
        # name ORG4
        _stamp(s, "M-ORG3", status="merged", merged_into="M-ORG4")
        # failed last time: on the retry list even though unchanged
        s.execute(
            update(PublishRecord)
            .where(PublishRecord.record_key == "M-P160")
            .values(status="failed")
        )
        s.flush()
        expected = _sent_checking_everything(s)
        following = _sent_following_changes(s, since)
    assert following == expected
    assert {"M-P100", "M-NEW", "M-P102", "M-B", "M-A", "M-ORG3", "M-P160"} <= set(expected)
    assert {"M-P003", "M-P013", "M-P043"} <= set(expected)  # people of organization 3
    assert "M-P101" not in expected  # stamped, same content: checked, not sent
    assert "M-P004" not in expected  # organization 4's own people did not change


def test_a_golden_record_missing_from_the_ledger_means_checking_everything(
    master: Master,
) -> None:
    since = utcnow() - timedelta(minutes=1)
    with master.session() as s:
        # the target never reported M-P007 (nor accepted, nor failed): only a full check
        # finds it, so following changes must refuse to decide
        s.execute(delete(PublishRecord).where(PublishRecord.record_key == "M-P007"))
        _stamp(s, "M-P008", data=_person(8, emails=["x@example.com"]))
        s.flush()
        assert _sent_following_changes(s, since) is None
        assert set(_sent_checking_everything(s)) == {"M-P007", "M-P008"}


def test_an_organization_merged_back_apart_is_followed(master: Master) -> None:
    since = utcnow() - timedelta(minutes=1)
    with master.session() as s:
        # ORG5 was merged into ORG6 when the target last accepted its people...
        _merged_long_ago(s, "M-ORG5", "M-ORG6")
        # ...and a steward undid that merge since
        _stamp(s, "M-ORG5", status="active", merged_into=None)
        s.flush()
        expected = _sent_checking_everything(s)
        assert _sent_following_changes(s, since) == expected
    assert {"M-ORG5", "M-P005", "M-P015"} <= set(expected)


def test_too_many_organizations_changed_means_checking_everything(master: Master) -> None:
    since = utcnow() - timedelta(minutes=1)
    with master.session() as s:
        for i in range(201):
            s.add(_organization(f"M-NEWORG{i}", f"New {i}"))
        s.flush()
        assert _sent_following_changes(s, since) is None
        assert len(_sent_checking_everything(s)) == 201


def test_publish_hands_the_tap_the_last_publish_start(master: Master) -> None:
    assert changed_since(master, TARGET) is None  # never published: check everything
    with recorded_run(master, "publish", target=TARGET, args={"dry_run": True}):
        pass
    assert changed_since(master, TARGET) is None  # a dry run accepted nothing
    with recorded_run(master, "publish", target=TARGET, args={"dry_run": False}) as run:
        run_id = run.id
    with master.session() as s:
        start = s.scalars(select(Run.started_at).where(Run.id == run_id)).one()
    assert changed_since(master, TARGET) == start - margin(master) == start - timedelta(seconds=30)
    assert changed_since(master, "elsewhere") is None


def test_people_naming_a_merged_away_organization_follow_its_survivor(master: Master) -> None:
    since = utcnow() - timedelta(minutes=1)
    with master.session() as s:
        # ORG7 was merged into ORG8 long ago (the target accepted that); now ORG8 merges into
        # ORG9: people naming ORG7, neither of them stamped, must now name ORG9
        _merged_long_ago(s, "M-ORG7", "M-ORG8")
        _stamp(s, "M-ORG8", status="merged", merged_into="M-ORG9")
        s.flush()
        expected = _sent_checking_everything(s)
        assert _sent_following_changes(s, since) == expected
    assert {"M-ORG7", "M-ORG8", "M-P007", "M-P017", "M-P008"} <= set(expected)
