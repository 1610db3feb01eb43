"""Throw-away crmhub projects whose source is a real, scriptable Singer tap process."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from crmhub.cli import main

# A scriptable Singer tap: it replays the messages in its config ("messages"), supports
# --discover and --state, and can crash on purpose ("exit_after": n lines, "exit_code",
# "kill_after": n lines -> SIGKILL itself, "raw": lines written verbatim); "sleep_every": n
# makes it pause 50 ms after every n lines (a slow source).
TAP_SOURCE = textwrap.dedent(
    """
    import json, os, signal, sys, time
    args = sys.argv[1:]
    config = json.load(open(args[args.index("--config") + 1]))
    if "--discover" in args:
        streams = config.get("streams", ["customers"])
        print(json.dumps({"streams": [
            {"tap_stream_id": s, "stream": s, "schema": {}, "metadata": []} for s in streams]}))
        sys.exit(0)
    state = None
    if "--state" in args:
        state = json.load(open(args[args.index("--state") + 1]))
    with open(config["log"], "a") as log:
        log.write(json.dumps({"state": state, "catalog": "--catalog" in args}) + "\\n")
    skip = (state or {}).get("skip", 0)
    out = sys.stdout
    for number, line in enumerate(config["lines"]):
        if number < skip and '"RECORD"' in line:
            continue
        if number == config.get("kill_after"):
            out.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        if number == config.get("exit_after"):
            out.flush()
            sys.stderr.write("tap: simulated crash\\n")
            sys.exit(config.get("exit_code", 1))
        out.write(line if line.endswith("\\n") or config.get("no_newline") else line + "\\n")
        if config.get("sleep_every") and number % config["sleep_every"] == 0:
            out.flush()
            time.sleep(0.05)
    out.flush()
    """
)


def schema(
    stream: str = "customers",
    fields: tuple[str, ...] = ("id", "first", "last", "email"),
    key: tuple[str, ...] = ("id",),
) -> str:
    """A SCHEMA line."""
    return json.dumps(
        {
            "type": "SCHEMA",
            "stream": stream,
            "schema": {"type": "object", "properties": {f: {} for f in fields}},
            "key_properties": list(key),
        }
    )


def record(stream: str = "customers", **values: Any) -> str:
    """A RECORD line."""
    return json.dumps({"type": "RECORD", "stream": stream, "record": values})


def state(value: Any) -> str:
    """A STATE line."""
    return json.dumps({"type": "STATE", "value": value})


MAPPING = {
    "key": "id",
    "fields": {"given_name": "first", "family_name": "last", "emails": ["email"]},
}


class Project:
    """A project folder with one scriptable source, driven through the real CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tap = root / "tap.py"
        self.tap.write_text(TAP_SOURCE)
        self.tap_log = root / "tap-invocations.jsonl"
        self.mapping: Any = MAPPING
        self.master_url = "sqlite:///master.db"
        self.extra_yaml = ""

    def configure(self, lines: list[str], **tap_options: Any) -> None:
        """Write crmhub.yml so that source `shop` replays ``lines``."""
        config = {"lines": lines, "log": str(self.tap_log), **tap_options}
        doc = {
            "version": 1,
            "master": {"url": self.master_url, "batch_size": 100, "busy_timeout_s": 1},
            "sources": {
                "shop": {
                    "tap": [sys.executable, str(self.tap)],
                    "config": config,
                    "streams": {"customers": {"mapping": self.mapping}},
                }
            },
        }
        (self.root / "crmhub.yml").write_text(json.dumps(doc, indent=2) + self.extra_yaml)

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """Run ``crmhub -p ROOT ARGS`` in-process."""
        return CliRunner().invoke(main, ["-p", str(self.root), *args], env=env)

    def invocations(self) -> list[dict[str, Any]]:
        """What the tap was started with, one entry per run."""
        if not self.tap_log.exists():
            return []
        return [json.loads(x) for x in self.tap_log.read_text().splitlines()]
