"""docs/targets/target-crm.md names every setting, mapping key, action and profile."""

from __future__ import annotations

from pathlib import Path

from target_crm.mapping import _FIELD_KEYS
from target_crm.results import ACTIONS, ERROR_COLUMNS
from target_crm.settings import PROFILES
from target_crm.target import CONFIG_SCHEMA

DOC = (Path(__file__).parents[2] / "docs" / "targets" / "target-crm.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [name for name in CONFIG_SCHEMA["properties"] if f"`{name}`" not in DOC]
    assert missing == []


def test_every_mapping_key_action_profile_and_error_column_is_documented() -> None:
    names = [*_FIELD_KEYS, *ACTIONS, *PROFILES]
    assert [n for n in names if f"`{n}`" not in DOC] == []
    assert ", ".join(ERROR_COLUMNS) in DOC
