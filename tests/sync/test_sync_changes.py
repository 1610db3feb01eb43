"""Whether a target has anything to receive, asked of a real master (crmhub.sync.changes)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from crmhub.store import Master, open_master
from crmhub.store.models import GoldenRecord, PublishRecord, Run
from crmhub.store.types import utcnow
from crmhub.sync.changes import publish_reason


def _published_master(tmp_path: Path) -> Master:
    """Two golden records, both accepted by `crm` and `files` in a publish run after them."""
    master = open_master(f"sqlite:///{tmp_path / 'master.db'}")
    earlier = utcnow() - timedelta(minutes=5)
    with master.session() as s:
        for key in ("M-1", "M-2"):
            s.add(GoldenRecord(master_id=key, data={}, created_at=earlier, updated_at=earlier))
        for target in ("crm", "files"):
            s.add(Run(kind="publish", target=target, status="succeeded", started_at=utcnow()))
            for key in ("M-1", "M-2"):
                s.add(
                    PublishRecord(
                        target=target, stream="customers", record_key=key, status="accepted"
                    )
                )
    return master


def _set_status(master: Master, target: str, key: str, status: str) -> None:
    with master.session() as s:
        row = s.query(PublishRecord).filter_by(target=target, record_key=key).one()
        row.status = status


def test_a_target_with_everything_accepted_has_nothing_to_receive(tmp_path: Path) -> None:
    master = _published_master(tmp_path)
    assert publish_reason(master, "crm") is None
    assert publish_reason(master, "elsewhere") == "never published"


def test_records_not_accepted_by_this_target_are_its_retry_list(tmp_path: Path) -> None:
    master = _published_master(tmp_path)
    _set_status(master, "files", "M-1", "failed")
    assert publish_reason(master, "crm") is None  # another target's failure is not ours
    assert publish_reason(master, "files") == "1 records on the retry list"
    # any status other than accepted counts, sorting before or after "accepted"
    _set_status(master, "crm", "M-1", "aborted")
    _set_status(master, "crm", "M-2", "pending")
    assert publish_reason(master, "crm") == "2 records on the retry list"


def test_a_golden_record_changed_since_the_last_publish_is_due(tmp_path: Path) -> None:
    master = _published_master(tmp_path)
    with master.session() as s:
        s.query(GoldenRecord).filter_by(master_id="M-2").one().updated_at = utcnow()
    assert publish_reason(master, "crm") == "1 golden records changed"
