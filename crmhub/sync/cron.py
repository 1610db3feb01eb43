"""Cron expressions: validation and next/previous fire times (croniter underneath)."""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import croniter  # type: ignore[import-untyped]


def check_cron(expression: str) -> str:
    """Return the expression if it is a valid five-field cron line, else raise ValueError."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"cron expression {expression!r} must have 5 fields "
            "(minute hour day-of-month month day-of-week), e.g. '30 2 * * *'"
        )
    if not croniter.is_valid(expression):
        raise ValueError(f"cron expression {expression!r} is not valid (see `man 5 crontab`)")
    return " ".join(fields)


def next_fire(expression: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` (UTC) when the expression fires."""
    base = after.astimezone(UTC) if after.tzinfo else after.replace(tzinfo=UTC)
    value: datetime = croniter(expression, base).get_next(datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def previous_fire(expression: str, before: datetime) -> datetime:
    """The last time at or before ``before`` (UTC) when the expression fired."""
    base = before.astimezone(UTC) if before.tzinfo else before.replace(tzinfo=UTC)
    value: datetime = croniter(expression, base).get_prev(datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
