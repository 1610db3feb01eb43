"""The Meltano example project, run by a real `meltano run` end to end on SQLite.

Meltano pins old dependencies, so it lives in its own virtualenv; point CRMHUB_MELTANO at
its `meltano` executable (e.g. .venv-meltano/bin/meltano). The plugins are "pre-installed"
by giving each its venv bin folder with our console scripts (no download at test time);
`--no-install` keeps Meltano from installing anything.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "meltano"
PLUGINS = {
    "extractors/tap-spreadsheet": "tap-spreadsheet",
    "extractors/tap-crmhub": "tap-crmhub",
    "loaders/target-crm": "target-crm",
    "utilities/crmhub": "crmhub",
}


@pytest.fixture
def meltano() -> str:
    path = os.environ.get("CRMHUB_MELTANO")
    if not path:
        pytest.skip("CRMHUB_MELTANO is not set (path of meltano in its own venv)")
    if not Path(path).exists():
        pytest.fail(f"CRMHUB_MELTANO={path} does not exist")
    return path


def test_meltano_runs_the_example_end_to_end(meltano: str, tmp_path: Path) -> None:
    project = tmp_path / "meltano"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".meltano", "out", "*.db"))
    bin_dir = Path(sys.executable).parent
    for folder, executable in PLUGINS.items():
        plugin_bin = project / ".meltano" / folder / "venv" / "bin"
        plugin_bin.mkdir(parents=True)
        (plugin_bin / executable).symlink_to(bin_dir / executable)
    env = {
        **os.environ,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("CRMHUB_PROJECT", None)
    result = subprocess.run(
        [meltano, "run", "--no-install", "crmhub:sync", "tap-crmhub", "target-crm"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    # crmhub:sync: the hub ingested, matched (the duplicate Jan merged) and published
    with sqlite3.connect(project / "master.db") as conn:
        runs = conn.execute(
            "SELECT kind, status FROM run WHERE parent_id IS NULL ORDER BY id"
        ).fetchall()
        golden = conn.execute(
            "SELECT count(*) FROM golden_record WHERE status = 'active'"
        ).fetchone()
    assert runs == [("sync", "succeeded")]
    assert golden == (3,)
    hub_files = list((project / "out" / "crmhub").glob("*.csv"))
    assert hub_files, "crmhub:sync wrote no import file"

    # tap-crmhub | target-crm under Meltano: the same three golden records, in a CSV import file
    files = [p for p in (project / "out").glob("*.csv")]
    assert len(files) == 1, files
    rows = list(csv.DictReader(files[0].open(encoding="utf-8")))
    assert len(rows) == 3
    assert "Incremental state has been updated" in result.stderr
