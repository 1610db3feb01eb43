"""XML exports, read as a stream (``iterparse``) so a 2 GB file never loads into memory.

``record_path`` names the record element: ``/export/customers/customer`` (absolute),
``//customer`` or ``customer`` (any depth); prefixes come from ``namespaces``. Each field is an
XPath 1.0 expression relative to the record element (``@id``, ``c:name``,
``c:emails/c:email`` ...). Done elements are cleared as the parse goes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from tap_legacy.errors import LegacyConfigError, LegacySourceError
from tap_legacy.lineage import add_lineage, error_record
from tap_legacy.readers.base import SourceReader

TYPES = ("string", "integer", "decimal", "boolean", "list")
SCHEMAS = {
    "string": {"type": ["string", "null"]},
    "integer": {"type": ["integer", "null"]},
    "decimal": {"type": ["string", "null"], "format": "x-singer.decimal"},
    "boolean": {"type": ["boolean", "null"]},
    "list": {"type": ["array", "null"], "items": {"type": "string"}},
}


def _text(node: Any) -> str:
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (int, float, bool)):
        return str(node)
    return "".join(node.itertext()).strip()


def _convert(kind: str, values: list[str]) -> Any:
    if kind == "list":
        return values
    if not values or values[0] == "":
        return None
    value = values[0]
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an integer") from None
    if kind == "decimal":
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a decimal number")
        return str(number)
    if kind == "boolean":
        lowered = value.lower()
        if lowered in ("true", "1", "yes", "y"):
            return True
        if lowered in ("false", "0", "no", "n"):
            return False
        raise ValueError(f"{value!r} is not a boolean")
    return value


class XmlReader(SourceReader):
    """Streams record elements out of an XML file."""

    format_name = "xml"

    def __init__(self, options: Mapping[str, Any], logger: logging.Logger) -> None:
        super().__init__(options, logger)
        self.namespaces: dict[str, str] = dict(self.option("namespaces", {}))
        record_path = str(self.require("record_path"))
        self.anywhere = not record_path.startswith("/") or record_path.startswith("//")
        steps = [s for s in record_path.strip("/").split("/") if s]
        if not steps or any(s in (".", "..", "*") or "[" in s for s in steps):
            raise LegacyConfigError(
                f"record_path {record_path!r}: use element names only (/a/b/c, //c or c)"
            )
        self.steps = [self._clark(s) for s in steps]
        fields = self.require("fields")
        if not isinstance(fields, Mapping):
            raise LegacyConfigError("xml 'fields' must map field names to XPath expressions")
        self.fields: list[tuple[str, str, Callable[[Any], Any]]] = []
        self.kinds: dict[str, str] = {}
        for name, spec in fields.items():
            path, kind = (
                (spec, "string")
                if isinstance(spec, str)
                else (spec.get("path"), spec.get("type", "string"))
            )
            if kind not in TYPES:
                raise LegacyConfigError(f"xml field {name!r}: type {kind!r} not in {TYPES}")
            try:
                compiled = etree.XPath(path, namespaces=self.namespaces)
            except (etree.XPathSyntaxError, TypeError) as exc:
                raise LegacyConfigError(
                    f"xml field {name!r}: invalid XPath {path!r}: {exc}"
                ) from None
            self.fields.append((name, kind, compiled))
            self.kinds[name] = kind

    def _clark(self, step: str) -> str:
        if ":" in step:
            prefix, local = step.split(":", 1)
            if prefix not in self.namespaces:
                raise LegacyConfigError(
                    f"record_path uses prefix {prefix!r}, which is not in 'namespaces'"
                )
            return f"{{{self.namespaces[prefix]}}}{local}"
        return step

    def properties(self, sample_path: str | None) -> dict[str, Any]:
        """One property per configured field, typed by its ``type``."""
        return {name: SCHEMAS[kind] for name, kind in self.kinds.items()}

    def _matches(self, stack: list[str]) -> bool:
        n = len(self.steps)
        if self.anywhere:
            return stack[-n:] == self.steps
        return stack == self.steps

    def read(self, path: str) -> Iterator[dict[str, Any]]:
        """Record elements in document order; malformed XML stops with line and column."""
        keys = list(self.kinds)
        number = 0
        stack: list[str] = []
        depth_of_record: int | None = None
        try:
            for event, element in _events(path):
                if event == "start":
                    stack.append(element.tag)
                    if depth_of_record is None and self._matches(stack):
                        depth_of_record = len(stack)
                    continue
                if depth_of_record is not None and len(stack) == depth_of_record:
                    number += 1
                    yield self._record(path, number, element, keys)
                    depth_of_record = None
                    element.clear(keep_tail=False)
                    parent = element.getparent()
                    if parent is not None:
                        while element.getprevious() is not None:
                            del parent[0]
                elif depth_of_record is None and len(stack) > 1:
                    element.clear(keep_tail=False)
                stack.pop()
        except etree.XMLSyntaxError as exc:
            line, column = exc.position if exc.position else (None, None)
            raise LegacySourceError(
                f"malformed XML after record {number}: {exc.msg}",
                file=path,
                line=line,
                column=column,
                hint="records before this point were emitted; repair the file and re-run",
            ) from None

    def _record(self, path: str, number: int, element: Any, keys: list[str]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for name, kind, compiled in self.fields:
            try:
                found = compiled(element)
                values = [_text(n) for n in found] if isinstance(found, list) else [_text(found)]
                record[name] = _convert(kind, values)
            except (ValueError, etree.XPathEvalError) as exc:
                raw = etree.tostring(element, encoding="utf-8")
                return error_record(
                    keys,
                    file=path,
                    number=number,
                    offset=None,
                    line=element.sourceline,
                    raw=raw,
                    reason=f"field {name} (line {element.sourceline}): {exc}",
                )
        return add_lineage(record, path, number, None, element.sourceline)


# Small enough that the queued events of one chunk hold few elements at a time.
_CHUNK = 16 * 1024


def _events(path: str) -> Iterator[tuple[str, Any]]:
    """Parse events of a file fed in chunks; the events before a syntax error come first.

    ``etree.iterparse`` (lxml 6.2) drops the events of the chunk that holds the error, so
    the records before a break would not be emitted; a pull parser keeps them.
    """
    parser = etree.XMLPullParser(
        events=("start", "end"),
        remove_blank_text=True,
        huge_tree=True,
        resolve_entities=False,
        no_network=True,
    )
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            try:
                parser.feed(chunk)
            except etree.XMLSyntaxError:
                yield from parser.read_events()
                raise
            yield from parser.read_events()
    try:
        parser.close()
    except etree.XMLSyntaxError:
        yield from parser.read_events()
        raise
    yield from parser.read_events()
