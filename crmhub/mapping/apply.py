"""Compile a mapping into a fast function: source record -> (canonical dict, problems)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
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


_DATE_PARTS = {"%d": r"(?P<d>\d{1,2})", "%m": r"(?P<m>\d{1,2})", "%Y": r"(?P<Y>\d{4})"}


@lru_cache(maxsize=64)
def _date_pattern(fmt: str) -> re.Pattern[str] | None:
    """A regex for formats made of %d, %m, %Y and separators (strptime is slow here)."""
    out, rest = "", fmt
    while rest:
        if rest[:2] in _DATE_PARTS:
            out += _DATE_PARTS[rest[:2]]
            rest = rest[2:]
        elif rest[0] == "%":
            return None  # anything else: strptime decides
        else:
            out += re.escape(rest[0])
            rest = rest[1:]
    return re.compile(out + r"\Z")


def _parse_one(text: str, fmt: str) -> date | None:
    pattern = _date_pattern(fmt)
    if pattern is None:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            return None
    found = pattern.match(text)
    if found is None:
        return None
    try:
        return date(int(found["Y"]), int(found["m"]), int(found["d"]))
    except (ValueError, IndexError):
        return None


def _parse_date(value: Any, formats: list[str]) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = _as_text(value).strip()
    for fmt in formats:
        parsed = _parse_one(text, fmt)
        if parsed is not None:
            return parsed.isoformat()
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


def _transform_for(rule: FieldRule, maps: dict[str, dict[str, Any]]) -> Callable[[Any], Any] | None:
    """The value transform of a rule (split, value map, date, type, case), or None."""
    value_map: dict[str, Any] | None
    if isinstance(rule.map, dict):
        value_map = {str(k).strip().casefold(): v for k, v in rule.map.items()}
    elif isinstance(rule.map, str):
        value_map = maps[rule.map]
    else:
        value_map = None
    if (
        value_map is None
        and rule.date is None
        and rule.type is None
        and rule.case is None
        and rule.split is None
    ):
        return None
    formats = [rule.date] if isinstance(rule.date, str) else list(rule.date or [])

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
                if value is None:  # a map may blank out placeholders such as "0" or "n/a"
                    return None
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

    return transform


_MISSING = object()
_HASHABLE = (str, int, float, bool)
_CACHE_LIMIT = 100_000


def _cached(transform: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Memoize a transform per distinct value: dates, codes and map keys repeat a lot."""
    cache: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        if value.__class__ not in _HASHABLE:
            return transform(value)
        hit = cache.get(value, _MISSING)
        if hit is _MISSING:
            hit = transform(value)  # a _FieldProblem propagates and is not cached
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[value] = hit
        return hit

    return run


def _first(record: Mapping[str, Any], sources: tuple[str, ...]) -> Any:
    for s in sources:
        v = _clean(record.get(s))
        if v is not None:
            return v
    return None


def _join(record: Mapping[str, Any], sources: tuple[str, ...], sep: str) -> Any:
    parts = [_as_text(v) for v in (_clean(record.get(s)) for s in sources) if v is not None]
    return sep.join(parts) if parts else None


def _many(
    record: Mapping[str, Any], sources: tuple[str, ...], transform: Callable[[Any], Any] | None
) -> Any:
    out: list[Any] = []
    for s in sources:
        v = _clean(record.get(s))
        if v is None:
            continue
        for item in v if isinstance(v, list) else (v,):
            item = _clean(item)
            if item is None:
                continue
            if transform is not None:
                item = transform(item)
            if isinstance(item, list):
                out.extend(x for x in item if x is not None)
            elif item is not None:
                out.append(item)
    return out or None


class _Generator:
    """Writes the source of one straight-line ``apply`` function for a mapping.

    A mapping runs once per record on the ingest hot path; a generated function with every
    rule inlined is several times faster than walking rule objects. Only names and literals
    from ``repr`` enter the source, and values reach it through the function's globals.
    """

    def __init__(self, maps: dict[str, dict[str, Any]]) -> None:
        self.maps = maps
        self.lines: list[str] = []
        self.env: dict[str, Any] = {
            "_clean": _clean,
            "_first": _first,
            "_join": _join,
            "_many": _many,
            "_as_text": _as_text,
            "_FieldProblem": _FieldProblem,
        }
        self.counter = 0

    def const(self, value: Any) -> str:
        self.counter += 1
        name = f"_k{self.counter}"
        self.env[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def value(
        self,
        indent: int,
        target: str,
        label: str,
        rule: FieldRule,
        is_list: bool,
        *,
        text: bool = False,
    ) -> bool:
        """Emit code leaving the rule's value (or None) in ``v``.

        ``text``: the value must end up a str; True is returned when the emitted code saw to
        that already (the caller converts otherwise).
        """
        sources = tuple(rule.sources())
        transform = _transform_for(rule, self.maps)
        if not sources:
            self.emit(indent, f"v = {self.const(rule.value)}")
        elif is_list and rule.join is None and transform is None and len(sources) == 1:
            # The common case inlined: one plain source field into a multi-valued field.
            self.emit(indent, f"v = get({sources[0]!r})")
            self.emit(indent, "if v.__class__ is str:")
            self.emit(indent + 1, "v = v.strip()")
            self.emit(indent + 1, "v = [v] if v else None")
            self.emit(indent, "elif v is not None:")
            self.emit(indent + 1, f"v = _many(record, {sources!r}, None)")
            return False
        elif is_list and rule.join is None:
            tf = self.const(_cached(transform) if transform else None)
            self.emit(indent, "try:")
            self.emit(indent + 1, f"v = _many(record, {sources!r}, {tf})")
            self._problem(indent, label)
            return False
        elif rule.join is not None:
            self.emit(indent, f"v = _join(record, {sources!r}, {rule.join!r})")
        elif len(sources) == 1:
            self.emit(indent, f"v = get({sources[0]!r})")
            self.emit(indent, "if v.__class__ is str:")
            self.emit(indent + 1, "v = v.strip() or None")
            if text and transform is None:
                # A str is done here; anything else becomes one in the same test.
                self.emit(indent, "elif v is not None:")
                self.emit(indent + 1, "v = _as_text(v)")
                return True
        else:
            self.emit(indent, f"v = _first(record, {sources!r})")
        if transform is not None:
            tf = self.const(_cached(transform))
            self.emit(indent, "if v is not None:")
            self.emit(indent + 1, "try:")
            self.emit(indent + 2, f"v = {tf}(v)")
            self._problem(indent + 1, label)
        return False

    def _problem(self, indent: int, label: str) -> None:
        self.emit(indent, "except _FieldProblem as exc:")
        self.emit(
            indent + 1,
            f"reasons.append({{'code': exc.code, 'field': {label!r}, 'message': exc.message}})",
        )
        self.emit(indent + 1, "v = None")

    def assign(self, indent: int, container: str, name: str, label: str, rule: FieldRule) -> None:
        if rule.default is not None:
            self.emit(indent, f"if v is None: v = {self.const(rule.default)}")
        if rule.required:
            message = f"{label} has no value"
            self.emit(indent, "if v is None:")
            self.emit(
                indent + 1,
                f"reasons.append({{'code': 'required', 'field': {label!r}, 'message': {message!r}}})",
            )
        self.emit(indent, "if v is not None:")
        self.emit(indent + 1, f"{container}[{name!r}] = v")

    def build(self, spec: Any) -> Callable[[Mapping[str, Any]], tuple[Any, list[Reason]]]:
        self.emit(0, "def apply(record):")
        self.emit(1, "get = record.get")
        self.emit(1, "reasons = []")
        for prop in TAP_ERROR_PROPERTIES:
            # Nearly always absent: a containment test is cheaper than a call.
            self.emit(1, f"if {prop!r} in record and get({prop!r}):")
            self.emit(
                2,
                "return None, [{'code': 'source_unreadable', 'field': None, "
                f"'message': str(get({prop!r}))}}]",
            )
        self.emit(1, "out = {}")
        for name, rule in spec.fields.items():
            self.value(1, "out", name, rule, name in LIST_FIELDS)
            self.assign(1, "out", name, name, rule)
        if spec.addresses:
            self.emit(1, "addresses = []")
            for address in spec.addresses:
                self.emit(1, "a = {}")
                for name, rule in address.items():
                    label = f"address.{name}"
                    texted = self.value(1, "a", label, rule, False, text=name != "type")
                    if name != "type" and not texted:
                        self.emit(1, "if v is not None and v.__class__ is not str: v = _as_text(v)")
                    self.assign(1, "a", name, label, rule)
                self.emit(1, "if len(a) > ('type' in a):")
                self.emit(2, "addresses.append(a)")
            self.emit(1, "if addresses:")
            self.emit(2, "out['addresses'] = addresses")
        if spec.extras == "*":
            self.emit(
                1,
                "extras = {k: x for k, x in record.items() if not k.startswith('_') "
                "and x is not None and x != ''}",
            )
        elif spec.extras:
            self.emit(
                1,
                f"extras = {{k: get(k) for k in {tuple(spec.extras)!r} if get(k) not in (None, '')}}",
            )
        if spec.extras:
            self.emit(1, "if extras:")
            self.emit(2, "out['extras'] = extras")
        self.emit(1, "if reasons:")
        self.emit(2, "return None, reasons")
        if spec.entity == "customer" and "kind" not in spec.fields:
            self.emit(1, "if 'given_name' in out or 'family_name' in out or 'full_name' in out:")
            self.emit(2, "out['kind'] = 'person'")
            self.emit(1, "elif 'organization_name' in out:")
            self.emit(2, "out['kind'] = 'organization'")
            self.emit(1, "else:")
            self.emit(2, "out['kind'] = 'person'")
        elif spec.entity == "customer":
            self.emit(1, "out.setdefault('kind', 'person')")
        self.emit(1, "return out, reasons")
        source = "\n".join(self.lines) + "\n"
        namespace = dict(self.env)
        exec(compile(source, "<crmhub mapping>", "exec"), namespace)  # noqa: S102 - see class doc
        function: Callable[[Mapping[str, Any]], tuple[Any, list[Reason]]] = namespace["apply"]
        function.__doc__ = source
        return function


class CompiledMapping:
    """A mapping ready to apply to records of one stream."""

    def __init__(self, loaded: LoadedMapping, key_properties: list[str]) -> None:
        spec = loaded.spec
        self.name = loaded.name
        self.entity = spec.entity
        self.version = loaded.version
        self.key_fields = list(spec.key or key_properties)
        self.spec = spec
        self._apply = _Generator(loaded.value_maps).build(spec)

    def check_schema(self, stream: str, properties: set[str] | None, where: str) -> None:
        """Fail before any record when the mapping names fields the stream does not have."""
        if properties is None:
            return
        wanted = self.spec.source_fields() | set(self.key_fields)
        missing = sorted(f for f in wanted if f not in properties)
        if missing:
            raise MappingError(
                f"mapping {where} names field(s) {', '.join(map(repr, missing))} that stream "
                f"{stream!r} does not have (its fields: {', '.join(sorted(properties)) or 'none'})",
                hint="fix the field names in the mapping (they are case-sensitive) and re-run",
            )

    def apply(self, record: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[Reason]]:
        """Map one record; a record with problems returns (None, reasons)."""
        return self._apply(record)

    @property
    def apply_function(self) -> Callable[[Mapping[str, Any]], tuple[Any, list[Reason]]]:
        """The generated function itself (one call less per record on the hot path)."""
        return self._apply
