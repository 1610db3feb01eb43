"""Reading what the target reported: its results file (JSONL) and its run report (JSON)."""

from __future__ import annotations

import json
from collections import Counter
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
    tail = ResultsTail(path, offset)
    outcomes = tail.read(final=True)
    return outcomes, tail.unreadable


class ResultsTail:
    """The lines a target appends to its results file, read while it runs and after.

    While the target runs only complete lines count (it may be writing the next one); once
    it has stopped, a last line without its newline is read too (and is unreadable when a
    crash cut it short).
    """

    def __init__(self, path: Path, offset: int) -> None:
        self.path = path
        self.offset = offset
        self.unreadable = 0

    def read(self, *, final: bool) -> list[Outcome]:
        """Outcomes of the lines written since the last read."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        if not final:
            data = data[: data.rfind(b"\n") + 1]
        self.offset += len(data)
        outcomes: list[Outcome] = []
        append = outcomes.append
        loads = orjson.loads
        for raw in data.split(b"\n"):
            line = raw.strip()
            if not line:
                continue
            try:
                try:
                    values = loads(line)
                except orjson.JSONDecodeError:
                    values = _decode(line)
                remote_id = values.get("remote_id")
                append(
                    Outcome(
                        str(values["stream"]),
                        str(values["key"]),
                        str(values["action"]),
                        None if remote_id is None else str(remote_id),
                        values.get("content_hash"),
                        values.get("error"),
                        values.get("disposition"),
                        _at(values.get("at")),
                    )
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                self.unreadable += 1
        return outcomes


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
