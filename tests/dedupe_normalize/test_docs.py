"""docs/matching/normalize.md documents every frame column, reason code and reference table."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from crmhub_dedupe.normalize import FRAME_COLUMNS, ISSUE_CODES

DOC = Path(__file__).resolve().parents[2] / "docs" / "matching" / "normalize.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("column", FRAME_COLUMNS)
def test_every_column_is_documented(doc: str, column: str) -> None:
    assert f"| `{column}`" in doc or f"`{column}`," in doc


@pytest.mark.parametrize("code", sorted(ISSUE_CODES))
def test_every_reason_code_is_documented_with_its_severity(doc: str, code: str) -> None:
    line = next((x for x in doc.splitlines() if x.startswith(f"| `{code}` |")), None)
    assert line is not None, f"{code} missing from the reason-code table"
    assert f"| {ISSUE_CODES[code].severity} |" in line


def test_every_reference_table_is_documented(doc: str) -> None:
    tables = [
        p.name
        for p in resources.files("crmhub_dedupe.reference").iterdir()
        if p.name.endswith(".csv")
    ]
    assert tables
    for name in tables:
        assert f"`{name}`" in doc or f"reference/{name}" in doc, name
