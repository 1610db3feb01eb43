"""Column-at-a-time conversion must agree with cell-by-cell conversion, and chunking must
keep row order and lose nothing."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tap_spreadsheet.bulk import bulk_converter
from tap_spreadsheet.values import Mismatch, text_converter
from taps_spreadsheet.spreadsheet_files import run_tap

CELLS = st.lists(
    st.one_of(st.none(), st.text(alphabet="0123456789+-.,", min_size=1, max_size=9)),
    min_size=1,
    max_size=30,
)


def one_by_one(type_name: str, decimal: str, column: list[str | None]) -> list[object] | None:
    convert = text_converter(type_name, decimal=decimal, date_order="dmy")
    assert convert is not None
    try:
        return [None if v is None else convert(v) for v in column]
    except Mismatch:
        return None


@settings(max_examples=150, deadline=None)
@given(CELLS, st.sampled_from([("integer", "."), ("number", "."), ("number", ",")]))
def test_bulk_agrees_with_cell_by_cell(column: list[str | None], kind: tuple[str, str]) -> None:
    type_name, decimal = kind
    cell = text_converter(type_name, decimal=decimal, date_order="dmy")
    bulk = bulk_converter(type_name, decimal=decimal, cell_converter=cell)
    assert bulk is not None
    expected = one_by_one(type_name, decimal, column)
    try:
        got: list[object] | None = bulk(column)
    except Mismatch:
        got = None
    assert got == expected


def test_chunks_keep_order_and_every_row(tmp_path: Path) -> None:
    lines = ["nr;bedrag;datum"]
    for i in range(1, 3001):
        if i == 1500:
            lines.append(f"{i};kapot;01-01-2020;extra cel")  # ragged, in the middle of a chunk
        elif i == 2100:
            lines.append(f"{i};onbekend;31-02-2020")  # cells that do not fit their type
        else:
            lines.append(f"{i};{i},{i % 100:02d};{(i % 28) + 1:02d}-01-2020")
    path = tmp_path / "groot.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = run_tap({"files": [{"path": str(path)}]})
    records = run.records()
    assert [r["_source_row"] for r in records] == list(range(2, 3002))
    assert records[1499]["_row_error"].startswith("row has 4 cells")
    assert records[1499]["nr"] == "1500"
    assert records[2099]["bedrag"] == "onbekend"
    assert records[2099]["datum"] == "31-02-2020"
    assert records[2098]["bedrag"] == 2099.99
    assert records[0]["datum"] == "2020-01-02"
    assert run.tap.summary.cells_kept_as_text == {"bedrag": 1, "datum": 1}
