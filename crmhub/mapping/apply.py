"""Compile a mapping into a fast function: source record -> (canonical dict, problems)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from crmhub.errors import MappingError
from crmhub.mapping.canonical import LIST_FIELDS, TAP_ERROR_PROPERTIES
from crmhub.mapping.spec import FieldRule, LoadedMapping

Reason = dict[str, Any]
Getter = Callable[[Mapping[str, Any]], Any]

_TRUE = frozenset({"true", "yes", "y", "ja", "j", "1", "x", "wahr", "haan", "हाँ"})
_FALSE = frozenset({"false", "no", "n", "nee", "nein", "0", "falsch", "nahin", "नहीं", ""})


class _FieldProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_date(value: Any, formats: list[str]) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = _as_text(value).strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    try:  # taps usually send ISO dates or datetimes already
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    raise _FieldProblem(
        "invalid_date", f"{text!r} is not a date in the format(s) {', '.join(formats) or 'ISO'}"
    )


def _convert(value: Any, kind: str) -> Any:
    try:
        if kind == "string":
            return _as_text(value)
        if kind == "integer":
            return int(Decimal(_as_text(value).replace(",", ".")))
        if kind == "decimal":
            return str(Decimal(_as_text(value).replace(",", ".")))
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = _as_text(value).strip().casefold()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise _FieldProblem("invalid_boolean", f"{value!r} is not a yes/no value")
    except (InvalidOperation, ValueError):
        raise _FieldProblem("invalid_" + kind, f"{value!r} is not a valid {kind}") from None
    return value


def _compile_rule(
    canonical: str, rule: FieldRule, maps: dict[str, dict[str, Any]], is_list: bool
) -> Getter:
    sources = rule.sources()
    value_map: dict[str, Any] | None
    if isinstance(rule.map, dict):
        value_map = {str(k).strip().casefold(): v for k, v in rule.map.items()}
    elif isinstance(rule.map, str):
        value_map = maps[rule.map]
    else:
        value_map = None
    formats = [rule.date] if isinstance(rule.date, str) else list(rule.date or [])
    constant = rule.value

    def transform(value: Any) -> Any:
        if rule.split is not None:
            parts = [p for p in _as_text(value).split(rule.split) if p.strip()]
            if rule.part is None:
                return [p.strip() for p in parts]
            try:
                value = parts[rule.part].strip()
            except IndexError:
                return None
        if value_map is not None:
            hit = value_map.get(_as_text(value).strip().casefold(), _MISSING)
            if hit is not _MISSING:
                value = hit
            elif rule.strict:
                raise _FieldProblem("unmapped_value", f"{value!r} is not in the value map")
        if rule.date is not None:
            value = _parse_date(value, formats)
        if rule.type is not None:
            value = _convert(value, rule.type)
        if rule.case == "lower" and isinstance(value, str):
            value = value.lower()
        elif rule.case == "upper" and isinstance(value, str):
            value = value.upper()
        elif rule.case == "title" and isinstance(value, str):
            value = value.title()
        return value

    plain = (
        value_map is None
        and rule.date is None
        and rule.type is None
        and rule.case is None
        and rule.split is None
    )

    if constant is not None and not sources:
        return lambda _record: constant

    if rule.join is not None:
        sep = rule.join

        def joined(record: Mapping[str, Any]) -> Any:
            parts = [_as_text(v) for v in (_clean(record.get(s)) for s in sources) if v is not None]
            return transform(sep.join(parts)) if parts else None

        return joined

    if is_list:

        def many(record: Mapping[str, Any]) -> Any:
            out: list[Any] = []
            for s in sources:
                v = _clean(record.get(s))
                if v is None:
                    continue
                items = v if isinstance(v, list) else [v]
                for item in items:
                    item = _clean(item)
                    if item is None:
                        continue
                    t = transform(item)
                    if isinstance(t, list):
                        out.extend(x for x in t if x is not None)
                    elif t is not None:
                        out.append(t)
            return out or None

        return many

    if len(sources) == 1 and plain:
        src = sources[0]

        def single(record: Mapping[str, Any]) -> Any:
            v = record.get(src)
            if isinstance(v, str):
                v = v.strip() or None
            return v

        return single

    def first(record: Mapping[str, Any]) -> Any:
        for s in sources:
            v = _clean(record.get(s))
            if v is not None:
                return transform(v)
        return None

    return first


_MISSING = object()


class CompiledMapping:
    """A mapping ready to apply to records of one stream."""

    def __init__(self, loaded: LoadedMapping, key_properties: list[str]) -> None:
        spec = loaded.spec
        self.name = loaded.name
        self.entity = spec.entity
        self.version = loaded.version
        self.key_fields = list(spec.key or key_properties)
        maps = loaded.value_maps
        self._fields: list[tuple[str, Getter, FieldRule]] = [
            (name, _compile_rule(name, rule, maps, name in LIST_FIELDS), rule)
            for name, rule in spec.fields.items()
        ]
        self._addresses: list[list[tuple[str, Getter, FieldRule]]] = [
            [(name, _compile_rule(name, rule, maps, False), rule) for name, rule in addr.items()]
            for addr in spec.addresses
        ]
        self._extras = spec.extras

    def check_schema(self, stream: str, properties: set[str] | None, where: str) -> None:
        """Fail before any record when the mapping names fields the stream does not have."""
        if properties is None:
            return
        missing = sorted(f for f in _source_fields(self) if f not in properties)
        if missing:
            raise MappingError(
                f"mapping {where} names field(s) {', '.join(map(repr, missing))} that stream "
                f"{stream!r} does not have (its fields: {', '.join(sorted(properties)) or 'none'})",
                hint="fix the field names in the mapping (they are case-sensitive) and re-run",
            )

    def apply(self, record: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[Reason]]:
        """Map one record; a record with problems returns (None, reasons)."""
        reasons: list[Reason] = []
        for prop in TAP_ERROR_PROPERTIES:
            if record.get(prop):
                reasons.append(
                    {"code": "source_unreadable", "field": None, "message": str(record[prop])}
                )
                return None, reasons
        out: dict[str, Any] = {}
        for name, getter, rule in self._fields:
            try:
                value = getter(record)
            except _FieldProblem as exc:
                reasons.append({"code": exc.code, "field": name, "message": exc.message})
                continue
            if value is None:
                value = rule.default
            if value is None:
                if rule.required:
                    reasons.append(
                        {"code": "required", "field": name, "message": f"{name} has no value"}
                    )
                continue
            out[name] = value
        if self._addresses:
            addresses = []
            for spec in self._addresses:
                address: dict[str, Any] = {}
                for name, getter, rule in spec:
                    try:
                        value = getter(record)
                    except _FieldProblem as exc:
                        reasons.append(
                            {"code": exc.code, "field": f"address.{name}", "message": exc.message}
                        )
                        continue
                    value = rule.default if value is None else value
                    if value is not None:
                        address[name] = value if name == "type" else _as_text(value)
                if any(k != "type" for k in address):
                    addresses.append(address)
            if addresses:
                out["addresses"] = addresses
        if self._extras:
            names = (
                [k for k in record if not k.startswith("_")]
                if self._extras == "*"
                else self._extras
            )
            extras = {k: record[k] for k in names if record.get(k) not in (None, "")}
            if extras:
                out["extras"] = extras
        if reasons:
            return None, reasons
        if self.entity == "customer" and "kind" not in out:
            person = any(k in out for k in ("given_name", "family_name", "full_name"))
            out["kind"] = "organization" if "organization_name" in out and not person else "person"
        return out, reasons


def _source_fields(mapping: CompiledMapping) -> set[str]:
    names: set[str] = set(mapping.key_fields)
    for _, _, rule in mapping._fields:
        names.update(rule.sources())
    for address in mapping._addresses:
        for _, _, rule in address:
            names.update(rule.sources())
    if isinstance(mapping._extras, list):
        names.update(mapping._extras)
    return names
