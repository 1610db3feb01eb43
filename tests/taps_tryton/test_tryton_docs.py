"""docs/taps/tap-tryton.md cannot drift: every setting, stream and property is in it."""

from __future__ import annotations

import copy
from pathlib import Path

from tap_tryton.tap import TapTryton

DOC = Path(__file__).parents[2] / "docs" / "taps" / "tap-tryton.md"

PLACEHOLDER = {"url": "http://127.0.0.1:9/", "database": "d", "username": "u", "password": "p"}


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    # The same settings --about prints: ours and singer-sdk's built-in ones.
    schema = copy.deepcopy(TapTryton.config_jsonschema)
    TapTryton.append_builtin_config(schema)
    assert "batch_config" in schema["properties"]
    missing = [name for name in schema["properties"] if f"`{name}`" not in text]
    assert missing == []


def test_every_stream_and_property_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    tap = TapTryton(config=PLACEHOLDER, parse_env_config=False)
    missing = []
    for stream in tap.streams.values():
        if f"`{stream.name}`" not in text:
            missing.append(stream.name)
        for prop, schema in stream.schema["properties"].items():
            if f"`{prop}`" not in text:
                missing.append(f"{stream.name}.{prop}")
            for child in schema.get("items", {}).get("properties", {}):
                if child not in text:
                    missing.append(f"{stream.name}.{prop}.{child}")
    assert missing == []
