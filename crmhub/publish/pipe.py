"""Running ``tap-crmhub | target`` as two processes joined by a real pipe."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: bytes the pipe between tap and target holds (Linux; 1 MiB is what an unprivileged
#: process may ask for by default, /proc/sys/fs/pipe-max-size)
PIPE_BYTES = 1 << 20


@dataclass
class PipeResult:
    """Exit codes and run time of both ends of the pipe."""

    tap_code: int
    target_code: int
    seconds: float


def run_pipe(
    tap_command: list[str],
    target_command: list[str],
    *,
    cwd: Path,
    tap_log: Path,
    target_log: Path,
    while_running: Callable[[], None] | None = None,
    interval_s: float = 0.2,
) -> PipeResult:
    """Start the tap with its stdout piped into the target's stdin; wait for both.

    The target's STATE output goes to its log: the hub learns what was accepted from the
    results file, which the target flushes after every batch. ``while_running`` is called
    every ``interval_s`` until the target exits (the hub records results meanwhile); an
    error it raises stops both processes.
    """
    started = time.monotonic()
    with tap_log.open("ab") as tap_err, target_log.open("ab") as target_out:
        tap = subprocess.Popen(  # noqa: S603 - commands come from the project file
            tap_command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=tap_err,
            cwd=cwd,
        )
        try:
            assert tap.stdout is not None  # noqa: S101 - Popen(stdout=PIPE) always sets it
            _widen(tap.stdout.fileno())
            target = subprocess.Popen(  # noqa: S603
                target_command,
                stdin=tap.stdout,
                stdout=target_out,
                stderr=target_out,
                cwd=cwd,
            )
        except BaseException:
            tap.kill()
            tap.wait()
            raise
        # Only the target holds the read end now: when it dies, the tap gets EPIPE.
        tap.stdout.close()
        try:
            while True:
                try:
                    target_code = target.wait(None if while_running is None else interval_s)
                    break
                except subprocess.TimeoutExpired:
                    assert while_running is not None  # noqa: S101 - no timeout without it
                    while_running()
            tap_code = tap.wait()
        except BaseException:
            for process in (tap, target):
                if process.poll() is None:
                    process.terminate()
            for process in (tap, target):
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            raise
    return PipeResult(tap_code, target_code, time.monotonic() - started)


def _widen(fd: int) -> None:
    """Let the pipe hold ``PIPE_BYTES`` instead of 64 KiB, where the system allows it.

    The target reads a batch, then pushes it; with 64 KiB (about 90 records) the tap is
    stopped for most of each push. A wider pipe lets it write on (about 1,300 records more
    per push) instead of both taking turns.
    """
    if sys.platform != "linux":
        return
    import fcntl

    # a lower limit set by the administrator: the default size works too, only slower
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
