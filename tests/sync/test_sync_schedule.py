"""Schedules: validation, `crmhub schedule show` (crontab, systemd), the serve scheduler."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sync_project import SyncProject

from crmhub.config import load_project
from crmhub.config.model import ScheduleConfig
from crmhub.store import open_master
from crmhub.sync.cron import next_fire
from crmhub.sync.scheduler import Scheduler, default_runner, schedule_status
from crmhub.sync.units import on_calendar


@pytest.mark.parametrize(
    ("cron", "calendar"),
    [
        ("30 2 * * *", "*-*-* 2:30:00"),
        ("*/15 * * * *", "*-*-* *:0/15:00"),
        ("0 6 * * 1-5", "Mon..Fri *-*-* 6:0:00"),
        ("0 0 1 */3 *", "*-1/3-1 0:0:00"),
        ("5 4 * * 0", "Sun *-*-* 4:5:00"),
    ],
)
def test_cron_to_systemd_calendar(cron: str, calendar: str) -> None:
    assert on_calendar(cron) == calendar


def test_bad_cron_is_a_clear_config_error(project: SyncProject) -> None:
    project.extra["schedules"] = {"nightly": {"cron": "61 2 * *"}}
    project.write()
    result = project.cli("schedule", "show")
    assert result.exit_code == 78
    assert "schedules.nightly.cron" in result.output and "5 fields" in result.output


def test_schedule_show_prints_crontab_and_systemd_units(project: SyncProject) -> None:
    project.extra["schedules"] = {
        "nightly": {"cron": "30 2 * * *"},
        "hourly-shop": {"cron": "0 * * * *", "sources": ["shop"], "targets": ["crm"]},
        "off": {"cron": "0 3 * * *", "enabled": False},
    }
    project.write()
    result = project.cli("schedule", "show")
    assert result.exit_code == 0, result.output
    out = result.output
    file = str((project.root / "crmhub.yml").resolve())
    assert f"30 2 * * * crmhub --project {file} sync --wait" in out
    assert f"0 * * * * crmhub --project {file} sync --source shop --target crm --wait" in out
    assert "OnCalendar=*-*-* 2:30:00" in out
    assert "# /etc/systemd/system/crmhub-synctest-nightly.timer" in out
    assert f"ExecStart=crmhub --project {file} sync --wait" in out
    assert "off" not in out.split("systemctl")[0].replace("Description", "")


def test_scheduler_fires_due_schedules_and_status_shows_next_and_last(
    project: SyncProject,
) -> None:
    project.targets = {}
    project.extra["schedules"] = {"nightly": {"cron": "30 2 * * *"}}
    project.write()
    loaded = load_project(project.root)
    master = open_master(loaded.master_url())
    now = [datetime(2026, 3, 1, 2, 0, tzinfo=UTC)]
    fired: list[str] = []
    run_sync_now = default_runner(loaded, master)

    def runner(name: str, schedule: ScheduleConfig) -> None:
        fired.append(name)
        run_sync_now(name, schedule)

    try:
        scheduler = Scheduler(loaded, runner, clock=lambda: now[0])
        assert scheduler.tick() == []
        now[0] += timedelta(minutes=31)
        assert scheduler.tick() == ["nightly"]
        assert scheduler.tick() == []  # the next one is tomorrow
        assert scheduler.due["nightly"] == datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
        assert fired == ["nightly"]
        status = schedule_status(loaded, master, now=now[0])
    finally:
        master.dispose()
    assert status[0].next_run == next_fire("30 2 * * *", now[0])
    assert status[0].last_run is not None and status[0].last_run["status"] == "succeeded"
    assert project.query("SELECT count(*) FROM source_record") == [(6,)]
    result = project.cli("schedule", "show", "--json")
    shown = json.loads(result.stdout)
    assert shown[0]["name"] == "nightly" and shown[0]["last_run"]["run_id"] >= 1
