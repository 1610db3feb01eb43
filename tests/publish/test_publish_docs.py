"""docs/publish.md documents every tap-crmhub setting, stream property and ledger column."""

from __future__ import annotations

from pathlib import Path

from crmhub.publish.schemas import customers_schema, related_schema
from crmhub.publish.tap import TapCrmhub
from crmhub.store.models import PublishRecord

DOC = (Path(__file__).resolve().parents[2] / "docs" / "publish.md").read_text()


def test_every_tap_setting_is_documented() -> None:
    missing = [k for k in TapCrmhub.config_jsonschema["properties"] if f"`{k}`" not in DOC]
    assert not missing, f"docs/publish.md does not document: {missing}"


def test_every_stream_property_is_documented() -> None:
    schemas = [customers_schema()] + [
        related_schema(s) for s in ("orders", "interactions", "tickets")
    ]
    missing = {p for schema in schemas for p in schema["properties"] if f"`{p}`" not in DOC}
    assert not missing, f"docs/publish.md does not document: {sorted(missing)}"


def test_every_ledger_column_is_documented() -> None:
    columns = [c.name for c in PublishRecord.__table__.columns if c.name != "id"]
    missing = [c for c in columns if f"| `{c}` |" not in DOC]
    assert not missing, f"docs/publish.md does not document the publish_record columns {missing}"
