"""docs/taps/tap-legacy.md must document every setting and every added property."""

from __future__ import annotations

from pathlib import Path

from tap_legacy.lineage import LINEAGE_PROPERTIES
from tap_legacy.tap import STREAM_SETTINGS, TapLegacy

DOC = Path(__file__).resolve().parents[2] / "docs" / "taps" / "tap-legacy.md"


def test_every_stream_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    settings = STREAM_SETTINGS.to_dict()["properties"]
    missing = [name for name in settings if f"`{name}`" not in text]
    assert not missing, f"settings missing from {DOC}: {missing}"
    assert "`streams`" in text
    assert set(TapLegacy.config_jsonschema["properties"]) >= {"streams"}


def test_every_added_property_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in LINEAGE_PROPERTIES if f"| `{name}` |" not in text]
    assert not missing, f"properties missing from the table in {DOC}: {missing}"


def test_every_format_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    formats = STREAM_SETTINGS.to_dict()["properties"]["format"]["enum"]
    assert all(f"### `{name}`" in text for name in formats)


def test_config_schema_formats_match_the_readers() -> None:
    from tap_legacy.tap import READERS

    formats = STREAM_SETTINGS.to_dict()["properties"]["format"]["enum"]
    assert sorted(formats) == sorted(READERS)
