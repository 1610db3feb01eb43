"""Finding the header row and turning header texts into stable property names."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from unidecode import unidecode

_NON_WORD = re.compile(r"[^0-9a-z]+")
LINEAGE_PREFIX = "_"


@dataclass(frozen=True)
class Column:
    """One column: its position, its header as written and its property name."""

    index: int
    header: str
    name: str


def normalize_name(text: str) -> str:
    """A stable, ASCII, snake_case property name for a header text.

    "Klant nr." -> "klant_nr", "E-mail adres" -> "e_mail_adres", "Straße" -> "strasse",
    "नाम" -> "naam". Leading underscores are dropped: they are reserved for the tap's own
    lineage properties.
    """
    ascii_text = unidecode(text).lower()
    name = _NON_WORD.sub("_", ascii_text).strip("_")
    if name and name[0].isdigit():
        name = f"c_{name}"
    return name


def cell_text(value: Any) -> str:
    """Text of a header cell as a person reads it (1.0 -> "1", None -> "")."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _is_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    stripped = value.strip()
    if not stripped:
        return False
    # Numbers and dates written as text are data, not headers.
    return not re.fullmatch(r"[-+]?[\d.,/: ]+", stripped)


def _filled(row: Sequence[Any]) -> int:
    return sum(1 for value in row if cell_text(value) != "")


def detect_header_row(rows: Sequence[Sequence[Any]]) -> int:
    """0-based index, within ``rows``, of the header row.

    The header is the first row whose filled cells are all text and cover at least 60% of
    the widest row seen: title rows ("Klantenlijst 2024") and sparse group-header rows above
    merged headers ("Klant" over three columns) fall short of that. Falls back to the first
    non-empty row.
    """
    widths = [_filled(row) for row in rows]
    if not widths or max(widths) == 0:
        return 0
    threshold = max(1, math.ceil(0.6 * max(widths)))
    for index, row in enumerate(rows):
        filled = [value for value in row if cell_text(value) != ""]
        if len(filled) >= threshold and all(_is_text(value) for value in filled):
            return index
    return next(index for index, width in enumerate(widths) if width > 0)


def header_texts(
    header: Sequence[Any],
    group_row: Sequence[Any] | None,
    merged_groups: Sequence[tuple[int, int]] = (),
) -> list[str]:
    """Header texts, prefixed by their merged group header when there is one.

    ``merged_groups`` are (first column, last column) ranges of merged cells in
    ``group_row``; a header under such a range becomes "Group Header".
    """
    texts = [cell_text(value) for value in header]
    if group_row is None or not merged_groups:
        return texts
    for first, last in merged_groups:
        group = cell_text(group_row[first]) if first < len(group_row) else ""
        if not group:
            continue
        for col in range(first, min(last, len(texts) - 1) + 1):
            texts[col] = f"{group} {texts[col]}".strip()
    return texts


def make_columns(texts: Sequence[str]) -> list[Column]:
    """Columns with unique, normalized names; blank headers become ``column_<n>``.

    Trailing columns with a blank header are dropped (Excel's phantom columns); a cell that
    turns up there in a data row is kept as an extra cell and flagged.
    """
    last = max((i for i, text in enumerate(texts) if text), default=-1)
    used: set[str] = set()
    columns: list[Column] = []
    for index, text in enumerate(texts[: last + 1]):
        base = normalize_name(text) or f"column_{index + 1}"
        name = base
        suffix = 2
        while name in used:
            name = f"{base}_{suffix}"
            suffix += 1
        used.add(name)
        columns.append(Column(index=index, header=text, name=name))
    return columns
