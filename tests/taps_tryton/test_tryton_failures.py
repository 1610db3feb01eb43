"""Bad input and bad luck: wrong credentials, no server, Tryton down or session expired."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tryton_server import TrytonServer
from tryton_tap_helpers import all_ids, last_state, records, run_tap, tap_config

from tap_tryton.errors import TapTrytonRetriableError
from tap_tryton.tap import TapTryton

TAP = str(Path(sys.executable).parent / "tap-tryton")


def _run_cli(tmp_path: Path, config: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    return subprocess.run(
        [TAP, "--config", str(config_file)], capture_output=True, text=True, timeout=120
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_wrong_password_is_one_clear_line_and_exit_78(tryton: TrytonServer, tmp_path: Path) -> None:
    config = tap_config(tryton, password="not-the-password-4711")
    result = _run_cli(tmp_path, config)
    assert result.returncode == 78
    assert "refused the login of user 'admin': wrong username or password" in result.stderr
    assert "Traceback" not in result.stderr
    assert "not-the-password-4711" not in result.stderr + result.stdout
    assert '"type":"RECORD"' not in result.stdout


def test_unreachable_host_is_retried_then_one_clear_line_and_exit_75(tmp_path: Path) -> None:
    config = {
        "url": f"http://127.0.0.1:{_free_port()}/",
        "database": "crmhub",
        "username": "admin",
        "password": "secret-pw-0815",
        "max_retries": 2,
        "retry_backoff_seconds": 0.1,
    }
    result = _run_cli(tmp_path, config)
    assert result.returncode == 75
    assert "did not answer common.db.login after 3 attempt(s)" in result.stderr
    assert "cannot connect" in result.stderr
    assert "Traceback" not in result.stderr
    assert "secret-pw-0815" not in result.stderr


def test_unknown_database_names_the_setting(tryton: TrytonServer, tmp_path: Path) -> None:
    result = _run_cli(tmp_path, tap_config(tryton, database="no_such_db"))
    assert result.returncode != 0
    assert "no_such_db" in result.stderr
    assert "Traceback" not in result.stderr


def test_session_expired_mid_run_logs_in_again_and_goes_on(tryton: TrytonServer) -> None:
    tap = TapTryton(config=tap_config(tryton, page_size=5), parse_env_config=False)
    stream = tap.streams["parties"]
    rows = iter(stream.get_records(None))
    seen = [next(rows)["id"] for _ in range(5)]
    assert tryton.expire_sessions() >= 1
    seen += [row["id"] for row in rows]
    assert tap.client.logins == 2
    assert sorted(seen) == all_ids(tryton.client(), "party.party")
    assert len(seen) == len(set(seen))


def test_tryton_restarted_mid_run_is_waited_for(tryton: TrytonServer) -> None:
    config = tap_config(tryton, page_size=5, max_retries=10, retry_backoff_seconds=0.5)
    tap = TapTryton(config=config, parse_env_config=False)
    rows = iter(tap.streams["addresses"].get_records(None))
    seen = [next(rows)["id"] for _ in range(5)]
    tryton.stop()
    restart = threading.Thread(target=lambda: (time.sleep(1.0), tryton.start()))
    restart.start()
    try:
        seen += [row["id"] for row in rows]
    finally:
        restart.join()
    assert sorted(seen) == all_ids(tryton.client(), "party.address")
    assert len(seen) == len(set(seen))


def test_tryton_gone_for_good_stops_with_a_resumable_state(tryton: TrytonServer) -> None:
    """The last STATE before the failure covers what was emitted: a re-run loses nothing."""
    config = tap_config(tryton, page_size=5, max_retries=1, retry_backoff_seconds=0.1)
    from tap_tryton.client import TrytonClient

    original = TrytonClient.search_read
    calls = {"parties": 0}

    def failing_search_read(self: TrytonClient, model: str, *args: Any, **kwargs: Any) -> Any:
        if model == "party.party":
            calls["parties"] += 1
            if calls["parties"] == 4:  # Tryton dies while the tap reads the 4th page
                tryton.stop()
        return original(self, model, *args, **kwargs)

    import contextlib
    import io

    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(buffer),
        pytest.raises(TapTrytonRetriableError, match=r"did not answer model\.party\.party"),
    ):
        patch.setattr(TrytonClient, "search_read", failing_search_read)
        TapTryton(config=config, parse_env_config=False).sync_all()
    buffer.seek(0)
    first = [json.loads(line) for line in buffer.read().splitlines()]
    state = last_state(first)
    assert "parties" in state["bookmarks"], "a STATE for the pages read before the failure"

    tryton.start()
    second = run_tap(config, state)
    emitted = records(first, "parties") + records(second, "parties")
    ids = {row["id"] for row in emitted}
    assert sorted(ids) == all_ids(tryton.client(), "party.party")
    # Only the records after the last STATE may come again; nothing before it.
    bookmark_id = state["bookmarks"]["parties"]["replication_key_id"]
    first_ids = [row["id"] for row in records(first, "parties")]
    covered = first_ids[: first_ids.index(bookmark_id) + 1]
    assert not set(covered) & {row["id"] for row in records(second, "parties")}
