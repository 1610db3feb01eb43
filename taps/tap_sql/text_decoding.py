"""Decoding of text columns in the tap, so that a bad byte costs one marked value, not a run.

Drivers decode text themselves and raise on the first byte that does not fit the charset,
which kills the whole result set. Where stored bytes can be invalid (SQLite TEXT, MySQL
columns whose declared charset is wrong, PostgreSQL ``SQL_ASCII`` databases) the tap reads
the raw bytes and decodes them here. A value that does not decode is replaced by the text
decoded with U+FFFD markers in place of the bad bytes, and the row gets a ``_row_error``.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from tap_sql.errors import TapSQLConfigurationError

#: The JSON property that carries decoding problems of a row (null when the row is clean).
ROW_ERROR_PROPERTY = "_row_error"

#: Marker put in place of every undecodable byte sequence.
MARKER = "\ufffd"

_MYSQL_LATIN1 = "tap_sql_mysql_latin1"

# MySQL's "latin1" is Windows-1252, except that the five bytes cp1252 leaves undefined
# (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1 control characters of the same number.
_CP1252_HOLES = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})


def _mysql_latin1_holes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    if all(byte in _CP1252_HOLES for byte in chunk):
        return "".join(chr(byte) for byte in chunk), error.end
    raise error


codecs.register_error(_MYSQL_LATIN1, _mysql_latin1_holes)

# MySQL / MariaDB charset names -> Python codecs.
_MYSQL_CHARSETS: dict[str, str] = {
    "utf8mb4": "utf-8",
    "utf8mb3": "utf-8",
    "utf8": "utf-8",
    "latin1": "cp1252",
    "ascii": "ascii",
    "latin2": "iso8859-2",
    "latin5": "iso8859-9",
    "latin7": "iso8859-13",
    "greek": "iso8859-7",
    "hebrew": "iso8859-8",
    "cp1250": "cp1250",
    "cp1251": "cp1251",
    "cp1256": "cp1256",
    "cp1257": "cp1257",
    "cp850": "cp850",
    "cp852": "cp852",
    "cp866": "cp866",
    "koi8r": "koi8-r",
    "koi8u": "koi8-u",
    "macroman": "mac-roman",
    "macce": "mac-latin2",
    "sjis": "shift_jis",
    "cp932": "cp932",
    "ujis": "euc_jp",
    "eucjpms": "euc_jp",
    "euckr": "euc_kr",
    "gbk": "gbk",
    "gb2312": "gb2312",
    "gb18030": "gb18030",
    "big5": "big5",
    "tis620": "tis-620",
    "ucs2": "utf-16-be",
    "utf16": "utf-16-be",
    "utf16le": "utf-16-le",
    "utf32": "utf-32-be",
    "binary": "",
}


def codec_for_charset(charset: str, *, where: str) -> str:
    """Return the Python codec for a charset name (MySQL names or any Python codec name).

    ``where`` names the setting or column for the error message.
    """
    name = charset.strip().lower()
    if name in _MYSQL_CHARSETS:
        return _MYSQL_CHARSETS[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise TapSQLConfigurationError(
            f"{where}: unknown character set {charset!r}",
            hint="use a MySQL charset name (latin1, utf8mb4, cp1250 ...) or a Python codec "
            "name (utf-8, cp1252, iso8859-15 ...)",
        ) from None


@dataclass(frozen=True, slots=True)
class DecodedText:
    """A decoded value and, when bytes were bad, what went wrong."""

    text: str
    error: str | None


def decode_text(raw: bytes, codec: str, *, column: str) -> DecodedText:
    """Decode ``raw`` with ``codec``; bad bytes become U+FFFD and an error is reported."""
    errors = _MYSQL_LATIN1 if codec == "cp1252" else "strict"
    try:
        return DecodedText(raw.decode(codec, errors), None)
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.end].hex(" ")
        text = raw.decode(codec, "replace")
        message = (
            f"column {column!r}: bytes not valid {codec} at byte {exc.start} ({bad}); "
            f"bad bytes replaced by U+FFFD; raw value (hex): {raw.hex()}"
        )
        return DecodedText(text, message)


class UndecodedText(bytes):
    """Raw bytes of a SQLite TEXT value that is not valid UTF-8 (decoded later, with a marker).

    SQLite's ``text_factory`` cannot report which column failed, so it hands this marker
    type on and the row converter, which knows the column, turns it into text and an error.
    """


def sqlite_text_factory(raw: bytes) -> str | UndecodedText:
    """``sqlite3`` text factory: UTF-8 text, or the raw bytes tagged as undecodable."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return UndecodedText(raw)
