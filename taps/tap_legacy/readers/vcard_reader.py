"""vCard 2.1, 3.0 and 4.0 (.vcf exports of Outlook, Google Contacts, phones).

Each card is one record with several emails, phones and addresses. vCard 2.1's
QUOTED-PRINTABLE values (with soft line breaks) and CHARSET parameters are decoded per
property, so one file may mix code pages. A card that cannot be read (no END:VCARD, a line
without a colon, an unknown charset) is emitted as an error record with its raw bytes.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import logging
import quopri
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_legacy.errors import RecordDecodeError
from tap_legacy.lineage import add_lineage, error_record
from tap_legacy.readers.base import SourceReader
from tap_legacy.readers.textlines import RawLine, raw_lines

_STRING = {"type": ["string", "null"]}
_TYPED_VALUE = {
    "type": "object",
    "properties": {
        "value": {"type": ["string", "null"]},
        "types": {"type": "array", "items": {"type": "string"}},
        "pref": {"type": "boolean"},
    },
}
_ADDRESS = {
    "type": "object",
    "properties": {
        "po_box": _STRING,
        "extended": _STRING,
        "street": _STRING,
        "city": _STRING,
        "region": _STRING,
        "postal_code": _STRING,
        "country": _STRING,
        "label": _STRING,
        "types": {"type": "array", "items": {"type": "string"}},
        "pref": {"type": "boolean"},
    },
}
PROPERTIES: dict[str, Any] = {
    "version": _STRING,
    "uid": _STRING,
    "full_name": _STRING,
    "family_name": _STRING,
    "given_name": _STRING,
    "additional_names": _STRING,
    "name_prefix": _STRING,
    "name_suffix": _STRING,
    "nickname": _STRING,
    "organization": _STRING,
    "org_unit": _STRING,
    "title": _STRING,
    "role": _STRING,
    "birthday": _STRING,
    "note": _STRING,
    "revision": _STRING,
    "categories": {"type": ["array", "null"], "items": {"type": "string"}},
    "urls": {"type": ["array", "null"], "items": {"type": "string"}},
    "emails": {"type": ["array", "null"], "items": _TYPED_VALUE},
    "phones": {"type": ["array", "null"], "items": _TYPED_VALUE},
    "addresses": {"type": ["array", "null"], "items": _ADDRESS},
}
SIMPLE = {
    "VERSION": "version",
    "UID": "uid",
    "FN": "full_name",
    "NICKNAME": "nickname",
    "TITLE": "title",
    "ROLE": "role",
    "BDAY": "birthday",
    "NOTE": "note",
    "REV": "revision",
}
VERSIONS = ("2.1", "3.0", "4.0")
_UNESCAPE = re.compile(r"\\(.)")


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _split(text: str, separator: str) -> list[str]:
    """Split on unescaped ``separator``, then unescape each part."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append(_unescape("".join(current)))
            current = []
        else:
            current.append(char)
    parts.append(_unescape("".join(current)))
    return parts


@dataclass
class Card:
    """Raw lines of one card while it is being collected."""

    start: RawLine
    lines: list[RawLine] = field(default_factory=list)

    def raw(self) -> bytes:
        """The card's lines as they were in the file (for the error record)."""
        return b"\n".join(line.data for line in [self.start, *self.lines])


def _logical_lines(lines: list[RawLine]) -> list[tuple[RawLine, bytes]]:
    """Unfold continuation lines (leading blank) and quoted-printable soft breaks."""
    logical: list[tuple[RawLine, bytes]] = []
    for line in lines:
        if logical and line.data[:1] in (b" ", b"\t"):
            first, data = logical[-1]
            logical[-1] = (first, data + line.data[1:])
            continue
        if logical:
            first, data = logical[-1]
            head = data.split(b":", 1)[0].upper()
            if b"QUOTED-PRINTABLE" in head and data.endswith(b"="):
                logical[-1] = (first, data[:-1] + line.data.lstrip(b" \t") + b"")
                # a soft break: "=\r\n" joins lines; keep the original "=" semantics
                continue
        logical.append((line, line.data))
    return logical


def _params(raw_params: list[str]) -> tuple[dict[str, str], list[str], bool]:
    """(named params, TYPE values, pref) from ``;``-separated parameters."""
    named: dict[str, str] = {}
    types: list[str] = []
    pref = False
    for param in raw_params:
        if "=" in param:
            key, value = param.split("=", 1)
            key = key.upper()
            value = value.strip('"')
            if key == "TYPE":
                for item in value.split(","):
                    if item.upper() == "PREF":
                        pref = True
                    elif item:
                        types.append(item.lower())
            elif key == "PREF":
                pref = True
            else:
                named[key] = value
        elif param.upper() == "PREF":
            pref = True
        elif param.upper() in ("QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT"):
            named["ENCODING"] = param.upper()
        elif param:
            types.append(param.lower())  # vCard 2.1 bare types: TEL;HOME;VOICE:
    return named, types, pref


class VcardReader(SourceReader):
    """Reads .vcf files; one record per BEGIN:VCARD ... END:VCARD."""

    format_name = "vcard"

    def __init__(self, options: Mapping[str, Any], logger: logging.Logger) -> None:
        super().__init__(options, logger)
        self.encoding = self.option("encoding", "utf-8")
        codecs.lookup(self.encoding)

    def properties(self, sample_path: str | None) -> dict[str, Any]:
        """Fixed schema: names, organization, lists of emails, phones, addresses."""
        return dict(PROPERTIES)

    def read(self, path: str) -> Iterator[dict[str, Any]]:
        """Cards in file order; broken cards become error records."""
        number = 0
        card: Card | None = None
        stray: list[RawLine] = []
        with open(path, "rb") as handle:
            for line in raw_lines(handle):
                upper = line.data.strip().upper()
                if upper == b"BEGIN:VCARD":
                    if stray:
                        number += 1
                        yield self._stray(path, number, stray)
                        stray = []
                    if card is not None:
                        number += 1
                        yield self._broken(
                            path,
                            number,
                            card,
                            f"BEGIN:VCARD at line {card.start.number} has no END:VCARD before the "
                            f"next BEGIN:VCARD at line {line.number}",
                        )
                    card = Card(line)
                elif card is None:
                    if line.data.strip():
                        stray.append(line)
                elif upper == b"END:VCARD":
                    number += 1
                    yield self._card(path, number, card)
                    card = None
                else:
                    card.lines.append(line)
        if stray:
            number += 1
            yield self._stray(path, number, stray)
        if card is not None:
            number += 1
            yield self._broken(
                path,
                number,
                card,
                f"BEGIN:VCARD at line {card.start.number} has no END:VCARD (the file ends)",
            )

    def _stray(self, path: str, number: int, lines: list[RawLine]) -> dict[str, Any]:
        return error_record(
            PROPERTIES,
            file=path,
            number=number,
            offset=lines[0].offset,
            line=lines[0].number,
            raw=b"\n".join(line.data for line in lines),
            reason=f"{len(lines)} line(s) outside BEGIN:VCARD/END:VCARD starting at line "
            f"{lines[0].number}",
        )

    def _broken(self, path: str, number: int, card: Card, reason: str) -> dict[str, Any]:
        return error_record(
            PROPERTIES,
            file=path,
            number=number,
            offset=card.start.offset,
            line=card.start.number,
            raw=card.raw(),
            reason=reason,
        )

    def _card(self, path: str, number: int, card: Card) -> dict[str, Any]:
        try:
            record = self._parse(card)
        except RecordDecodeError as exc:
            return self._broken(path, number, card, exc.reason())
        return add_lineage(record, path, number, card.start.offset, card.start.number)

    def _decode(self, line: RawLine, value: bytes, named: dict[str, str]) -> str:
        charset = named.get("CHARSET", self.encoding)
        encoding = named.get("ENCODING", "").upper()
        try:
            if encoding == "QUOTED-PRINTABLE":
                value = quopri.decodestring(value)
            elif encoding in ("BASE64", "B"):
                value = base64.b64decode(value, validate=False)
            return value.decode(charset)
        except LookupError:
            raise RecordDecodeError(f"line {line.number}: unknown CHARSET {charset!r}") from None
        except UnicodeDecodeError as exc:
            raise RecordDecodeError(
                f"line {line.number}: byte 0x{exc.object[exc.start]:02X} is not valid {charset} "
                "(wrong charset? set 'encoding' or check the CHARSET parameter)"
            ) from None
        except (binascii.Error, ValueError) as exc:
            raise RecordDecodeError(
                f"line {line.number}: invalid {encoding} value: {exc}"
            ) from None

    def _parse(self, card: Card) -> dict[str, Any]:
        record: dict[str, Any] = dict.fromkeys(PROPERTIES)
        emails: list[dict[str, Any]] = []
        phones: list[dict[str, Any]] = []
        addresses: list[dict[str, Any]] = []
        urls: list[str] = []
        categories: list[str] = []
        labels: list[str] = []
        for line, data in _logical_lines(card.lines):
            if not data.strip():
                continue
            if b":" not in data:
                raise RecordDecodeError(f"line {line.number}: no ':' in a vCard property line")
            head, value = data.split(b":", 1)
            try:
                head_text = head.decode("ascii")
            except UnicodeDecodeError:
                raise RecordDecodeError(
                    f"line {line.number}: non-ASCII characters in the property name"
                ) from None
            name_part, *raw_params = head_text.split(";")
            name = name_part.rsplit(".", 1)[-1].upper()  # drop a group prefix (item1.EMAIL)
            named, types, pref = _params(raw_params)
            if name in ("PHOTO", "LOGO", "SOUND", "KEY"):
                continue  # binary attachments carry no customer data for the hub
            text = self._decode(line, value, named)
            if name in SIMPLE:
                record[SIMPLE[name]] = _unescape(text)
            elif name == "N":
                parts = [*_split(text, ";"), "", "", "", "", ""][:5]
                (
                    record["family_name"],
                    record["given_name"],
                    record["additional_names"],
                    record["name_prefix"],
                    record["name_suffix"],
                ) = [p or None for p in parts]
            elif name == "ORG":
                parts = _split(text, ";")
                record["organization"] = parts[0] or None
                record["org_unit"] = ";".join(p for p in parts[1:] if p) or None
            elif name == "EMAIL":
                emails.append({"value": _unescape(text), "types": types, "pref": pref})
            elif name == "TEL":
                value_text = _unescape(text)
                if value_text.lower().startswith("tel:"):
                    value_text = value_text[4:]
                phones.append({"value": value_text, "types": types, "pref": pref})
            elif name == "ADR":
                parts = [*_split(text, ";"), *[""] * 7][:7]
                address: dict[str, Any] = dict(
                    zip(
                        (
                            "po_box",
                            "extended",
                            "street",
                            "city",
                            "region",
                            "postal_code",
                            "country",
                        ),
                        [p or None for p in parts],
                        strict=True,
                    )
                )
                address.update(types=types, pref=pref, label=named.get("LABEL"))
                addresses.append(address)
            elif name == "LABEL":
                labels.append(_unescape(text))
            elif name == "URL":
                urls.append(_unescape(text))
            elif name == "CATEGORIES":
                categories.extend(c for c in _split(text, ",") if c)
        for index, label in enumerate(labels):
            if index < len(addresses) and not addresses[index]["label"]:
                addresses[index]["label"] = label
        if record["version"] not in VERSIONS:
            raise RecordDecodeError(
                f"VERSION {record['version']!r} is not 2.1, 3.0 or 4.0 (line {card.start.number})"
            )
        record.update(
            emails=emails, phones=phones, addresses=addresses, urls=urls, categories=categories
        )
        return record
