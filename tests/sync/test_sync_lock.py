"""One sync per project: the lock file on one host, the PostgreSQL advisory lock across hosts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crmhub.errors import MasterLockedError
from crmhub.store import Master, open_master
from crmhub.sync.lock import sync_lock


def test_advisory_lock_keeps_a_second_host_out(postgres_url: str, tmp_path: Path) -> None:
    master: Master = open_master(postgres_url)
    other: Master = open_master(postgres_url)
    try:
        # two state folders: as if two hosts shared one PostgreSQL master
        with sync_lock(master, tmp_path / "host-a", "proj"):
            with (
                pytest.raises(MasterLockedError, match="advisory lock"),
                sync_lock(other, tmp_path / "host-b", "proj"),
            ):
                pass
            with sync_lock(other, tmp_path / "host-b", "another-project"):
                pass
        with sync_lock(other, tmp_path / "host-b", "proj"):
            pass
    finally:
        master.dispose()
        other.dispose()


def test_lock_of_a_killed_process_is_released(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from crmhub.locking import run_lock\n"
            f"with run_lock(Path({str(tmp_path)!r})):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        master = open_master(f"sqlite:///{tmp_path / 'master.db'}")
        with (
            pytest.raises(MasterLockedError, match=f"pid {holder.pid}"),
            sync_lock(master, tmp_path, "proj"),
        ):
            pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        started = time.monotonic()
        with sync_lock(master, tmp_path, "proj"):
            pass
        assert time.monotonic() - started < 1
        master.dispose()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
