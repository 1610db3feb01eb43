"""Reading Singer messages fast: one ``orjson.loads`` per line, BATCH files expanded."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse

import orjson

from crmhub.errors import SingerProtocolError


def parse_line(line: bytes, line_number: int, last_stream: str | None) -> dict[str, Any]:
    """One Singer message; anything else is a SingerProtocolError naming the line."""
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        preview = line[:80].decode("utf-8", errors="replace").rstrip()
        cut = not line.endswith(b"\n") or "unexpected end of data" in str(exc)
        what = "a truncated message" if cut and line.lstrip().startswith(b"{") else "not JSON"
        raise SingerProtocolError(
            f"line {line_number} of the tap's output is {what} ({exc}): {preview!r}",
            line_number=line_number,
            stream=last_stream,
            hint="the tap is broken or was interrupted; fix it and re-run (nothing is duplicated)",
        ) from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise SingerProtocolError(
            f'line {line_number} of the tap\'s output is not a Singer message (no "type")',
            line_number=line_number,
            stream=last_stream,
        )
    return message


def batch_records(message: dict[str, Any], line_number: int) -> Iterator[Any]:
    """The records of a BATCH message's jsonl files (plain or gzip), in order."""
    encoding = message.get("encoding") or {}
    fmt = encoding.get("format", "jsonl")
    if fmt != "jsonl":
        raise SingerProtocolError(
            f"line {line_number}: BATCH format {fmt!r} is not supported (only jsonl)",
            line_number=line_number,
            stream=message.get("stream"),
        )
    compression = encoding.get("compression") or "none"
    for url in message.get("manifest") or []:
        path = _local_path(url, line_number, message.get("stream"))
        opener: Any = gzip.open if compression == "gzip" or path.suffix == ".gz" else open
        try:
            with opener(path, "rb") as handle:
                yield from _jsonl(handle, path, message.get("stream"))
        except OSError as exc:
            raise SingerProtocolError(
                f"line {line_number}: cannot read BATCH file {path}: {exc}",
                line_number=line_number,
                stream=message.get("stream"),
            ) from None


def _jsonl(handle: IO[bytes], path: Path, stream: str | None) -> Iterator[Any]:
    loads = orjson.loads
    number = 0
    try:
        for number, line in enumerate(handle, 1):  # noqa: B007 - named in the error
            if line.strip():
                yield loads(line)
    except orjson.JSONDecodeError as exc:
        raise SingerProtocolError(
            f"BATCH file {path}, line {number}: not JSON ({exc})", stream=stream
        ) from None


def _local_path(url: str, line_number: int, stream: str | None) -> Path:
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    raise SingerProtocolError(
        f"line {line_number}: BATCH manifest URL {url!r} is not a local file",
        line_number=line_number,
        stream=stream,
        hint="configure the tap's batch_config to write to a local folder",
    )
