"""Run tap-sql in-process or as a real process and collect its Singer messages."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_sql.tap import TapSQL

TAP_BIN = str(Path(sys.executable).parent / "tap-sql")


@dataclass
class Messages:
    """The Singer messages of one run."""

    lines: list[dict[str, Any]] = field(default_factory=list)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"] for m in self.lines if m["type"] == "RECORD" and m["stream"] == stream]

    def schema(self, stream: str) -> dict[str, Any]:
        return next(m for m in self.lines if m["type"] == "SCHEMA" and m["stream"] == stream)

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.lines if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict[str, Any]:
        return self.states[-1]


def parse(raw: bytes) -> Messages:
    return Messages([json.loads(line) for line in raw.splitlines() if line.strip()])


def run_in_process(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
) -> Messages:
    """Sync with the tap class in this process (stdout captured)."""
    buffer = io.BytesIO()
    text = io.TextIOWrapper(buffer, encoding="utf-8", write_through=True)
    with contextlib.redirect_stdout(text):
        tap = TapSQL(config=config, state=state, catalog=catalog, validate_config=True)
        tap.sync_all()
        text.flush()
    return parse(buffer.getvalue())


def discover(config: dict[str, Any]) -> dict[str, Any]:
    """The catalog as discovery makes it (in-process)."""
    return TapSQL(config=config).catalog_dict


@dataclass
class ProcessResult:
    returncode: int
    messages: Messages
    stderr: str


def run_process(
    tmp: Path, config: dict[str, Any], *args: str, state: dict[str, Any] | None = None
) -> ProcessResult:
    """Run the tap-sql console script as a real process."""
    cfg = tmp / "config.json"
    cfg.write_text(json.dumps(config))
    cmd = [TAP_BIN, "--config", str(cfg), *args]
    if state is not None:
        st = tmp / "state.json"
        st.write_text(json.dumps(state))
        cmd += ["--state", str(st)]
    proc = subprocess.run(cmd, capture_output=True, timeout=120, check=False, env=os.environ.copy())
    return ProcessResult(proc.returncode, parse(proc.stdout), proc.stderr.decode("utf-8"))
