"""Compile a parsed copybook into a record plan: one decoder and one encoder per output field.

Output field names are the COBOL names in snake case (``CUST-NAME`` -> ``cust_name``); a name
used twice is qualified by its group (``billing_city``, ``shipping_city``). Groups are
flattened; OCCURS gives a list (of values, or of objects for a group). A REDEFINES set (and
several 01 records, which redefine each other) becomes a switch: with ``record_types`` only the
alternative named for the record's type is decoded, the others are null.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tap_legacy.copybook import codecs as fc
from tap_legacy.copybook.items import DISPLAY, NATIVE_BINARY, PACKED, Item
from tap_legacy.copybook.parser import Copybook
from tap_legacy.errors import LegacyConfigError, RecordDecodeError


def snake(name: str) -> str:
    """COBOL data name -> field name: lower case, dashes to underscores."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


@dataclass(frozen=True)
class CodecOptions:
    """How bytes are read: code page, trailing-blank stripping, binary byte order."""

    codepage: str = "cp037"
    strip: bool = True
    byteorder: str = "big"
    #: COMP-5 is "native": little-endian when a PC COBOL (Micro Focus) wrote the file;
    #: ``None`` means the same order as COMP/BINARY.
    native_byteorder: str | None = None

    def order_for(self, usage: str) -> str:
        """Byte order of a binary item of ``usage``."""
        if usage == NATIVE_BINARY and self.native_byteorder is not None:
            return self.native_byteorder
        return self.byteorder


@dataclass(eq=False)
class FieldStep:
    """One output field: where it sits in the record and how to read and write it."""

    key: str
    item: Item
    start: int
    end: int
    decode: fc.Decoder
    encode: fc.Encoder
    schema: dict[str, Any]


@dataclass(eq=False)
class Switch:
    """A REDEFINES set: alternatives share bytes; ``names`` are the COBOL names (upper)."""

    names: list[str]
    alternatives: list[Plan]


@dataclass(eq=False)
class Plan:
    """The steps of one group level: plain fields and REDEFINES switches."""

    steps: list[FieldStep] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)

    def output_keys(self) -> list[str]:
        """Every output key this plan (and its alternatives) produces."""
        keys = [step.key for step in self.steps]
        for switch in self.switches:
            for alternative in switch.alternatives:
                keys.extend(alternative.output_keys())
        return keys

    def properties(self) -> dict[str, Any]:
        """JSON schema properties of every output key."""
        props = {step.key: step.schema for step in self.steps}
        for switch in self.switches:
            for alternative in switch.alternatives:
                props.update(alternative.properties())
        return props


def _elementary_codec(
    item: Item, options: CodecOptions, what: str
) -> tuple[Any, Any, dict[str, Any]]:
    pic = item.picture
    assert pic is not None  # noqa: S101  # elementary items always have a PICTURE (parser)
    usage = item.effective_usage()
    if pic.category != "numeric":
        size = pic.length
        schema: dict[str, Any] = {"type": ["string", "null"], "maxLength": size}
        return (
            fc.text_decoder(options.codepage, options.strip),
            fc.text_encoder(options.codepage, size, what),
            schema,
        )
    if pic.scale > 0:
        schema = {"type": ["string", "null"], "format": "x-singer.decimal"}
    else:
        schema = {"type": ["integer", "null"]}
    if usage == PACKED:
        return (
            fc.packed_decoder(pic.digits, pic.scale, pic.signed),
            fc.packed_encoder(pic.digits, pic.scale, pic.signed, what),
            schema,
        )
    if usage == DISPLAY:
        leading, separate = item.effective_sign()
        return (
            fc.zoned_decoder(
                pic.digits, pic.scale, pic.signed, leading, separate, options.codepage
            ),
            fc.zoned_encoder(
                pic.digits, pic.scale, pic.signed, leading, separate, options.codepage, what
            ),
            schema,
        )
    return (
        fc.binary_decoder(pic.scale, pic.signed, options.order_for(usage)),
        fc.binary_encoder(
            pic.digits,
            pic.scale,
            pic.signed,
            item.size,
            options.order_for(usage),
            usage == NATIVE_BINARY,
            what,
        ),
        schema,
    )


def _occurs_codec(
    item: Item, one_decode: fc.Decoder, one_encode: fc.Encoder, what: str
) -> tuple[fc.Decoder, fc.Encoder]:
    size, count = item.size, item.occurs

    def decode(raw: bytes) -> list[Any]:
        return [one_decode(raw[i : i + size]) for i in range(0, size * count, size)]

    def encode(values: Any) -> bytes:
        values = list(values or [])
        if len(values) > count:
            raise ValueError(f"{what}: {len(values)} values for OCCURS {count}")
        values += [None] * (count - len(values))
        return b"".join(one_encode(v) for v in values)

    return decode, encode


class _Namer:
    """Assigns unique snake-case keys, qualifying a repeated name by its group names."""

    def __init__(self, items: Sequence[Item]) -> None:
        self.counts: dict[str, int] = {}
        for item in items:
            self.counts[snake(item.name)] = self.counts.get(snake(item.name), 0) + 1
        self.used: set[str] = set()

    def key(self, item: Item) -> str:
        key = snake(item.name)
        parent = item.parent
        while (self.counts.get(key, 0) > 1 or key in self.used) and parent is not None:
            if parent.level > 0 and not parent.is_filler:
                key = f"{snake(parent.name)}_{key}"
            parent = parent.parent
        while key in self.used:
            key += "_"
        self.used.add(key)
        return key


def _named_items(item: Item) -> list[Item]:
    """Items that become keys at this plan level (children of groups flattened, no OCCURS)."""
    found: list[Item] = []
    for child in item.children:
        if child.is_filler and not child.children:
            continue
        if child.children and child.occurs == 1:
            found.extend(_named_items(child))
        else:
            found.append(child)
    return found


def _compile_group(
    members: Sequence[Item], base: int, options: CodecOptions, namer: _Namer, source: str
) -> Plan:
    """Plan for ``members`` (siblings), offsets relative to ``base``."""
    plan = Plan()
    index = 0
    while index < len(members):
        item = members[index]
        redefiners = []
        look = index + 1
        while look < len(members) and members[look].redefines is not None:
            if members[look].redefines.upper() == item.name.upper():  # type: ignore[union-attr]
                redefiners.append(members[look])
            else:
                break
            look += 1
        if redefiners:
            group = [item, *redefiners]
            plan.switches.append(
                Switch(
                    names=[m.name.upper() for m in group],
                    alternatives=[_compile_group([m], base, options, namer, source) for m in group],
                )
            )
            index = look
            continue
        index += 1
        if item.is_filler and not item.children:
            continue
        if item.children and item.occurs == 1:
            sub = _compile_group(item.children, base, options, namer, source)
            plan.steps.extend(sub.steps)
            plan.switches.extend(sub.switches)
            continue
        what = f"{item.name} ({source} line {item.line})"
        key = namer.key(item)
        if item.children:
            inner_namer = _Namer(_named_items(item))
            inner = _compile_group(item.children, item.offset, options, inner_namer, source)
            one_decode, one_encode, one_schema = _group_codec(
                inner, item, " ".encode(options.codepage)
            )
        else:
            one_decode, one_encode, one_schema = _elementary_codec(item, options, what)
        decode, encode, schema = one_decode, one_encode, one_schema
        if item.occurs > 1:
            decode, encode = _occurs_codec(item, one_decode, one_encode, what)
            schema = {"type": ["array", "null"], "items": one_schema}
        plan.steps.append(
            FieldStep(
                key=key,
                item=item,
                start=item.offset - base,
                end=item.offset - base + item.total_size,
                decode=decode,
                encode=encode,
                schema=schema,
            )
        )
    return plan


def _group_codec(
    inner: Plan, item: Item, fill: bytes
) -> tuple[fc.Decoder, fc.Encoder, dict[str, Any]]:
    """One occurrence of a group inside OCCURS: decoded to an object."""
    runner = PlanRunner(inner, size=item.size, record_type=None, fill=fill)

    def decode(raw: bytes) -> dict[str, Any]:
        return runner.decode(raw)

    def encode(value: Any) -> bytes:
        return runner.encode(value or {}, pad=True)

    schema = {"type": ["object", "null"], "properties": inner.properties()}
    return decode, encode, schema


@dataclass(frozen=True)
class RecordType:
    """Record-type switch: the field holding the type and type value -> alternative names."""

    step: FieldStep
    mapping: Mapping[str, frozenset[str]]


class PlanRunner:
    """Runs a plan over record bytes (decode) or over a dict (encode)."""

    def __init__(
        self,
        plan: Plan,
        size: int,
        record_type: RecordType | None,
        fill: bytes = b" ",
        options: CodecOptions | None = None,
    ) -> None:
        self.fill = fill
        self.plan = plan
        self.size = size
        self.record_type = record_type
        self.simple = [(s.key, s.start, s.end, s.decode) for s in plan.steps]
        self.keys = plan.output_keys()
        self._text_keys = {
            s.key
            for s in plan.steps
            if s.item.picture is not None
            and s.item.picture.category != "numeric"
            and s.item.occurs == 1
        }
        self._fast: Callable[[bytes], dict[str, Any]] | None = None
        if options is not None:
            from tap_legacy.copybook.fastpath import build_fast_decoder

            self._fast = build_fast_decoder(plan.steps, options)

    def _fail(self, key: str, exc: Exception) -> RecordDecodeError:
        step = next(s for s in self._all_steps(self.plan) if s.key == key)
        return RecordDecodeError(str(exc), field=step.item.name, offset=step.start)

    def _all_steps(self, plan: Plan) -> list[FieldStep]:
        steps = list(plan.steps)
        for switch in plan.switches:
            for alternative in switch.alternatives:
                steps.extend(self._all_steps(alternative))
        return steps

    def decode(self, raw: bytes) -> dict[str, Any]:
        """Decode one record; raises ``RecordDecodeError`` naming the field that failed."""
        if len(raw) < self.size:
            return self._decode_short(raw)
        out: dict[str, Any] | None = None
        if self._fast is not None:
            try:
                out = self._fast(raw)
            except (ValueError, TypeError, IndexError, UnicodeDecodeError):
                out = None  # something unusual: the careful decoders below decide
        if out is None:
            out = self.decode_careful(raw)
        if self.plan.switches:
            self._decode_switches(self.plan, raw, out, self._chosen(raw))
        return out

    def decode_careful(self, raw: bytes) -> dict[str, Any]:
        """The plain fields through the per-field decoders (exact diagnostics, no fast path)."""
        out: dict[str, Any] = {}
        key = ""
        try:
            for key, start, end, decode in self.simple:
                out[key] = decode(raw[start:end])
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._fail(key, exc) from None
        return out

    def _chosen(self, raw: bytes) -> frozenset[str] | None:
        if self.record_type is None:
            return None
        step = self.record_type.step
        try:
            value = step.decode(raw[step.start : step.end])
        except (ValueError, UnicodeDecodeError) as exc:
            raise RecordDecodeError(
                f"record type cannot be read: {exc}", field=step.item.name, offset=step.start
            ) from None
        names = self.record_type.mapping.get(str(value).strip())
        if names is None:
            known = ", ".join(repr(k) for k in self.record_type.mapping)
            raise RecordDecodeError(
                f"record type {str(value).strip()!r} is not in record_types (known: {known})",
                field=step.item.name,
                offset=step.start,
            )
        return names

    def _decode_switches(
        self, plan: Plan, raw: bytes, out: dict[str, Any], chosen: frozenset[str] | None
    ) -> None:
        for switch in plan.switches:
            picked = set(range(len(switch.names)))
            if chosen is not None:
                named = {i for i, name in enumerate(switch.names) if name in chosen}
                picked = named or {0}
            for index, alternative in enumerate(switch.alternatives):
                if index in picked:
                    key = ""
                    try:
                        for step in alternative.steps:
                            key = step.key
                            if step.end > len(raw):
                                out[key] = None if step.start >= len(raw) else self._partial(step)
                            else:
                                out[key] = step.decode(raw[step.start : step.end])
                    except (ValueError, UnicodeDecodeError) as exc:
                        raise self._fail(key, exc) from None
                    self._decode_switches(alternative, raw, out, chosen)
                else:
                    for key in alternative.output_keys():
                        out[key] = None

    @staticmethod
    def _partial(step: FieldStep) -> Any:
        raise ValueError(f"the record ends inside this field (field ends at byte {step.end})")

    def _decode_short(self, raw: bytes) -> dict[str, Any]:
        """A variable-length record shorter than the layout: fields past its end are null."""
        out: dict[str, Any] = {}
        key = ""
        try:
            for key, start, end, decode in self.simple:
                if end <= len(raw):
                    out[key] = decode(raw[start:end])
                elif start >= len(raw):
                    out[key] = None
                elif key in self._text_keys:
                    out[key] = decode(raw[start:])  # text cut short by the record end
                else:
                    raise ValueError(
                        f"the record ({len(raw)} bytes) ends inside this field "
                        f"(bytes {start}-{end - 1})"
                    )
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._fail(key, exc) from None
        if self.plan.switches:
            self._decode_switches(self.plan, raw, out, self._chosen(raw))
        return out

    def encode(self, record: Mapping[str, Any], pad: bool) -> bytes:
        """Encode ``record`` (output keys -> values); ``pad`` fills to the full layout size."""
        buffer = bytearray(self.fill * self.size)
        written = self._encode_plan(self.plan, record, buffer, first=True)
        return bytes(buffer if pad else buffer[:written])

    def _encode_plan(
        self, plan: Plan, record: Mapping[str, Any], buffer: bytearray, first: bool
    ) -> int:
        end = 0
        for step in plan.steps:
            raw = step.encode(record.get(step.key))
            buffer[step.start : step.end] = raw
            end = max(end, step.end)
        for switch in plan.switches:
            present = [
                i
                for i, alt in enumerate(switch.alternatives)
                if set(alt.output_keys()) & set(record)
            ]
            for index in present[:1] or [0]:
                end = max(end, self._encode_plan(switch.alternatives[index], record, buffer, False))
        return end


def compile_plan(
    copybook: Copybook,
    options: CodecOptions,
    record_type_field: str | None = None,
    record_types: Mapping[str, str | Sequence[str]] | None = None,
) -> PlanRunner:
    """Compile ``copybook`` into a runner that decodes and encodes its records."""
    roots = copybook.records
    members: list[Item] = []
    for number, root in enumerate(roots):
        if number > 0 and root.redefines is None:
            root.redefines = roots[0].name  # several 01 records share the record area
        members.append(root)
    all_named: list[Item] = []
    for root in roots:
        all_named.extend(_named_items(root) if root.children else [root])
    namer = _Namer(all_named)
    if len(roots) == 1:
        plan = _compile_group(roots[0].children or roots, 0, options, namer, copybook.source_name)
    else:
        plan = _compile_group(members, 0, options, namer, copybook.source_name)
    record_type = None
    if record_type_field:
        wanted = record_type_field.upper()
        runner = PlanRunner(plan, copybook.record_length, None)
        matches = [
            s
            for s in runner._all_steps(plan)
            if s.item.name.upper() == wanted or s.key == record_type_field
        ]
        if not matches:
            raise LegacyConfigError(
                f"record_type_field {record_type_field!r} is not a field of {copybook.source_name}"
            )
        step = matches[0]
        mapping = {
            str(k): frozenset([v.upper()] if isinstance(v, str) else [n.upper() for n in v])
            for k, v in (record_types or {}).items()
        }
        known = {name for s in runner._all_steps(plan) for name in [s.item.name.upper()]}
        known |= {item.name.upper() for root in roots for item in _walk(root)}
        for names in mapping.values():
            for name in names - known:
                raise LegacyConfigError(
                    f"record_types names {name!r}, which is not an item of {copybook.source_name}"
                )
        record_type = RecordType(step=step, mapping=mapping)
    return PlanRunner(
        plan, copybook.record_length, record_type, " ".encode(options.codepage), options
    )


def _walk(item: Item) -> list[Item]:
    found = [item]
    for child in item.children:
        found.extend(_walk(child))
    return found
