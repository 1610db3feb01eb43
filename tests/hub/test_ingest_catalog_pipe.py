"""The tap starts while its discovery runs and reads its catalog from a named pipe: the
catalog it reads is the selected one, a second read gets it again, a failed discovery
stops the waiting tap, and `overlap_discovery: false` runs one after the other."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from crmhub.cli import main
from crmhub.errors import FatalError

# A Singer tap whose discovery takes a while and which logs when each step happens.
TAP = textwrap.dedent(
    """
    import json, os, sys, time
    args = sys.argv[1:]
    config = json.load(open(args[args.index("--config") + 1]))
    log = open(config["log"], "a")
    def note(**event):
        log.write(json.dumps({"at": time.time(), "pid": os.getpid(), **event}) + "\\n")
        log.flush()
    if "--discover" in args:
        time.sleep(config.get("discover_s", 0.6))
        if config.get("discover_fails"):
            sys.stderr.write("tap: cannot reach the source\\n")
            sys.exit(2)
        note(step="discovered")
        print(json.dumps({"streams": [
            {"tap_stream_id": s, "stream": s, "schema": {"properties": {"id": {}}},
             "metadata": [{"breadcrumb": [], "metadata": {}}]}
            for s in ("customers", "orders")]}))
        sys.exit(0)
    note(step="started")
    path = args[args.index("--catalog") + 1]
    catalog = json.load(open(path))
    again = json.load(open(path)) if config.get("read_twice") else catalog
    note(step="catalog", same=again == catalog, regular=os.path.isfile(path))
    out = sys.stdout
    for entry in catalog["streams"]:
        chosen = [m for m in entry["metadata"] if m["breadcrumb"] == []]
        if not chosen or not chosen[0]["metadata"].get("selected"):
            continue
        name = entry["stream"]
        out.write(json.dumps({"type": "SCHEMA", "stream": name, "key_properties": ["id"],
                              "schema": {"properties": {"id": {}, "first": {}}}}) + "\\n")
        for i in range(3):
            out.write(json.dumps({"type": "RECORD", "stream": name,
                                  "record": {"id": i, "first": f"Given{i}"}}) + "\\n")
    out.flush()
    """
)


class PipeProject:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "tap.py").write_text(TAP)
        self.log = root / "tap-log.jsonl"

    def configure(self, *, streams: tuple[str, ...] = ("customers",), **options: Any) -> None:
        source_keys = {k: options.pop(k) for k in ("overlap_discovery",) if k in options}
        doc = {
            "version": 1,
            "master": {"url": "sqlite:///master.db", "busy_timeout_s": 1},
            "sources": {
                "shop": {
                    "tap": [sys.executable, str(self.root / "tap.py")],
                    "config": {"log": str(self.log), **options},
                    "streams": {s: {} for s in streams},
                    **source_keys,
                }
            },
        }
        (self.root / "crmhub.yml").write_text(json.dumps(doc))

    def ingest(self) -> Result:
        return CliRunner().invoke(main, ["-p", str(self.root), "ingest", "--json"])

    def events(self) -> dict[str, dict[str, Any]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return {e["step"]: e for e in map(json.loads, lines)}

    def streams_stored(self) -> list[tuple[str, int]]:
        with sqlite3.connect(self.root / "master.db") as conn:
            return conn.execute(
                "SELECT stream, count(*) FROM source_record GROUP BY stream"
            ).fetchall()


@pytest.fixture
def pipe_project(tmp_path: Path) -> PipeProject:
    return PipeProject(tmp_path)


posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


@posix_only
def test_the_tap_starts_during_discovery_and_reads_the_selected_catalog(
    pipe_project: PipeProject,
) -> None:
    pipe_project.configure()
    result = pipe_project.ingest()
    assert result.exit_code == 0, result.output
    events = pipe_project.events()
    assert events["started"]["at"] < events["discovered"]["at"], "the tap waited for discovery"
    assert events["catalog"]["at"] >= events["discovered"]["at"]
    # only the stream crmhub.yml names was selected
    assert pipe_project.streams_stored() == [("customers", 3)]
    assert json.loads(result.output)[0]["records"] == 3


@posix_only
def test_a_tap_that_reads_the_catalog_twice_gets_it_twice(pipe_project: PipeProject) -> None:
    pipe_project.configure(read_twice=True)
    result = pipe_project.ingest()
    assert result.exit_code == 0, result.output
    assert pipe_project.events()["catalog"]["same"] is True
    assert pipe_project.streams_stored() == [("customers", 3)]


@posix_only
def test_failed_discovery_stops_the_waiting_tap(pipe_project: PipeProject) -> None:
    pipe_project.configure(discover_fails=True)
    started = time.monotonic()
    result = pipe_project.ingest()
    assert result.exit_code == FatalError.exit_code
    assert "discovery failed with exit code 2" in result.output
    assert "cannot reach the source" in result.output
    assert time.monotonic() - started < 30
    tap = pipe_project.events()["started"]
    with pytest.raises(ProcessLookupError):
        os.kill(tap["pid"], 0)  # killed and reaped, not left waiting on the pipe
    assert not list((pipe_project.root / ".crmhub" / "tmp").glob("plugin-*"))


@posix_only
def test_an_unknown_stream_stops_the_waiting_tap(pipe_project: PipeProject) -> None:
    pipe_project.configure(streams=("customers", "invoices"))
    result = pipe_project.ingest()
    assert result.exit_code != 0
    assert "the tap has no stream(s) invoices" in result.output
    with pytest.raises(ProcessLookupError):
        os.kill(pipe_project.events()["started"]["pid"], 0)


def test_without_overlap_the_tap_starts_after_discovery_with_a_file(
    pipe_project: PipeProject,
) -> None:
    pipe_project.configure(overlap_discovery=False, read_twice=True)
    result = pipe_project.ingest()
    assert result.exit_code == 0, result.output
    events = pipe_project.events()
    assert events["started"]["at"] > events["discovered"]["at"]
    assert events["catalog"]["regular"] is True
    assert pipe_project.streams_stored() == [("customers", 3)]
