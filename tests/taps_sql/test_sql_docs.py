"""docs/taps/tap-sql.md documents every setting of the tap (the docs cannot drift)."""

from __future__ import annotations

from pathlib import Path

from tap_sql.tap import TapSQL

DOC = Path(__file__).resolve().parents[2] / "docs" / "taps" / "tap-sql.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    settings = set(TapSQL.config_jsonschema["properties"])
    nested = {"replication_key", "key_properties", "column_charsets", "name", "sql", "schema"}
    missing = sorted(s for s in settings | nested if f"`{s}`" not in text)
    assert missing == [], f"settings missing from {DOC.name}: {missing}"


def test_untested_dialects_are_named() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "SQL Server" in text and "Oracle" in text and "untested here" in text
