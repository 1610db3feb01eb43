"""Reading one cell as a typed value: integers, decimals (point or comma), booleans, dates
and datetimes in the shapes Dutch, German and English spreadsheets write them, Excel serial
dates, and calamine's own cell types (floats for integers, dates for midnight datetimes).

Every parser raises ``ValueError`` when the cell does not fit; the caller then keeps the
cell as the original string.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

TRUE_WORDS = frozenset({"ja", "j", "yes", "y", "true", "waar", "wahr", "oui"})
FALSE_WORDS = frozenset({"nee", "n", "no", "false", "onwaar", "falsch", "non", "nein"})
# Single letters are too weak alone (a column of initials): a column is only called boolean
# when it also holds a whole word.
WEAK_BOOLEAN_WORDS = frozenset({"j", "n", "y"})

_INT = re.compile(r"[+-]?(?:0|[1-9]\d{0,17})", re.ASCII)
_DOT_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?", re.ASCII)
_COMMA_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?", re.ASCII)
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_DMY_DATE = re.compile(r"(\d{1,2})([-./])(\d{1,2})\2(\d{4})", re.ASCII)
_TIME = re.compile(
    r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?\s*(Z|[+-]\d{2}:?\d{2})?", re.ASCII
)
_SERIAL = re.compile(r"\d{1,7}(?:\.\d+)?", re.ASCII)

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_MAX_SERIAL = 2958465  # 9999-12-31


class Mismatch(ValueError):
    """The cell does not fit the column's type."""


def parse_int(text: str) -> int:
    """ "42" -> 42; leading zeros ("0612…", postcodes) are text, not numbers."""
    if _INT.fullmatch(text):
        return int(text)
    raise Mismatch(text)


def parse_decimal(text: str, separator: str) -> Decimal:
    """ "1.234,56" (separator ",") or "1,234.56" (separator ".") -> Decimal("1234.56")."""
    if separator == ",":
        if not _COMMA_NUMBER.fullmatch(text):
            raise Mismatch(text)
        if "." in text:
            text = text.replace(".", "")
        text = text.replace(",", ".")
    else:
        if not _DOT_NUMBER.fullmatch(text):
            raise Mismatch(text)
        if "," in text:
            text = text.replace(",", "")
    digits = text.lstrip("+-")
    if len(digits) > 1 and digits[0] == "0" and digits[1] != ".":
        raise Mismatch(text)  # a leading zero: a code, not an amount
    return Decimal(text)


def parse_bool(text: str) -> bool:
    """ "ja"/"nee", "yes"/"no", "true"/"false" (any case) -> bool."""
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Mismatch(text)


def parse_date(text: str, order: str) -> dt.date:
    """ISO (2024-03-31), dd-mm-yyyy, dd.mm.yyyy, dd/mm/yyyy (or mm/dd with ``order='mdy'``)."""
    match = _ISO_DATE.fullmatch(text)
    try:
        if match:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        match = _DMY_DATE.fullmatch(text)
        if match:
            first, second, year = int(match[1]), int(match[3]), int(match[4])
            if order == "mdy":
                return dt.date(year, first, second)
            return dt.date(year, second, first)
    except ValueError as exc:
        raise Mismatch(text) from exc
    raise Mismatch(text)


def date_order_evidence(text: str) -> str | None:
    """ "dmy" or "mdy" when a day above 12 settles the order of ``text``, else None."""
    match = _DMY_DATE.fullmatch(text)
    if not match:
        return None
    first, second = int(match[1]), int(match[3])
    if first > 12 >= second:
        return "dmy"
    if second > 12 >= first:
        return "mdy"
    return None


def parse_datetime(text: str, order: str) -> dt.datetime:
    """A date as :func:`parse_date` reads it, then 'T' or a space and hh:mm[:ss[.ffffff]]."""
    for sep in ("T", " "):
        date_part, found, time_part = text.partition(sep)
        if found:
            break
    else:
        raise Mismatch(text)
    day = parse_date(date_part.strip(), order)
    match = _TIME.fullmatch(time_part.strip())
    if not match:
        raise Mismatch(text)
    hour, minute = int(match[1]), int(match[2])
    second = int(match[3] or 0)
    micro = int((match[4] or "0").ljust(6, "0"))
    tzinfo: dt.tzinfo | None = None
    if match[5]:
        tz = match[5]
        if tz == "Z":
            tzinfo = dt.UTC
        else:
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            tzinfo = dt.timezone(sign * offset)
    try:
        return dt.datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo)
    except ValueError as exc:
        raise Mismatch(text) from exc


def from_excel_serial(serial: float) -> dt.datetime:
    """Excel's 1900 date system: day 1 is 1900-01-01 (with Excel's 1900 leap-year bug)."""
    if not 0 < serial <= _MAX_SERIAL:
        raise Mismatch(str(serial))
    return EXCEL_EPOCH + dt.timedelta(days=serial)


def iso_datetime(value: dt.datetime) -> str:
    """ISO-8601 with a 'T' and seconds; microseconds only when present."""
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")


def cell_as_text(value: Any) -> str | None:
    """A calamine cell as a person reads it in the sheet (1.0 -> "1"); empty -> None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return iso_datetime(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


# Converters from text cells (CSV, or text in a workbook), by column type.
TextConverter = Callable[[str], Any]


def text_converter(type_name: str, *, decimal: str, date_order: str) -> TextConverter | None:
    """The function turning a non-empty text cell into a JSON value of ``type_name``.

    None for ``string`` (the text itself is the value).
    """
    if type_name == "integer":
        return parse_int
    if type_name == "number":
        return functools.partial(parse_decimal, separator=decimal)
    if type_name == "boolean":
        return parse_bool
    if type_name == "date":
        # Dates repeat (birth dates, order dates): remembering the last few thousand
        # readings makes most cells a dictionary lookup.
        @functools.lru_cache(maxsize=65536)
        def to_date(text: str) -> str:
            if _SERIAL.fullmatch(text):
                return from_excel_serial(float(text)).date().isoformat()
            return parse_date(text, date_order).isoformat()

        return to_date
    if type_name == "datetime":

        @functools.lru_cache(maxsize=65536)
        def to_datetime(text: str) -> str:
            if _SERIAL.fullmatch(text):
                return iso_datetime(from_excel_serial(float(text)))
            try:
                return iso_datetime(parse_datetime(text, date_order))
            except Mismatch:
                day = parse_date(text, date_order)
                return f"{day.isoformat()}T00:00:00"

        return to_datetime
    return None


def convert_workbook_cell(value: Any, type_name: str, text_convert: TextConverter | None) -> Any:
    """A calamine cell as a JSON value of ``type_name``; raises :class:`Mismatch`.

    Corrects calamine's reading: integer floats become ints, dates in a datetime column
    become midnight datetimes, numbers in a date column are Excel serial dates.
    """
    if isinstance(value, str):
        if text_convert is None:
            return value
        return text_convert(value)
    if type_name == "string":
        return cell_as_text(value)
    if isinstance(value, bool):
        if type_name == "boolean":
            return value
        raise Mismatch(str(value))
    if isinstance(value, float | int):
        if type_name == "integer":
            if isinstance(value, int) or value.is_integer():
                return int(value)
            raise Mismatch(repr(value))
        if type_name == "number":
            return int(value) if isinstance(value, float) and value.is_integer() else value
        if type_name == "date":
            return from_excel_serial(float(value)).date().isoformat()
        if type_name == "datetime":
            return iso_datetime(from_excel_serial(float(value)))
        raise Mismatch(repr(value))
    if isinstance(value, dt.datetime):
        if type_name == "datetime":
            return iso_datetime(value)
        if type_name == "date" and value.time() == dt.time(0):
            return value.date().isoformat()
        raise Mismatch(iso_datetime(value))
    if isinstance(value, dt.date):
        if type_name == "date":
            return value.isoformat()
        if type_name == "datetime":
            # calamine reads a midnight datetime as a date.
            return f"{value.isoformat()}T00:00:00"
        raise Mismatch(value.isoformat())
    raise Mismatch(str(value))
