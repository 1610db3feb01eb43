"""target-crm as a process: a real Singer pipe through the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from singer_input import person, singer_text

pytestmark = pytest.mark.slow  # starts target-crm processes

BIN = Path(sys.executable).parent / "target-crm"


def _run(config: dict[str, Any], text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN), "--config", str(cfg)],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_singer_pipe_emits_state_and_writes_results(tmp_path: Path, out: dict[str, Any]) -> None:
    config = {
        "profile": "sql",
        "sqlalchemy_url": f"sqlite:///{tmp_path / 'c.db'}",
        "error_file": str(tmp_path / "errors.jsonl"),
        **{k: v for k, v in out.items() if k != "error_file"},
    }
    people = [person(1), person(2, family_name=None, name_particle=None), person(3)]
    people[1]["kind"] = "robot"
    done = _run(config, singer_text({"customers": people}), tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [json.loads(ln) for ln in done.stdout.splitlines()] == []  # a failure holds state
    errors = [json.loads(ln) for ln in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert [(e["key"], e["field"]) for e in errors] == [("M0000002", "kind")]
    results = [json.loads(ln) for ln in Path(out["results_path"]).read_text().splitlines()]
    assert sorted(r["action"] for r in results) == ["create", "create", "error"]


def test_bad_config_is_one_clear_line_and_exit_1(tmp_path: Path) -> None:
    done = _run({"profile": "hubspot", "base_url": "http://127.0.0.1:9"}, "", tmp_path)
    assert done.returncode == 1
    assert "target-crm: profile hubspot needs config setting(s) access_token" in done.stderr
    assert "Traceback" not in done.stderr
