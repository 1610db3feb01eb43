"""Reading what the target reported: its results file (JSONL) and its run report (JSON)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from crmhub.publish.ledger import Outcome
from crmhub.store.types import utcnow

ACTIONS = ("create", "update", "merge", "archive", "delete", "skip", "error")


def file_size(path: Path) -> int:
    """Bytes in ``path`` now (0 when it does not exist): where this run's lines start."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _at(value: Any) -> datetime:
    if isinstance(value, str):
        parsed = _parse_at(value)
        if parsed is not None:
            return parsed
    return utcnow()


@lru_cache(maxsize=256)
def _parse_at(value: str) -> datetime | None:
    # a target stamps a whole batch with one time: each distinct stamp is parsed once
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_outcomes(path: Path, offset: int) -> tuple[list[Outcome], int]:
    """The results lines written from ``offset`` on, and how many lines were unreadable.

    A line cut short by a crash is not an outcome: that record was not confirmed, so it
    stays "changed" (or on the retry list) and goes out again next run.
    """
    outcomes: list[Outcome] = []
    unreadable = 0
    for line in _lines(path, offset):
        try:
            data = _decode(line)
            outcome = Outcome(
                stream=str(data["stream"]),
                key=str(data["key"]),
                action=str(data["action"]),
                remote_id=None if data.get("remote_id") is None else str(data["remote_id"]),
                content_hash=data.get("content_hash"),
                error=data.get("error"),
                disposition=data.get("disposition"),
                at=_at(data.get("at")),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            unreadable += 1
            continue
        outcomes.append(outcome)
    return outcomes, unreadable


def _lines(path: Path, offset: int) -> Iterator[bytes]:
    if not path.exists():
        return
    with path.open("rb") as handle:
        handle.seek(offset)
        for raw in handle:
            text = raw.strip()
            if text:
                yield text


def _decode(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        # what orjson refuses (bytes that are not UTF-8, NaN ...) the standard module may
        # still read, as it always did here; a line cut short fails both
        return json.loads(line.decode("utf-8", errors="replace"))


def count_actions(outcomes: list[Outcome]) -> dict[str, int]:
    """Outcomes per action, every action present (zero when none)."""
    counted = Counter(o.action for o in outcomes)
    return {a: counted.get(a, 0) for a in ACTIONS} | {
        a: n for a, n in counted.items() if a not in ACTIONS
    }


def read_report(path: Path) -> dict[str, Any] | None:
    """The target's run report, or None when it wrote none (or not one we can read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
