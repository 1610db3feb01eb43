"""Plain fixed-width text files described by a small YAML layout (name, start, length, type).

Layout (YAML file or inline ``fields``)::

    fields:
      - {name: customer_id, start: 1, length: 6, type: integer}
      - {name: name, start: 7, length: 30}
      - {name: balance, start: 37, length: 10, type: decimal, scale: 2}
      - {name: since, start: 47, length: 8, type: date, date_format: "%Y%m%d"}

``start`` is the 1-based character column. Types: string (default), integer, decimal
(``scale`` implied decimals when the text has no point), date (ISO output).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from tap_legacy.errors import LegacyConfigError, LegacySourceError
from tap_legacy.lineage import add_lineage, error_record
from tap_legacy.readers.base import SourceReader

TYPES = ("string", "integer", "decimal", "date")


@dataclass(frozen=True)
class Column:
    """One field of the layout; ``start`` is 0-based here."""

    name: str
    start: int
    length: int
    type: str
    convert: Callable[[str], Any]
    schema: dict[str, Any]


def _decimal(scale: int) -> Callable[[str], Any]:
    def convert(text: str) -> str | None:
        text = text.strip().replace(" ", "")
        if not text:
            return None
        negative = text.endswith("-") or text.startswith("-")
        body = text.strip("+-")
        try:
            value = Decimal(body)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a decimal number") from None
        if not value.is_finite():
            raise ValueError(f"{text!r} is not a decimal number")
        if scale and "." not in body:
            value = value.scaleb(-scale)
        return str(-value if negative else value)

    return convert


def _integer(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an integer") from None


def _date(fmt: str) -> Callable[[str], Any]:
    def convert(text: str) -> str | None:
        text = text.strip()
        if not text or set(text) <= {"0"}:
            return None
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            raise ValueError(f"{text!r} is not a date in format {fmt}") from None

    return convert


def _string(strip: bool) -> Callable[[str], Any]:
    def convert(text: str) -> str:
        return text.rstrip() if strip else text

    return convert


def parse_layout(spec: Any, source: str) -> list[Column]:
    """Validate a layout (list of field dicts) and build columns; errors name the field."""
    if isinstance(spec, Mapping):
        spec = spec.get("fields")
    if not isinstance(spec, list) or not spec:
        raise LegacyConfigError(f"{source}: the layout needs a non-empty 'fields' list")
    columns: list[Column] = []
    for index, field in enumerate(spec, start=1):
        if not isinstance(field, Mapping):
            raise LegacyConfigError(f"{source}: field {index} is not a mapping")
        name = field.get("name")
        start, length = field.get("start"), field.get("length")
        kind = field.get("type", "string")
        where = f"{source}: field {index} ({name!r})"
        if not isinstance(name, str) or not name:
            raise LegacyConfigError(f"{where}: 'name' is required")
        if not isinstance(start, int) or start < 1:
            raise LegacyConfigError(f"{where}: 'start' must be a 1-based column (integer >= 1)")
        if not isinstance(length, int) or length < 1:
            raise LegacyConfigError(f"{where}: 'length' must be a positive integer")
        if kind not in TYPES:
            raise LegacyConfigError(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
        if kind == "integer":
            convert: Callable[[str], Any] = _integer
            schema: dict[str, Any] = {"type": ["integer", "null"]}
        elif kind == "decimal":
            convert = _decimal(int(field.get("scale", 0)))
            schema = {"type": ["string", "null"], "format": "x-singer.decimal"}
        elif kind == "date":
            convert = _date(str(field.get("date_format", "%Y-%m-%d")))
            schema = {"type": ["string", "null"], "format": "date"}
        else:
            convert = _string(bool(field.get("strip", True)))
            schema = {"type": ["string", "null"]}
        columns.append(Column(name, start - 1, length, kind, convert, schema))
    names = [c.name for c in columns]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise LegacyConfigError(f"{source}: field names used twice: {sorted(duplicates)}")
    return columns


class FixedWidthReader(SourceReader):
    """Line-oriented fixed-width text; each line is one record."""

    format_name = "fixed_width"

    def __init__(self, options: Mapping[str, Any], logger: logging.Logger) -> None:
        super().__init__(options, logger)
        if self.option("layout"):
            layout_path = Path(self.option("layout")).expanduser()
            try:
                spec = yaml.safe_load(layout_path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise LegacyConfigError(
                    f"cannot read layout {layout_path}: {exc.strerror}"
                ) from None
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                raise LegacySourceError(
                    f"the layout is not valid YAML: {getattr(exc, 'problem', exc)}",
                    file=str(layout_path),
                    line=mark.line + 1 if mark else None,
                    column=mark.column + 1 if mark else None,
                ) from None
            self.columns = parse_layout(spec, str(layout_path))
        else:
            self.columns = parse_layout(self.require("fields"), f"stream {options.get('name')!r}")
        self.encoding = self.option("encoding", "utf-8")
        self.skip_lines = int(self.option("skip_lines", 0))
        self.width = max(c.start + c.length for c in self.columns)

    def properties(self, sample_path: str | None) -> dict[str, Any]:
        """One property per layout field."""
        return {c.name: c.schema for c in self.columns}

    def read(self, path: str) -> Iterator[dict[str, Any]]:
        """Each non-blank line after ``skip_lines`` is a record; bad lines are error records."""
        keys = [c.name for c in self.columns]
        offset = 0
        number = 0
        with open(path, "rb") as handle:
            for line_number, raw in enumerate(handle, start=1):
                start_offset = offset
                offset += len(raw)
                if line_number <= self.skip_lines:
                    continue
                body = raw.rstrip(b"\r\n")
                if not body.strip():
                    continue
                number += 1
                try:
                    text = body.decode(self.encoding)
                except UnicodeDecodeError as exc:
                    yield error_record(
                        keys,
                        file=path,
                        number=number,
                        offset=start_offset,
                        line=line_number,
                        raw=body,
                        reason=f"byte 0x{body[exc.start]:02X} at line position "
                        f"{exc.start + 1} is not valid {self.encoding} (wrong encoding?)",
                    )
                    continue
                record: dict[str, Any] = {}
                failure = None
                for column in self.columns:
                    value = text[column.start : column.start + column.length]
                    try:
                        record[column.name] = column.convert(value)
                    except ValueError as exc:
                        failure = (
                            f"field {column.name} (columns {column.start + 1}-"
                            f"{column.start + column.length}): {exc}"
                        )
                        break
                if failure is not None:
                    yield error_record(
                        keys,
                        file=path,
                        number=number,
                        offset=start_offset,
                        line=line_number,
                        raw=body,
                        reason=failure,
                    )
                    continue
                yield add_lineage(record, path, number, start_offset, line_number)
