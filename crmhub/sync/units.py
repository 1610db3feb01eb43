"""Host scheduling: crontab lines and systemd service/timer units equal to ``schedules``."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from crmhub.config.model import ScheduleConfig

_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


def command_line(project_file: Path, schedule: ScheduleConfig, executable: str = "crmhub") -> str:
    """The crmhub command a schedule runs (``--wait`` so an overlap queues, not fails)."""
    parts = [executable, "--project", str(project_file), schedule.command]
    if schedule.command == "sync":
        parts += [x for s in schedule.sources for x in ("--source", s)]
        parts += [x for t in schedule.targets for x in ("--target", t)]
    elif schedule.command == "ingest":
        parts += schedule.sources
    elif schedule.command == "publish":
        parts += schedule.targets
    if schedule.full and schedule.command in ("sync", "match", "publish"):
        parts.append("--full")
    parts.append("--wait")
    return shlex.join(parts)


def crontab_line(name: str, project_file: Path, schedule: ScheduleConfig) -> str:
    """One crontab line, commented with the schedule's name; output goes to the run logs."""
    return f"# crmhub schedule {name}\n{schedule.cron} {command_line(project_file, schedule)}"


def _calendar_field(value: str, names: tuple[str, ...] | None = None) -> str:
    # cron and systemd share lists and ranges; '*/n' becomes systemd's 'start/n'.
    if value == "*":
        return "*"
    out = []
    for part in value.split(","):
        step = ""
        if "/" in part:
            part, every = part.split("/", 1)
            step = f"/{every}"
            part = "0" if part == "*" and names is None else part
        if names is not None and part != "*":
            bounds = [names[int(x) % 7] if x.isdigit() else x for x in part.split("-")]
            part = "..".join(bounds)
        else:
            part = part.replace("-", "..")
        out.append(part + step)
    return ",".join(out)


def on_calendar(cron: str) -> str:
    """A systemd ``OnCalendar=`` value for a five-field cron expression."""
    minute, hour, day, month, weekday = cron.split()
    date = f"*-{_calendar_field(month)}-{_calendar_field(day)}"
    if month != "*" and "/" in month:
        date = f"*-{month.replace('*', '1')}-{_calendar_field(day)}"
    time = f"{_calendar_field(hour)}:{_calendar_field(minute)}:00"
    days = "" if weekday == "*" else _calendar_field(weekday, _WEEKDAYS) + " "
    return f"{days}{date} {time}"


@dataclass(frozen=True)
class SystemdUnits:
    """A service unit running the command and a timer unit firing it."""

    name: str
    service: str
    timer: str


def systemd_units(
    project_name: str, name: str, project_file: Path, schedule: ScheduleConfig
) -> SystemdUnits:
    """The two unit files for one schedule (install in /etc/systemd/system or ~/.config)."""
    unit = f"crmhub-{project_name}-{name}"
    service = (
        "[Unit]\n"
        f"Description=crmhub {schedule.command} for project {project_name} ({name})\n"
        "After=network-online.target\nWants=network-online.target\n\n"
        "[Service]\nType=oneshot\n"
        f"WorkingDirectory={project_file.parent}\n"
        f"ExecStart={command_line(project_file, schedule)}\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=crmhub schedule {name} of project {project_name}: {schedule.cron}\n\n"
        "[Timer]\n"
        f"OnCalendar={on_calendar(schedule.cron)}\n"
        "Persistent=true\n"
        f"Unit={unit}.service\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return SystemdUnits(unit, service, timer)
