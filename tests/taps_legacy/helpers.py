"""Helpers for tap-legacy tests: run the real console script and parse its Singer output."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TAP = str(Path(sys.executable).with_name("tap-legacy"))


@dataclass
class TapRun:
    """Outcome of one tap process."""

    returncode: int
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    def schema(self, stream: str) -> dict[str, Any]:
        return next(
            m["schema"] for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream
        )


def run_tap(tmp_path: Path, streams: list[dict[str, Any]], *extra: str) -> TapRun:
    """Run ``tap-legacy --config`` as a process with ``streams``; parse stdout lines."""
    config = tmp_path / f"config_{len(list(tmp_path.glob('config_*')))}.json"
    config.write_text(json.dumps({"streams": streams}), encoding="utf-8")
    proc = subprocess.run(
        [TAP, "--config", str(config), *extra], capture_output=True, text=True, timeout=120
    )
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return TapRun(proc.returncode, proc.stderr, messages)
