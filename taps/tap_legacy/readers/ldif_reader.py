"""LDIF address books (RFC 2849 content records), e.g. Thunderbird or directory exports.

One entry per record. Common address-book attributes are mapped to named fields; every
attribute is also kept under ``attributes`` (name -> list of values) so nothing is lost.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from tap_legacy.errors import RecordDecodeError
from tap_legacy.lineage import add_lineage, error_record
from tap_legacy.readers.base import SourceReader
from tap_legacy.readers.textlines import RawLine, raw_lines

_STRING = {"type": ["string", "null"]}
_PHONE = {
    "type": "object",
    "properties": {"value": {"type": "string"}, "type": {"type": "string"}},
}
SINGLE = {
    "cn": "common_name",
    "givenname": "given_name",
    "sn": "family_name",
    "displayname": "display_name",
    "o": "organization",
    "ou": "org_unit",
    "title": "title",
    "street": "street",
    "postaladdress": "postal_address",
    "l": "city",
    "st": "region",
    "postalcode": "postal_code",
    "c": "country",
    "description": "description",
}
PHONES = {
    "telephonenumber": "work",
    "homephone": "home",
    "mobile": "mobile",
    "facsimiletelephonenumber": "fax",
    "pager": "pager",
}
PROPERTIES: dict[str, Any] = {
    "dn": _STRING,
    "object_classes": {"type": ["array", "null"], "items": {"type": "string"}},
    **{name: _STRING for name in SINGLE.values()},
    "emails": {"type": ["array", "null"], "items": {"type": "string"}},
    "phones": {"type": ["array", "null"], "items": _PHONE},
    "attributes": {
        "type": ["object", "null"],
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
}


class LdifReader(SourceReader):
    """Reads .ldif files; entries are separated by blank lines."""

    format_name = "ldif"

    def __init__(self, options: Mapping[str, Any], logger: logging.Logger) -> None:
        super().__init__(options, logger)
        self.encoding = self.option("encoding", "utf-8")

    def properties(self, sample_path: str | None) -> dict[str, Any]:
        """Fixed schema plus the open ``attributes`` object."""
        return dict(PROPERTIES)

    def read(self, path: str) -> Iterator[dict[str, Any]]:
        """Each entry is a record; broken entries become error records."""
        number = 0
        entry: list[RawLine] = []
        with open(path, "rb") as handle:
            for line in raw_lines(handle):
                if line.data.strip():
                    entry.append(line)
                    continue
                if entry:
                    record = self._entry(path, number + 1, entry)
                    if record is not None:
                        number += 1
                        yield record
                    entry = []
            if entry:
                record = self._entry(path, number + 1, entry)
                if record is not None:
                    yield record

    def _entry(self, path: str, number: int, lines: list[RawLine]) -> dict[str, Any] | None:
        content = [line for line in lines if not line.data.startswith(b"#")]
        if not content:
            return None
        if len(content) == 1 and content[0].data.lower().startswith(b"version:"):
            return None  # the file's "version: 1" line
        start = content[0]
        try:
            record = self._parse(content)
        except RecordDecodeError as exc:
            return error_record(
                PROPERTIES,
                file=path,
                number=number,
                offset=start.offset,
                line=start.number,
                raw=b"\n".join(line.data for line in lines),
                reason=exc.reason(),
            )
        return add_lineage(record, path, number, start.offset, start.number)

    def _parse(self, lines: list[RawLine]) -> dict[str, Any]:
        logical: list[tuple[RawLine, bytes]] = []
        for line in lines:
            if line.data.startswith(b" ") and logical:
                first, data = logical[-1]
                logical[-1] = (first, data + line.data[1:])
            else:
                logical.append((line, line.data))
        if logical and logical[0][1].lower().startswith(b"version:"):
            logical = logical[1:]
        attributes: dict[str, list[str]] = {}
        order: list[str] = []
        for line, data in logical:
            if b":" not in data:
                raise RecordDecodeError(f"line {line.number}: no ':' in an LDIF attribute line")
            name_bytes, value = data.split(b":", 1)
            name = name_bytes.decode("ascii", errors="replace").strip()
            if value.startswith(b":"):
                try:
                    decoded = base64.b64decode(value[1:].strip(), validate=True)
                except (binascii.Error, ValueError):
                    raise RecordDecodeError(
                        f"line {line.number}: attribute {name} has invalid base64"
                    ) from None
            elif value.startswith(b"<"):
                raise RecordDecodeError(
                    f"line {line.number}: attribute {name} refers to a URL ({value[1:].strip()!r}); "
                    "URL values are not read"
                )
            else:
                decoded = value.lstrip(b" ")
            try:
                text = decoded.decode(self.encoding)
            except UnicodeDecodeError as exc:
                raise RecordDecodeError(
                    f"line {line.number}: attribute {name}: byte 0x{decoded[exc.start]:02X} is "
                    f"not valid {self.encoding}"
                ) from None
            key = name.split(";", 1)[0]
            if key not in attributes:
                order.append(key)
            attributes.setdefault(key, []).append(text)
        if not order or order[0].lower() != "dn":
            raise RecordDecodeError(f"line {lines[0].number}: the entry does not start with dn:")
        changetype = attributes.get("changetype", ["add"])[0].lower()
        if changetype != "add":
            raise RecordDecodeError(
                f"line {lines[0].number}: changetype {changetype} is a change record, not an entry"
            )
        lower = {k.lower(): v for k, v in attributes.items()}
        record: dict[str, Any] = dict.fromkeys(PROPERTIES)
        record["dn"] = lower["dn"][0]
        record["object_classes"] = lower.get("objectclass", [])
        for attribute, key in SINGLE.items():
            if attribute in lower:
                record[key] = "\n".join(lower[attribute])
        record["emails"] = lower.get("mail", [])
        record["phones"] = [
            {"value": value, "type": kind}
            for attribute, kind in PHONES.items()
            for value in lower.get(attribute, [])
        ]
        record["attributes"] = {k: v for k, v in attributes.items() if k.lower() != "dn"}
        return record
