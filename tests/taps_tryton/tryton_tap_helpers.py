"""Helpers for tap-tryton tests: tap configs, in-process runs, message filters."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from tryton_server import TrytonRPC, TrytonServer


def tap_config(server: TrytonServer, **overrides: Any) -> dict[str, Any]:
    """A tap config for ``server``; retries short so failure tests stay fast."""
    config: dict[str, Any] = {
        "url": server.url,
        "database": server.db,
        "username": server.user,
        "password": server.password,
        "page_size": 500,
        "max_retries": 2,
        "retry_backoff_seconds": 0.2,
        "request_timeout": 30,
    }
    config.update(overrides)
    return config


def run_tap(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    streams: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Run the tap in-process (only ``streams`` selected, if given); return its messages."""
    from tap_tryton.tap import TapTryton

    catalog = None
    if streams is not None:
        catalog = TapTryton(config=config, parse_env_config=False).catalog_dict
        for entry in catalog["streams"]:
            for item in entry["metadata"]:
                if item["breadcrumb"] == []:
                    item["metadata"]["selected"] = entry["tap_stream_id"] in streams
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(buffer):
        TapTryton(config=config, state=state, catalog=catalog, parse_env_config=False).sync_all()
    buffer.seek(0)
    return [json.loads(line) for line in buffer.read().splitlines() if line.strip()]


def records(messages: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    """The RECORD payloads of one stream, in output order."""
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def last_state(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The value of the last STATE message."""
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert states, "the tap wrote no STATE message"
    return dict(states[-1])


def all_ids(rpc: TrytonRPC, model: str) -> list[int]:
    """Every id of a model in Tryton, archived ones included."""
    return sorted(rpc.call(f"model.{model}.search", [], 0, None, None, {"active_test": False}))
