"""Reading CSV / TSV / TXT files: encoding, delimiter sniffing, quoting, embedded newlines."""

from __future__ import annotations

import csv
import functools
import io
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from tap_spreadsheet.encoding import decode_bytes
from tap_spreadsheet.errors import SpreadsheetFileError
from tap_spreadsheet.tables import RawTable, extension_of

CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_ROWS = 50
_SNIFF_CHARS = 64 * 1024
# Characters of text per chunk of lines (a few thousand rows).
_LINE_CHUNK_CHARS = 256 * 1024

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def sniff_delimiter(text: str, quotechar: str, default: str) -> str:
    """The candidate delimiter that splits the first rows most consistently into >1 cells."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:
        # Do not judge on a half row at the cut.
        sample = sample[: sample.rfind("\n") + 1] or sample
    best: tuple[float, int, int] = (0.0, 0, 0)
    best_delimiter = default
    for priority, delimiter in enumerate(reversed(CANDIDATE_DELIMITERS)):
        reader = csv.reader(
            io.StringIO(sample, newline=""), delimiter=delimiter, quotechar=quotechar
        )
        counts = [len(row) for _, row in zip(range(_SNIFF_ROWS), reader, strict=False) if row]
        if not counts:
            continue
        mode, hits = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (hits / len(counts), mode, priority)
        if score > best:
            best, best_delimiter = score, delimiter
    return best_delimiter


def read_text_table(
    path: str,
    *,
    encoding: str | None,
    delimiter: str | None,
    quotechar: str,
) -> RawTable:
    """Decode and split a text file; raises :class:`SpreadsheetFileError` when unreadable."""
    key = _cache_key(path, encoding, delimiter, quotechar)
    if key is not None and key in _DECODED:
        return _DECODED[key]
    table = _read_text_table(path, encoding=encoding, delimiter=delimiter, quotechar=quotechar)
    if key is not None:
        # Discovery samples the file and the sync reads it: keep the last one decoded.
        _DECODED.clear()
        _DECODED[key] = table
    return table


_DECODED: dict[tuple[object, ...], RawTable] = {}


def _cache_key(
    path: str, encoding: str | None, delimiter: str | None, quotechar: str
) -> tuple[object, ...] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (os.path.abspath(path), stat.st_size, stat.st_mtime_ns, encoding, delimiter, quotechar)


def _read_text_table(
    path: str,
    *,
    encoding: str | None,
    delimiter: str | None,
    quotechar: str,
) -> RawTable:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError as exc:
        raise SpreadsheetFileError(
            path,
            "the file disappeared before it could be read",
            hint="check whether another process moves or deletes files in this folder",
        ) from exc
    except OSError as exc:
        raise SpreadsheetFileError(path, f"cannot open the file: {exc.strerror}") from exc
    if not data or data.isspace():  # (not data.strip(): a copy of the whole file)
        raise SpreadsheetFileError(path, "the file is empty", hint="export it again")
    decoded = decode_bytes(data, encoding)
    text = decoded.text
    if "\x00" in text:
        raise SpreadsheetFileError(
            path,
            f"the file holds NUL bytes when read as {decoded.encoding}: it is binary or in "
            "another encoding",
            hint="set `encoding` for this file (for example utf-16) or check its extension",
        )
    default = "\t" if extension_of(path) in (".tsv", ".tab") else ","
    chosen = delimiter or sniff_delimiter(text, quotechar, default)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        reader = csv.reader(_lines(text), delimiter=chosen, quotechar=quotechar)
        previous_line = 0
        for row in reader:
            start = previous_line + 1
            previous_line = reader.line_num
            yield start, row

    return RawTable(
        path=path,
        sheet=None,
        rows=rows,
        is_text=True,
        delimiter=chosen,
        encoding=decoded.encoding,
        has_undecodable=decoded.has_undecodable,
        trim_check=functools.partial(_may_need_trim, text, chosen, quotechar),
        line_chunks=_line_chunker(text, quotechar),
    )


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their line ends, as ``io.StringIO(text, newline="")`` gives.

    A StringIO over the whole text copies it at four bytes a character before the first
    line: a second or more for a large file when discovery only needs its first rows. Each
    piece here ends just after a line feed, so no CRLF pair is cut in two.
    """
    size, start = len(text), 0
    while start < size:
        end = text.find("\n", start + _LINE_CHUNK_CHARS)
        end = size if end < 0 else end + 1
        yield from io.StringIO(text[start:end], newline="")
        start = end


def _line_chunker(
    text: str, quotechar: str
) -> Callable[[], Iterator[tuple[int, list[str]]] | None]:
    """Lines in chunks, when splitting on line breaks finds exactly the rows csv.reader does.

    Without a quote character no cell can hold a line break or a delimiter, so each line is
    one row and its cells are the pieces between delimiters (an empty line is csv.reader's
    empty row). csv.reader also ends a row at a lone carriage return; a file with one keeps
    the csv.reader path (None). The checks scan the whole text, so they run when a sync
    reads the rows, not during discovery.
    """

    def line_chunks() -> Iterator[tuple[int, list[str]]] | None:
        if quotechar in text:
            return None
        crlf = "\r" in text
        if crlf and text.count("\r") != text.count("\r\n"):
            return None
        return _chunks(crlf)

    def _chunks(crlf: bool) -> Iterator[tuple[int, list[str]]]:
        size, start, row = len(text), 0, 1
        while start < size:
            end = text.find("\n", start + _LINE_CHUNK_CHARS)
            end = size if end < 0 else end + 1
            part = text[start:end]
            if crlf:
                part = part.replace("\r\n", "\n")
            lines = part.split("\n")
            if part.endswith("\n"):
                lines.pop()  # the empty piece after the last line break is no line
            yield row, lines
            row += len(lines)
            start = end

    return line_chunks


# Whitespace str.strip removes besides space, tab and line breaks.
_RARE_WHITESPACE = (
    "\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _last_character(text: str) -> str:
    """The last character before the trailing line breaks ("" if none), without a copy."""
    end = len(text)
    while end and text[end - 1] in "\r\n":
        end -= 1
    return text[end - 1] if end else ""


def _may_need_trim(text: str, delimiter: str, quotechar: str) -> bool:
    """Whether some cell may start or end with whitespace (one scan of the whole text).

    A cell's first character follows a delimiter, a line break, a quote or the start of the
    text; its last precedes one of those or the end. A space or tab in such a place, or any
    rarer whitespace character anywhere, means stripping may change a cell; otherwise it
    cannot, and the per-cell strip (a third of the time on a clean file) is skipped. (A
    quoted cell that starts or ends with a line break is the one case left unstripped.)
    """
    if not text or text[0] in " \t" or _last_character(text) in (" ", "\t"):
        return True
    if not text.isascii() and any(ch in text for ch in _RARE_WHITESPACE):
        return True
    if any(ch in text for ch in _RARE_WHITESPACE[:6]):
        return True
    edge = re.escape(delimiter + quotechar)
    # Anchored on the (rarer) whitespace character first, then looking back: a plain
    # alternation tried at every position is several times slower on large files.
    pattern = rf"[ \t](?<=[{edge}\r\n][ \t])|[ \t][{edge}\r\n]"
    return re.search(pattern, text) is not None
