"""The tap's output loads into a third-party Singer target: target-jsonl from PyPI.

target-jsonl pins dependencies that conflict with singer-sdk, so it lives in its own venv
and this test finds it through CRMHUB_TARGET_JSONL (path to its executable):

    python3 -m venv .venv-plugins && .venv-plugins/bin/pip install target-jsonl
    export CRMHUB_TARGET_JSONL=$PWD/.venv-plugins/bin/target-jsonl
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from taps_spreadsheet.spreadsheet_files import (
    WESTERN_ROWS,
    dutch_text_row,
    write_text,
    write_xlsx,
)

TARGET = os.environ.get("CRMHUB_TARGET_JSONL", "")
TAP = str(Path(sys.executable).parent / "tap-spreadsheet")

pytestmark = pytest.mark.skipif(
    not TARGET,
    reason="CRMHUB_TARGET_JSONL is not set: install target-jsonl in its own venv "
    "(python3 -m venv .venv-plugins && .venv-plugins/bin/pip install target-jsonl) and set "
    "CRMHUB_TARGET_JSONL=.venv-plugins/bin/target-jsonl",
)


def test_tap_output_loads_into_target_jsonl(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    csv_path = write_text(
        data / "klanten_nl.csv",
        [dutch_text_row(r) for r in WESTERN_ROWS],
        delimiter=";",
        encoding="cp1252",
    )
    with csv_path.open("ab") as handle:  # a ragged row: kept with _row_error
        handle.write("9;Te veel;cellen;hier;x;y;z;extra\r\n".encode("cp1252"))
    write_xlsx(data / "klanten.xlsx", WESTERN_ROWS, title_rows=1)
    tap_config = tmp_path / "tap.json"
    tap_config.write_text(
        json.dumps(
            {
                "files": [
                    {"path": str(csv_path), "primary_keys": ["klantnummer"]},
                    {"path": str(data / "klanten.xlsx")},
                ]
            }
        )
    )
    out = tmp_path / "out"
    target_config = tmp_path / "target.json"
    target_config.write_text(json.dumps({"destination_path": str(out), "do_timestamp_file": False}))

    tap = subprocess.run([TAP, "--config", str(tap_config)], capture_output=True, check=False)
    assert tap.returncode == 0, tap.stderr.decode()
    target = subprocess.run(
        [TARGET, "-c", str(target_config)], input=tap.stdout, capture_output=True, check=False
    )
    assert target.returncode == 0, target.stderr.decode()

    emitted: dict[str, list[dict]] = {}
    for line in tap.stdout.decode().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            emitted.setdefault(message["stream"], []).append(message["record"])
    for stream in ("klanten_nl", "klanten"):
        loaded = [
            json.loads(line)
            for line in (out / f"{stream}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        assert loaded == emitted[stream]
    nl = {r["_source_row"]: r for r in emitted["klanten_nl"]}
    assert len(nl) == len(WESTERN_ROWS) + 1
    assert nl[2]["naam"] == "Jan de Vries" and nl[2]["bedrag"] == 1234.5
    assert nl[3]["naam"] == "Jürgen Müller"
    assert nl[len(WESTERN_ROWS) + 2]["_row_error"].startswith("row has 8 cells")
    # The last state message the target echoes is the tap's bookmark state.
    state = json.loads(target.stdout.decode().strip().splitlines()[-1])
    assert "file_sha256" in state["bookmarks"]["klanten_nl"]["partitions"][0]
