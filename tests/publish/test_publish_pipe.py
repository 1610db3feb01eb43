"""The pipe between tap and target holds far more than the 64 KiB default, so the tap can
write on while the target pushes a batch."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from crmhub.publish.pipe import PIPE_BYTES, run_pipe


def _max_pipe_bytes() -> int:
    try:
        return int(Path("/proc/sys/fs/pipe-max-size").read_text())
    except (OSError, ValueError):
        return 0


@pytest.mark.skipif(
    sys.platform != "linux" or _max_pipe_bytes() < PIPE_BYTES,
    reason="pipe sizes are set on Linux only, up to /proc/sys/fs/pipe-max-size",
)
def test_the_tap_writes_ahead_of_a_target_that_is_not_reading(tmp_path: Path) -> None:
    written = tmp_path / "tap-done"
    size = PIPE_BYTES // 2  # eight times the default pipe
    # the tap writes everything and only then says so; the target reads nothing until it
    # has seen that (with 64 KiB the tap would wait for the target, which waits for it)
    tap = (
        "import sys, pathlib\n"
        f"sys.stdout.buffer.write(b'x' * {size}); sys.stdout.buffer.flush()\n"
        f"pathlib.Path({str(written)!r}).touch()\n"
    )
    target = (
        "import sys, time, pathlib\n"
        "deadline = time.monotonic() + 20\n"
        f"while not pathlib.Path({str(written)!r}).exists():\n"
        "    if time.monotonic() > deadline: sys.exit(3)\n"
        "    time.sleep(0.01)\n"
        f"sys.exit(0 if len(sys.stdin.buffer.read()) == {size} else 4)\n"
    )
    result = run_pipe(
        [sys.executable, "-c", tap],
        [sys.executable, "-c", target],
        cwd=tmp_path,
        tap_log=tmp_path / "tap.log",
        target_log=tmp_path / "target.log",
    )
    assert (result.tap_code, result.target_code) == (0, 0)
