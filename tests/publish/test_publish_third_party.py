"""tap-crmhub feeds a third-party Singer target: target-jsonl from PyPI, via crmhub publish.

target-jsonl lives in its own venv (see tests/taps_spreadsheet/test_target_jsonl.py);
.ci/run sets CRMHUB_TARGET_JSONL to its executable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from master_rows import build_master

from crmhub.cli import main

TARGET = os.environ.get("CRMHUB_TARGET_JSONL", "")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not TARGET,
        reason="CRMHUB_TARGET_JSONL is not set: python3 -m venv .venv-plugins && "
        ".venv-plugins/bin/pip install target-jsonl; export "
        "CRMHUB_TARGET_JSONL=$PWD/.venv-plugins/bin/target-jsonl",
    ),
]


def test_publish_into_target_jsonl(tmp_path: Path) -> None:
    url = build_master(tmp_path / "master.db")
    out = tmp_path / "jsonl"
    out.mkdir()
    doc = {
        "version": 1,
        "master": {"url": url},
        "targets": {
            "files": {
                "target": TARGET,
                "config": {"destination_path": str(out), "do_timestamp_file": False},
            }
        },
    }
    (tmp_path / "crmhub.yml").write_text(json.dumps(doc))
    result = CliRunner().invoke(main, ["-p", str(tmp_path), "publish"])
    assert result.exit_code == 0, result.output
    # No results file from a third-party target: said plainly, nothing recorded.
    assert "wrote no results file" in result.output
    customers = [json.loads(x) for x in (out / "customers.jsonl").read_text().splitlines()]
    assert {c["master_id"] for c in customers} == {"M-PERSON", "M-ORG", "M-LOSER", "M-GONE"}
    orders = [json.loads(x) for x in (out / "orders.jsonl").read_text().splitlines()]
    assert orders[0]["record_id"] == "erp:orders:r1" and orders[0]["master_id"] == "M-PERSON"
