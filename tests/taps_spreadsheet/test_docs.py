"""The tap's documentation cannot drift: every setting and added property is described."""

from __future__ import annotations

import copy
from pathlib import Path

from tap_spreadsheet.config import CONFIG_SCHEMA, SOURCE_SCHEMA, SourceSpec
from tap_spreadsheet.discovery import StreamPlan
from tap_spreadsheet.tap import TapSpreadsheet

DOC = Path(__file__).resolve().parents[2] / "docs" / "taps" / "tap-spreadsheet.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    # Ours, the singer-sdk built-ins the tap offers too, and those of one `files` entry.
    schema = copy.deepcopy(CONFIG_SCHEMA)
    TapSpreadsheet.append_builtin_config(schema)
    settings = list(schema["properties"]) + list(SOURCE_SCHEMA.type_dict["properties"])
    assert "batch_config" in settings
    missing = [name for name in settings if f"| `{name}` |" not in text]
    assert not missing, f"settings missing from {DOC.name}: {missing}"


def test_every_added_property_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    plan = StreamPlan(name="x", spec=SourceSpec(path="x.csv"), files=["x.csv"], sheet=None)
    added = [name for name in plan.schema()["properties"] if name.startswith("_")]
    assert len(added) == 5
    missing = [name for name in added if f"| `{name}` |" not in text]
    assert not missing, f"properties missing from {DOC.name}: {missing}"
