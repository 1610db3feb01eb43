"""CRM mapping files: canonical fields -> CRM fields, with value maps and field rules.

A mapping file (``mappings/crm/<profile>.yml``) says, per Singer stream, which CRM object a
record goes to and how each CRM field gets its value. It is loaded and checked once, at the
start of a run, and compiled into small functions so applying it costs a few microseconds
per record. The format is documented in docs/targets/target-crm.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson
import yaml

from target_crm.errors import ConfigurationError, RecordError

Step = str | int
_PATH_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\.")
_FIELD_KEYS = {
    "from",
    "template",
    "value",
    "join",
    "values",
    "strict",
    "picklist",
    "max_length",
    "truncate",
    "required",
    "default",
    "type",
}
_TYPES = {"string", "boolean", "number", "integer", "date", "datetime", "raw", "json"}
RELATED_STREAMS = ("orders", "interactions", "tickets")
KNOWN_STREAMS = ("customers", *RELATED_STREAMS)


def parse_path(text: str) -> tuple[Step, ...]:
    """Parse ``addresses[0].city`` into ``("addresses", 0, "city")``."""
    steps: list[Step] = []
    pos = 0
    while pos < len(text):
        m = _PATH_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot read field path {text!r} at position {pos}")
        if m.group(1):
            steps.append(m.group(1))
        elif m.group(2):
            steps.append(int(m.group(2)))
        pos = m.end()
    if not steps or not isinstance(steps[0], str):
        raise ValueError(f"field path {text!r} must start with a field name")
    return tuple(steps)


def get_path(record: Mapping[str, Any], steps: tuple[Step, ...]) -> Any:
    """Follow a parsed path into a record; None when any step is missing."""
    value: Any = record
    for step in steps:
        if type(step) is int:
            if type(value) is not list or step >= len(value):
                return None
            value = value[step]
        else:
            if type(value) is not dict:
                return None
            value = value.get(step)
        if value is None:
            return None
    return value


def _getter(steps: tuple[Step, ...]) -> Callable[[Mapping[str, Any]], Any]:
    """A fast reader for one path (most paths are one field name)."""
    if len(steps) == 1:
        name = str(steps[0])
        return lambda record: record.get(name)
    if len(steps) in (2, 3) and type(steps[1]) is int:
        # emails[0], addresses[0].city: the shapes nearly every mapping uses
        first, index = str(steps[0]), steps[1]
        inner = str(steps[2]) if len(steps) == 3 else None

        def indexed(record: Mapping[str, Any]) -> Any:
            items = record.get(first)
            if type(items) is not list or len(items) <= index:
                return None
            item = items[index]
            if inner is None:
                return item
            return item.get(inner) if type(item) is dict else None

        return indexed
    return lambda record: get_path(record, steps)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


@dataclass(frozen=True)
class FieldSpec:
    """How one CRM field gets its value from a canonical record."""

    target: str
    source: tuple[Step, ...] | None = None
    source_text: str | None = None
    template: str | None = None
    template_paths: tuple[tuple[str, tuple[Step, ...]], ...] = ()
    constant: Any = None
    join: str | None = None
    values: Mapping[str, Any] | None = None
    strict: bool = False
    picklist: frozenset[str] | None = None
    max_length: int | None = None
    truncate: bool = False
    required: bool = False
    default: Any = None
    type: str = "string"

    def describe_source(self) -> str:
        """Where the value comes from, for messages."""
        return self.source_text or "a constant"

    def compile(self) -> Callable[[Mapping[str, Any], str, str], Any]:
        """A function record -> CRM value, with a fast path for plain text fields."""
        if self.source is not None:
            read = _getter(self.source)
            convert = self.convert
            optional = not self.required and self.default is None
            if self.type == "string" and self.values is None and self.picklist is None:
                limit = self.max_length

                def plain_text(record: Mapping[str, Any], key: str, obj: str) -> Any:
                    # the common cases, a short text or nothing, skip the general rules
                    value = read(record)
                    if type(value) is str and value and (limit is None or len(value) <= limit):
                        return value
                    if value is None and optional:
                        return None
                    return convert(value, key, obj)

                return plain_text

            if self.type == "raw" and self.values is None and self.picklist is None:

                def raw(record: Mapping[str, Any], key: str, obj: str) -> Any:
                    value = read(record)
                    if value is not None and value != [] and value != {}:
                        return value
                    return None if optional else convert(value, key, obj)

                return raw

            def read_convert(record: Mapping[str, Any], key: str, obj: str) -> Any:
                value = read(record)
                if value is None and optional:
                    return None
                return convert(value, key, obj)

            return read_convert
        return lambda record, key, obj: self.convert(self.extract(record), key, obj)

    def extract(self, record: Mapping[str, Any]) -> Any:
        """The raw value before conversion (path, template or constant)."""
        if self.source is not None:
            return get_path(record, self.source)
        if self.template is not None:
            parts = {}
            for name, steps in self.template_paths:
                v = get_path(record, steps)
                parts[name] = "" if v is None else v
            text = " ".join(self.template.format_map(parts).split())
            return text or None
        return self.constant

    def convert(self, value: Any, key: str, object_name: str) -> Any:
        """Apply join, value map, picklist, type and length rules; raise RecordError."""
        if isinstance(value, list) and self.type not in ("raw", "json"):
            value = (self.join or ";").join(str(v) for v in value if v is not None) or None
        if self.values is not None and value is not None and not isinstance(value, dict):
            lookup = str(value).lower() if isinstance(value, str) else value
            if lookup in self.values:
                value = self.values[lookup]
            elif value in self.values:
                value = self.values[value]
            elif self.strict:
                raise RecordError(
                    f"record {key}: value {value!r} for {object_name}.{self.target} "
                    f"(from {self.describe_source()}) is not in the value map; add it to the "
                    "mapping's values or fix the source",
                    field=self.target,
                )
        if _is_empty(value):
            value = self.default
        if _is_empty(value):
            if self.required:
                raise RecordError(
                    f"record {key}: {object_name}.{self.target} is required by the CRM but "
                    f"{self.describe_source()} has no value; fill it in the source or give "
                    "the field a default in the mapping",
                    field=self.target,
                )
            return None
        value = _convert_type(value, self.type, key, object_name, self.target)
        if self.picklist is not None and str(value) not in self.picklist:
            raise RecordError(
                f"record {key}: {value!r} is not a valid picklist value for "
                f"{object_name}.{self.target} (allowed: {', '.join(sorted(self.picklist))})",
                field=self.target,
            )
        limit = self.max_length
        if limit is not None and isinstance(value, str) and len(value) > limit:
            if not self.truncate:
                raise RecordError(
                    f"record {key}: value for {object_name}.{self.target} is "
                    f"{len(value)} characters, the CRM field holds {limit}; "
                    "shorten it in the source or set truncate: true in the mapping",
                    field=self.target,
                )
            value = value[:limit]
        return value


def _convert_type(value: Any, kind: str, key: str, object_name: str, target: str) -> Any:
    try:
        if kind == "string":
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, dict):
                return json.dumps(value, ensure_ascii=False, sort_keys=True)
            return str(value)
        if kind == "boolean":
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "y", "ja", "j")
            return bool(value)
        if kind == "number":
            return float(value) if not isinstance(value, int | float) else value
        if kind == "integer":
            return int(value)
        if kind == "date":
            return str(value)[:10]
        if kind == "datetime":
            return str(value)
        if kind == "json":
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return value
    except (TypeError, ValueError) as exc:
        raise RecordError(
            f"record {key}: value {value!r} for {object_name}.{target} is not a valid {kind}",
            field=target,
        ) from exc


_Builder = Callable[[Mapping[str, Any], str], dict[str, Any]]
RowBuilder = Callable[[Mapping[str, Any], str], tuple[Any, ...]]


def _read_code(
    steps: tuple[Step, ...], n: int, names: dict[str, Any], shared: dict[tuple[str, int], str]
) -> list[str]:
    """Statements that leave the value of a path in ``v`` (None when a step is missing).

    ``addresses[0]`` and the like are read once per record and kept in a local variable
    (named in ``shared``) for every later field that starts with them.
    """
    if len(steps) == 1:
        return [f"v = get({str(steps[0])!r})"]
    if len(steps) in (2, 3) and type(steps[1]) is int:
        first, index = str(steps[0]), steps[1]
        lines = []
        item = shared.get((first, index))
        if item is None:
            item = shared[(first, index)] = f"item{len(shared)}"
            lines += [
                f"{item} = get({first!r})",
                f"{item} = {item}[{index}] if type({item}) is list and len({item}) > {index} "
                "else None",
            ]
        if len(steps) == 3:
            lines.append(f"v = {item}.get({str(steps[2])!r}) if type({item}) is dict else None")
        else:
            lines.append(f"v = {item}")
        return lines
    names[f"read{n}"] = _getter(steps)
    return [f"v = read{n}(record)"]


def _keep_code(spec: FieldSpec, n: int, names: dict[str, Any]) -> str | None:
    """A test that a value already is what the field's rules would make of it (then the
    rules need not run), or None when there is no such shortcut."""
    if spec.values is not None:
        return None
    fits = "" if spec.max_length is None else f" and len(v) <= {spec.max_length}"
    if spec.type == "string" and spec.picklist is None:
        return f"(type(v) is str and v{fits})"
    if spec.type == "string":
        names[f"pick{n}"] = spec.picklist
        return f"(type(v) is str and v and v in pick{n}{fits})"
    if spec.picklist is not None:
        return None
    if spec.type == "integer":
        return "type(v) is int"
    if spec.type == "boolean":
        return "type(v) is bool"
    return None


def _field_code(
    spec: FieldSpec, n: int, names: dict[str, Any], shared: dict[tuple[str, int], str]
) -> list[str]:
    """Statements that leave the CRM value of one field in ``v``: the same rules as
    ``FieldSpec.compile``, written out so a record costs no call per plain field."""
    names[f"conv{n}"] = spec.convert
    optional = not spec.required and spec.default is None
    if spec.source is not None:
        lines = _read_code(spec.source, n, names, shared)
    elif spec.template is not None:
        # "{a} {b}": each part read, missing parts empty, runs of spaces squeezed
        names[f"tpl{n}"] = spec.template
        lines, parts = [], []
        for j, (name, steps) in enumerate(spec.template_paths):
            lines += _read_code(steps, n * 1000 + j, names, shared)
            lines.append(f"p{j} = '' if v is None else v")
            parts.append(f"{name}=p{j}")
        lines.append(f"v = ' '.join(tpl{n}.format({', '.join(parts)}).split()) or None")
    else:
        names[f"fn{n}"] = spec.compile()
        return [f"v = fn{n}(record, key, obj)"]
    keep = _keep_code(spec, n, names)
    if keep is not None:
        keep += " or v is None" if optional else ""
        lines.append(f"if not ({keep}): v = conv{n}(v, key, obj)")
    elif spec.type == "raw" and spec.values is None and spec.picklist is None:
        # an empty list or object is no value: the field's rules decide (None, or an error)
        fallback = "None" if optional else f"conv{n}(v, key, obj)"
        lines.append(f"if v is None or v == [] or v == {{}}: v = {fallback}")
    elif optional and spec.source is not None:
        lines.append(f"if v is not None: v = conv{n}(v, key, obj)")
    else:
        lines.append(f"v = conv{n}(v, key, obj)")
    return lines


def _compile_builder(om: ObjectMapping, keep_none: bool) -> _Builder:
    """One Python function that builds the payload of ``om`` from a record.

    Generated once per object mapping: per record it is plain dict reads and comparisons,
    no call per field (the per-field closures cost more than the rest of a SQL or file run).
    """
    names: dict[str, Any] = {"obj": om.object}
    body = ["out = {}", "get = record.get"]
    shared: dict[tuple[str, int], str] = {}
    for n, spec in enumerate(om.fields):
        body += _field_code(spec, n, names, shared)
        put = f"out[{spec.target!r}] = v"
        body.append(put if keep_none else f"if v is not None: {put}")
    body.append("return out")
    return cast(_Builder, _define("build", body, om, names))


def _compile_row_builder(
    om: ObjectMapping,
    columns: tuple[str, ...],
    constants: Mapping[str, Any],
    json_text: frozenset[str],
) -> RowBuilder:
    """One generated function that builds a record's row straight away: the values of
    ``apply_all`` in column order, with no payload dict in between.

    A column is the key (the external id), a field's target (the last field wins, as in the
    payload), a constant, or else empty; ``json_text`` columns hold their value as JSON text
    (``None`` too, as ``null``), the way a JSON column stores it.
    """
    names: dict[str, Any] = {"obj": om.object, "_dumps": orjson.dumps}
    body = ["get = record.get"]
    shared: dict[tuple[str, int], str] = {}
    local: dict[str, str] = {}
    for n, spec in enumerate(om.fields):
        body += _field_code(spec, n, names, shared)
        body.append(f"f{n} = v")
        local[spec.target] = f"f{n}"
    cells = []
    for i, column in enumerate(columns):
        if column == om.external_id:
            cell = "key"
        elif column in constants:
            names[f"const{i}"] = constants[column]
            cell = f"const{i}"
        else:
            cell = local.get(column, "None")
        if column in json_text and cell != "key":
            cell = f"_dumps({cell}).decode()"
        cells.append(cell)
    body.append(f"return ({', '.join(cells)}{',' if len(cells) == 1 else ''})")
    return cast(RowBuilder, _define("row", body, om, names))


def _define(name: str, body: list[str], om: ObjectMapping, names: dict[str, Any]) -> Any:
    """Compile ``def <name>(record, key)`` with ``body`` and return the function."""
    source = f"def {name}(record, key):\n" + "".join(f"    {line}\n" for line in body)
    code = compile(source, f"<target-crm mapping {om.object}>", "exec")
    exec(code, names)  # noqa: S102 - generated from the checked mapping, names via repr()
    return names[name]


@dataclass
class ObjectMapping:
    """One CRM object a stream (or one kind of customer) is written to."""

    name: str
    object: str
    external_id: str
    fields: list[FieldSpec]
    links: dict[str, Any] = field(default_factory=dict)
    _builders: dict[bool, tuple[int, _Builder]] = field(default_factory=dict, repr=False)

    def _builder(self, keep_none: bool) -> _Builder:
        built = self._builders.get(keep_none)
        if built is None or built[0] != len(self.fields):
            built = (len(self.fields), _compile_builder(self, keep_none))
            self._builders[keep_none] = built
        return built[1]

    def apply(self, record: Mapping[str, Any], key: str) -> dict[str, Any]:
        """Build the CRM payload of one record (None values dropped)."""
        return self._builder(False)(record, key)

    def apply_all(self, record: Mapping[str, Any], key: str) -> dict[str, Any]:
        """Like ``apply`` but keeps None values (SQL and CSV rows need every column)."""
        return self._builder(True)(record, key)

    def row_builder(
        self,
        columns: Sequence[str],
        constants: Mapping[str, Any] | None = None,
        json_text: Collection[str] = (),
    ) -> RowBuilder:
        """A function ``(record, key) -> tuple``: ``apply_all``'s values in ``columns``
        order (see ``_compile_row_builder``), for profiles that write rows (SQL, CSV)."""
        return _compile_row_builder(self, tuple(columns), constants or {}, frozenset(json_text))


@dataclass
class StreamMapping:
    """Mapping of one Singer stream: one object, or one per customer kind."""

    stream: str
    objects: dict[str, ObjectMapping]

    def for_record(
        self, record: Mapping[str, Any], alias: Mapping[str, str] | None = None
    ) -> ObjectMapping:
        """The object mapping a record goes to (customers by ``kind``, maybe aliased:
        Salesforce persons to ``person_account``)."""
        if len(self.objects) == 1:
            return next(iter(self.objects.values()))
        kind = record.get("kind") or (
            "organization"
            if record.get("organization_name") and not record.get("family_name")
            else "person"
        )
        kind = (alias or {}).get(str(kind), kind)
        try:
            return self.objects[str(kind)]
        except KeyError:
            raise RecordError(
                f"record {record.get('master_id')}: kind {kind!r} has no mapping in stream "
                f"{self.stream} (known: {', '.join(self.objects)})",
                field="kind",
            ) from None


@dataclass
class CRMMapping:
    """A loaded, checked mapping file."""

    path: Path
    profile: str
    streams: dict[str, StreamMapping]
    custom_fields: dict[str, set[str]]
    options: dict[str, Any]

    def objects(self) -> list[ObjectMapping]:
        """Every object mapping in the file."""
        return [om for sm in self.streams.values() for om in sm.objects.values()]

    def check_fields(
        self,
        known: Callable[[str], set[str] | None],
    ) -> None:
        """Raise ConfigurationError listing every CRM field the profile does not know."""
        problems = []
        for sm in self.streams.values():
            for om in sm.objects.values():
                fields = known(om.object)
                if fields is None:
                    continue
                allowed = fields | self.custom_fields.get(om.object, set())
                for name in [om.external_id, *(s.target for s in om.fields)]:
                    if name and name not in allowed:
                        problems.append(
                            f"{self.path}: stream {sm.stream} ({om.name}) maps to field "
                            f"{name!r}, which the {self.profile} profile does not know on "
                            f"{om.object}; fix the name or declare it under "
                            f"custom_fields.{om.object} if you created it in the CRM"
                        )
        if problems:
            raise ConfigurationError(problems)


def _compile_field(
    target: str, spec: Any, value_maps: Mapping[str, Any], where: str, problems: list[str]
) -> FieldSpec | None:
    if isinstance(spec, str):
        spec = {"from": spec}
    if not isinstance(spec, dict):
        problems.append(f"{where}: field {target!r} must be a path string or a mapping")
        return None
    unknown = set(spec) - _FIELD_KEYS
    if unknown:
        problems.append(
            f"{where}: field {target!r} has unknown keys {sorted(unknown)} "
            f"(allowed: {sorted(_FIELD_KEYS)})"
        )
    kind = spec.get("type", "string")
    if kind not in _TYPES:
        problems.append(f"{where}: field {target!r} has type {kind!r}; use one of {sorted(_TYPES)}")
    values = spec.get("values")
    if isinstance(values, str):
        if values not in value_maps:
            problems.append(f"{where}: field {target!r} uses value map {values!r}, not defined")
            values = None
        else:
            values = value_maps[values]
    if values is not None:
        values = {(k.lower() if isinstance(k, str) else k): v for k, v in dict(values).items()}
    source = template = None
    template_paths: tuple[tuple[str, tuple[Step, ...]], ...] = ()
    try:
        if "from" in spec:
            source = parse_path(str(spec["from"]))
        elif "template" in spec:
            template = str(spec["template"])
            names = re.findall(r"\{([^{}]+)\}", template)
            template_paths = tuple((f"f{i}", parse_path(n)) for i, n in enumerate(names))
            counter = iter(range(len(names)))
            # placeholders become f0, f1 ... so paths like addresses[0].city are ours to read
            template = re.sub(r"\{([^{}]+)\}", lambda m: "{f" + str(next(counter)) + "}", template)
        elif "value" not in spec:
            problems.append(f"{where}: field {target!r} needs one of from, template or value")
    except ValueError as exc:
        problems.append(f"{where}: field {target!r}: {exc}")
    picklist = spec.get("picklist")
    return FieldSpec(
        target=target,
        source=source,
        source_text=str(spec["from"])
        if "from" in spec
        else (f"template {spec['template']!r}" if "template" in spec else None),
        template=template,
        template_paths=template_paths,
        constant=spec.get("value"),
        join=spec.get("join"),
        values=values,
        strict=bool(spec.get("strict", False)),
        picklist=frozenset(str(p) for p in picklist) if picklist is not None else None,
        max_length=int(spec["max_length"]) if spec.get("max_length") is not None else None,
        truncate=bool(spec.get("truncate", False)),
        required=bool(spec.get("required", False)),
        default=spec.get("default"),
        type=kind,
    )


def _compile_object(
    name: str, raw: Any, value_maps: Mapping[str, Any], where: str, problems: list[str]
) -> ObjectMapping | None:
    if not isinstance(raw, dict) or "object" not in raw or "fields" not in raw:
        problems.append(f"{where}: needs 'object' and 'fields'")
        return None
    fields = []
    for target, spec in (raw.get("fields") or {}).items():
        compiled = _compile_field(str(target), spec, value_maps, where, problems)
        if compiled is not None:
            fields.append(compiled)
    return ObjectMapping(
        name=name,
        object=str(raw["object"]),
        external_id=str(raw.get("external_id") or ""),
        fields=fields,
        links=dict(raw.get("links") or {}),
    )


def load_mapping(path: Path, profile: str) -> CRMMapping:
    """Load and check a mapping file; raise ConfigurationError listing every problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read mapping file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"mapping file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("streams"), dict):
        raise ConfigurationError(f"mapping file {path} needs a top-level 'streams' mapping")
    problems: list[str] = []
    if raw.get("profile") not in (None, profile):
        problems.append(f"{path} is a mapping for profile {raw.get('profile')!r}, not {profile!r}")
    value_maps = raw.get("value_maps") or {}
    streams: dict[str, StreamMapping] = {}
    for stream, body in raw["streams"].items():
        where = f"{path}: stream {stream}"
        if stream not in KNOWN_STREAMS:
            problems.append(f"{where}: unknown stream (known: {', '.join(KNOWN_STREAMS)})")
            continue
        objects: dict[str, ObjectMapping] = {}
        if isinstance(body, dict) and "object" not in body:
            for kind, sub in body.items():
                om = _compile_object(kind, sub, value_maps, f"{where} ({kind})", problems)
                if om is not None:
                    objects[str(kind)] = om
        else:
            om = _compile_object(stream, body, value_maps, where, problems)
            if om is not None:
                objects[stream] = om
        streams[stream] = StreamMapping(stream=stream, objects=objects)
    custom = {
        str(obj): {str(f) for f in (names or [])}
        for obj, names in (raw.get("custom_fields") or {}).items()
    }
    if problems:
        raise ConfigurationError(problems)
    return CRMMapping(
        path=path,
        profile=profile,
        streams=streams,
        custom_fields=custom,
        options=dict(raw.get("options") or {}),
    )


def default_mapping_path(name: str) -> Path:
    """Find ``mappings/crm/<name>.yml``: in the working directory, else in the checkout."""
    local = Path.cwd() / "mappings" / "crm" / f"{name}.yml"
    if local.exists():
        return local
    return Path(__file__).resolve().parents[2] / "mappings" / "crm" / f"{name}.yml"
