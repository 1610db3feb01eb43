"""The source mapping file format: which source field feeds which canonical field, and how.

A mapping is YAML, one per source stream (or inline under the stream in ``crmhub.yml``)::

    entity: customer                 # customer | order | interaction | ticket
    key: [klantnr]                   # source key; default: the stream's key_properties
    fields:
      given_name: voornaam           # plain rename
      family_name: achternaam
      emails: [email, email_werk]    # several fields into a multi-valued field
      birth_date: {from: geboren, date: ["%d-%m-%Y", "%d.%m.%Y"]}
      full_name: {from: [voornaam, achternaam], join: " "}
      kind: {value: person}
      consent_email: {from: nieuwsbrief, map: {ja: true, nee: false}, strict: true}
    addresses:
      - {street: straat, house_number: huisnr, postal_code: postcode, city: plaats,
         country: {from: land, map: countries}}
    extras: [segment_code]           # kept under canonical ``extras``
    value_maps:
      countries: builtin:countries   # a map shipped in mappings/values/, a file, or inline
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crmhub.config.yamlsource import YamlDocument, load_yaml
from crmhub.errors import ConfigFileError, Problem
from crmhub.mapping.canonical import ADDRESS_FIELDS, ENTITIES, FIELDS

VALUES_DIR = Path(__file__).resolve().parents[2] / "mappings" / "values"


class FieldRule(BaseModel):
    """How one canonical field gets its value."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str | list[str] | None = Field(default=None, alias="from")
    value: Any = None
    join: str | None = None
    split: str | None = None
    part: int | None = None
    date: str | list[str] | None = None
    map: str | dict[str, Any] | None = None
    strict: bool = False
    case: Literal["lower", "upper", "title"] | None = None
    type: Literal["string", "integer", "decimal", "boolean"] | None = None
    default: Any = None
    required: bool = False

    def sources(self) -> list[str]:
        """Source fields this rule reads."""
        if self.from_ is None:
            return []
        return [self.from_] if isinstance(self.from_, str) else list(self.from_)


def _rule(value: Any) -> Any:
    # Short forms become the object form; pydantic then validates it with the full key path.
    if isinstance(value, str | list):
        return {"from": value}
    return value


class MappingSpec(BaseModel):
    """A whole mapping file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: Literal["customer", "order", "interaction", "ticket"] = "customer"
    key: list[str] | None = None
    fields: dict[str, FieldRule] = Field(default_factory=dict)
    addresses: list[dict[str, FieldRule]] = Field(default_factory=list)
    extras: list[str] | Literal["*"] = Field(default_factory=list)
    value_maps: dict[str, str | dict[str, Any]] = Field(default_factory=dict)

    @field_validator("key", mode="before")
    @classmethod
    def _key_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("fields", mode="before")
    @classmethod
    def _rules(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _rule(v) for k, v in value.items()}
        return value

    @field_validator("addresses", mode="before")
    @classmethod
    def _address_rules(cls, value: Any) -> Any:
        if isinstance(value, dict):
            value = [value]
        if isinstance(value, list):
            return [
                {k: _rule(v) for k, v in item.items()} if isinstance(item, dict) else item
                for item in value
            ]
        return value

    def source_fields(self) -> set[str]:
        """Every source field the mapping reads."""
        names: set[str] = set(self.key or [])
        for rule in self.fields.values():
            names.update(rule.sources())
        for address in self.addresses:
            for rule in address.values():
                names.update(rule.sources())
        if isinstance(self.extras, list):
            names.update(self.extras)
        return names


class LoadedMapping(BaseModel):
    """A mapping with its value maps resolved, and a version that changes with its content."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    spec: MappingSpec
    value_maps: dict[str, dict[str, Any]]
    version: str


def _check_fields(spec: MappingSpec) -> list[Problem]:
    problems = []
    allowed = FIELDS[spec.entity]
    for name in spec.fields:
        if name == "addresses":
            problems.append(Problem("fields.addresses", "map addresses under `addresses:`"))
        elif name not in allowed:
            problems.append(
                Problem(
                    f"fields.{name}",
                    f"{name!r} is not a canonical {spec.entity} field "
                    f"(see docs/canonical-model.md: {', '.join(sorted(allowed))})",
                )
            )
    if spec.addresses and spec.entity != "customer":
        problems.append(Problem("addresses", f"a {spec.entity} has no addresses"))
    for index, address in enumerate(spec.addresses):
        for name in address:
            if name not in ADDRESS_FIELDS:
                problems.append(
                    Problem(
                        f"addresses.{index}.{name}",
                        f"{name!r} is not an address field ({', '.join(sorted(ADDRESS_FIELDS))})",
                    )
                )
    if spec.entity in ENTITIES[1:] and "customer_key" not in spec.fields:
        problems.append(
            Problem("fields", f"a {spec.entity} mapping needs `customer_key` (its customer's key)")
        )
    return problems


def _value_map_names(spec: MappingSpec) -> set[str]:
    names = set()
    rules = list(spec.fields.values()) + [r for a in spec.addresses for r in a.values()]
    for rule in rules:
        if isinstance(rule.map, str):
            names.add(rule.map)
    return names


def _load_value_map(ref: str, base: Path) -> dict[str, Any]:
    path = (
        VALUES_DIR / f"{ref[len('builtin:') :]}.yml" if ref.startswith("builtin:") else base / ref
    )
    doc = load_yaml(path, what="value map")
    if not isinstance(doc.data, dict):
        raise ConfigFileError(
            str(path), [Problem("(top level)", "a value map is key: value lines")]
        )
    return {str(k).strip().casefold(): v for k, v in doc.data.items()}


def load_mapping(ref: str | dict[str, Any], *, base: Path, name: str) -> LoadedMapping:
    """Load a mapping from a file path (relative to ``base``) or an inline dict."""
    doc: YamlDocument | None = None
    if isinstance(ref, str):
        path = base / ref
        doc = load_yaml(path, what="mapping file")
        data, where, map_base = doc.data or {}, str(path), path.parent
    else:
        data, where, map_base = ref, f"{name} (inline mapping)", base

    def line_of(loc: tuple[str | int, ...]) -> int | None:
        return doc.line_of(loc) if doc is not None else None

    if not isinstance(data, dict):
        raise ConfigFileError(where, [Problem("(top level)", "a mapping is a YAML mapping")])
    try:
        spec = MappingSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(Problem(".".join(map(str, loc)), msg, line_of(loc)))
        raise ConfigFileError(where, problems, hint="see docs/mappings.md for the format") from None
    problems = _check_fields(spec)
    maps: dict[str, dict[str, Any]] = {}
    for map_name in sorted(_value_map_names(spec)):
        ref_value = spec.value_maps.get(map_name)
        if ref_value is None and (VALUES_DIR / f"{map_name}.yml").exists():
            ref_value = f"builtin:{map_name}"
        if ref_value is None:
            problems.append(Problem(f"value_maps.{map_name}", "value map is used but not defined"))
        elif isinstance(ref_value, dict):
            maps[map_name] = {str(k).strip().casefold(): v for k, v in ref_value.items()}
        else:
            maps[map_name] = _load_value_map(ref_value, map_base)
    if problems:
        for i, p in enumerate(problems):
            problems[i] = Problem(p.path, p.message, line_of(tuple(p.path.split("."))))
        raise ConfigFileError(where, problems, hint="see docs/mappings.md for the format")
    version_source = orjson.dumps(
        {"spec": spec.model_dump(mode="json", by_alias=True), "maps": maps},
        option=orjson.OPT_SORT_KEYS,
    )
    version = hashlib.blake2b(version_source, digest_size=8).hexdigest()
    return LoadedMapping(name=name, spec=spec, value_maps=maps, version=version)
