"""Survivorship: build one golden record per cluster from its source records, per field rules.

Input records are canonical customer dicts (docs/canonical-model.md) that also carry
``record_id``, ``source`` and ``updated_at``. A :class:`SurvivorshipConfig` (from the project's
``survivorship:`` block) names a rule per field:

``source_priority``
    the value from the record whose source comes first in ``source_priority``
``most_recent``
    the value from the most recently updated record that has one
``most_complete``
    the longest value (strings: letters and digits; objects: filled sub-fields)
``most_frequent``
    the value most records agree on (compared case- and space-insensitively)
``earliest`` / ``latest``
    the smallest / largest value (for ``created_at`` / ``updated_at``)
``union``
    every distinct value of a list field (emails, phones, addresses, tax ids, tags),
    deduplicated on a normalized key but kept in its original spelling, most recent first

Ties always break the same way: source priority, then most recent, then record id, so a
golden record is a pure function of its members. Fields in a *group* (the name parts, the
organization name and legal form) are taken together from the one record that wins the
group's rule, so a golden record never pairs one source's given name with another's family
name.

Steward overrides (master id -> field -> value) replace the rule's choice and are marked
``steward`` in the provenance; the hub stores them and passes them on every run, so they
survive later runs. Every candidate value is kept with its record id and source
(:meth:`GoldenRecord.provenance`), so a golden record can be recomputed from any subset of
its members, which is how a split works.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

__all__ = [
    "DEFAULT_SURVIVORSHIP",
    "RULES",
    "FieldProvenance",
    "GoldenRecord",
    "SourceValue",
    "SurvivorshipConfig",
    "SurvivorshipConfigError",
    "survive",
    "survive_cluster",
]

RULES = (
    "source_priority",
    "most_recent",
    "most_complete",
    "most_frequent",
    "earliest",
    "latest",
    "union",
)
_META = ("record_id", "source")
_EMPTY: tuple[Any, ...] = (None, "", [], {})
_OLDEST = datetime.min.replace(tzinfo=UTC)

ValueKey = Callable[[Any, Mapping[str, Any]], str | None]


_DEFAULT_FIELDS: dict[str, str] = {
    "person_name": "most_frequent",
    "organization": "most_complete",
    "kind": "most_frequent",
    "birth_date": "most_frequent",
    "emails": "union",
    "phones": "union",
    "addresses": "union",
    "tax_ids": "union",
    "tags": "union",
    "created_at": "earliest",
    "updated_at": "latest",
}
_DEFAULT_GROUPS: dict[str, tuple[str, ...]] = {
    "person_name": (
        "name_prefix",
        "given_name",
        "name_particle",
        "family_name",
        "name_suffix",
        "full_name",
    ),
    "organization": ("organization_name", "legal_form"),
}


class SurvivorshipConfigError(ValueError):
    """The survivorship configuration has problems; all of them are listed."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - survivorship.{p}" for p in self.problems)
        super().__init__(f"survivorship configuration: {len(self.problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class SurvivorshipConfig:
    """Which rule picks each field; see the module docstring for the rules.

    ``fields`` maps a canonical field (or a group name) to a rule; ``groups`` maps a group
    name to the fields taken together from one record; ``default_rule`` applies to any
    other field; ``source_priority`` ranks source names, best first.
    """

    source_priority: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=lambda: dict(_DEFAULT_FIELDS))
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(_DEFAULT_GROUPS))
    default_rule: str = "most_recent"

    def __post_init__(self) -> None:
        problems = []
        for name, rule in {**self.fields, "default_rule": self.default_rule}.items():
            if rule not in RULES:
                problems.append(f"{name}: unknown rule {rule!r}; use one of {', '.join(RULES)}")
        seen: dict[str, str] = {}
        for group, members in self.groups.items():
            if self.fields.get(group) == "union":
                problems.append(f"{group}: a group cannot use the union rule")
            for member in members:
                if member in seen:
                    problems.append(f"groups.{group}: {member!r} is already in {seen[member]!r}")
                seen[member] = group
                if member in self.fields:
                    problems.append(
                        f"fields.{member}: the field is in group {group!r}; set the group's rule"
                    )
        if problems:
            raise SurvivorshipConfigError(problems)
        # Field -> rule, group members resolved, so lookups cost one dict access.
        rule_of = dict(self.fields)
        for group, members in self.groups.items():
            for member in members:
                rule_of[member] = self.fields.get(group, self.default_rule)
        object.__setattr__(self, "_rule_of", rule_of)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SurvivorshipConfig:
        """Read the ``survivorship:`` block of a project file; unset keys use the defaults."""
        problems: list[str] = []
        known = {"source_priority", "fields", "groups", "default_rule"}
        problems += [
            f"{k}: unknown key; use one of {sorted(known)}" for k in data if k not in known
        ]
        priority = data.get("source_priority", DEFAULT_SURVIVORSHIP.source_priority)
        if not (isinstance(priority, list | tuple) and all(isinstance(s, str) for s in priority)):
            problems.append("source_priority: must be a list of source names")
            priority = ()
        fields = data.get("fields", {})
        if not isinstance(fields, Mapping):
            problems.append("fields: must map field names to rules")
            fields = {}
        groups_raw = data.get("groups", DEFAULT_SURVIVORSHIP.groups)
        groups: dict[str, tuple[str, ...]] = {}
        if isinstance(groups_raw, Mapping):
            for name, members in groups_raw.items():
                if isinstance(members, list | tuple) and all(isinstance(m, str) for m in members):
                    groups[str(name)] = tuple(members)
                else:
                    problems.append(f"groups.{name}: must be a list of field names")
        else:
            problems.append("groups: must map group names to lists of fields")
        default_rule = data.get("default_rule", DEFAULT_SURVIVORSHIP.default_rule)
        if problems:
            raise SurvivorshipConfigError(problems)
        merged = {
            k: v
            for k, v in DEFAULT_SURVIVORSHIP.fields.items()
            if not any(k in members for members in groups.values()) or k in groups
        }
        merged.update({str(k): str(v) for k, v in fields.items()})
        return cls(
            source_priority=tuple(priority),
            fields=merged,
            groups=groups,
            default_rule=str(default_rule),
        )

    def rule_for(self, name: str) -> str:
        """The rule of a field or group (a grouped field answers with its group's rule)."""
        rule_of: dict[str, str] = self._rule_of  # type: ignore[attr-defined]
        return rule_of.get(name, self.default_rule)


DEFAULT_SURVIVORSHIP = SurvivorshipConfig()


@dataclass(frozen=True)
class SourceValue:
    """One value as one source record has it."""

    value: Any
    record_id: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"value": self.value, "record_id": self.record_id, "source": self.source}


@dataclass(frozen=True)
class FieldProvenance:
    """How a golden field got its value: the rule, the chosen values, every candidate."""

    rule: str
    chosen: tuple[SourceValue, ...]
    candidates: tuple[SourceValue, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rule": self.rule,
            "chosen": [v.to_dict() for v in self.chosen],
            "candidates": [v.to_dict() for v in self.candidates],
        }


@dataclass
class GoldenRecord:
    """The surviving values of one cluster, and where each came from.

    ``values`` holds the golden fields (absent when no member has a value);
    ``chosen_from`` maps each single-valued field to the record id that gave it (or
    ``"steward"``). :meth:`provenance` lists every candidate value with its source.
    """

    cluster_id: str
    record_ids: tuple[str, ...]
    values: dict[str, Any]
    chosen_from: dict[str, str]
    rules: dict[str, str]
    members: tuple[Mapping[str, Any], ...] = field(repr=False)
    # Per union field built with the default value keys: the merged list and, per value,
    # the positions in ``members`` of the records holding it. The union pass keys every
    # member item anyway; keeping who held which key spares provenance a second keying.
    union_holders: dict[str, tuple[list[Any], list[list[int]]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def provenance(self) -> dict[str, FieldProvenance]:
        """Per field: the rule, the chosen value(s) with their record, all candidates."""
        out: dict[str, FieldProvenance] = {}
        for name, value in self.values.items():
            candidates = tuple(
                SourceValue(m[name], str(m.get("record_id")), str(m.get("source")))
                for m in self.members
                if m.get(name) not in _EMPTY
            )
            rule = self.rules.get(name, "")
            if rule == "union":
                chosen = tuple(_union_provenance(value, name, self.members))
            else:
                rid = self.chosen_from.get(name, "")
                source = next(
                    (str(m.get("source")) for m in self.members if m.get("record_id") == rid),
                    "steward" if rid == "steward" else "",
                )
                chosen = (SourceValue(value, rid, source),)
            out[name] = FieldProvenance(rule=rule, chosen=chosen, candidates=candidates)
        return out

    def provenance_dicts(self) -> dict[str, dict[str, Any]]:
        """:meth:`provenance` in its JSON-ready form, built directly.

        Equal to ``{k: p.to_dict() for k, p in self.provenance().items()}``; recompute
        needs only this form, and skipping the frozen dataclasses and the per-field scan
        for the chosen record's source roughly halves the cost per golden record.
        """
        members = self.members
        tagged = [(m, str(m.get("record_id")), str(m.get("source"))) for m in members]
        source_of: dict[Any, str] = {}
        for m, _, source in tagged:
            source_of.setdefault(m.get("record_id"), source)
        out: dict[str, dict[str, Any]] = {}
        for name, value in self.values.items():
            candidates = [
                {"value": m[name], "record_id": rid, "source": source}
                for m, rid, source in tagged
                if m.get(name) not in _EMPTY
            ]
            rule = self.rules.get(name, "")
            held = self.union_holders.get(name) if rule == "union" else None
            if held is not None and held[0] is value:
                chosen = [
                    {"value": v, "record_id": tagged[i][1], "source": tagged[i][2]}
                    for v, positions in zip(value, held[1], strict=True)
                    for i in positions
                ]
            elif rule == "union":
                chosen = [v.to_dict() for v in _union_provenance(value, name, members)]
            else:
                chosen_rid = self.chosen_from.get(name, "")
                chosen_source = source_of.get(
                    chosen_rid, "steward" if chosen_rid == "steward" else ""
                )
                chosen = [{"value": value, "record_id": chosen_rid, "source": chosen_source}]
            out[name] = {"rule": rule, "chosen": chosen, "candidates": candidates}
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready golden record with its provenance."""
        return {
            "cluster_id": self.cluster_id,
            "record_ids": list(self.record_ids),
            "values": self.values,
            "provenance": self.provenance_dicts(),
        }


def survive(
    records: Sequence[Mapping[str, Any]],
    clusters: Mapping[str, Any] | Sequence[Any],
    config: SurvivorshipConfig = DEFAULT_SURVIVORSHIP,
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    value_keys: Mapping[str, ValueKey] | None = None,
) -> dict[str, GoldenRecord]:
    """Golden records for every cluster: cluster id -> :class:`GoldenRecord`.

    ``clusters`` maps record id -> cluster id, or lists the cluster id of each record in
    order. ``overrides`` maps a cluster id to steward-chosen field values. ``value_keys``
    replaces the normalized key that decides when two values of a field are the same.
    A record without a ``record_id`` or cluster raises ``KeyError`` naming it.
    """
    labels = _labels(records, clusters)
    groups: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    overrides = overrides or {}
    keys = {**_DEFAULT_KEYS, **(value_keys or {})}
    ranker = _Ranker(config.source_priority)
    out: dict[str, GoldenRecord] = {}
    for label, idx in groups.items():
        members = [records[i] for i in idx]
        if len(members) == 1 and label not in overrides:
            out[label] = _singleton(label, members[0], config)
        else:
            out[label] = _survive_members(
                label, members, config, overrides.get(label, {}), keys, ranker
            )
    return out


def survive_cluster(
    cluster_id: str,
    members: Sequence[Mapping[str, Any]],
    config: SurvivorshipConfig = DEFAULT_SURVIVORSHIP,
    *,
    overrides: Mapping[str, Any] | None = None,
    value_keys: Mapping[str, ValueKey] | None = None,
) -> GoldenRecord:
    """The golden record of one cluster (recompute after a change, or one side of a split)."""
    if not members:
        raise ValueError(f"cluster {cluster_id!r} has no members; retire it instead")
    for m in members:
        if m.get("record_id") in _EMPTY:
            raise KeyError(f"a member of cluster {cluster_id!r} has no record_id: {_peek(m)}")
    keys = {**_DEFAULT_KEYS, **(value_keys or {})}
    return _survive_members(
        cluster_id,
        list(members),
        config,
        overrides or {},
        keys,
        _Ranker(config.source_priority),
    )


# --- the work ----------------------------------------------------------------------------


def _labels(
    records: Sequence[Mapping[str, Any]], clusters: Mapping[str, Any] | Sequence[Any]
) -> list[str]:
    if isinstance(clusters, Mapping):
        labels = []
        for pos, rec in enumerate(records):
            rid = str(rec.get("record_id") or "")
            if not rid:
                raise KeyError(f"record #{pos} has no record_id: {_peek(rec)}")
            if rid not in clusters:
                raise KeyError(f"record {rid!r} has no cluster; cluster every record first")
            labels.append(str(clusters[rid]))
        return labels
    if len(clusters) != len(records):
        raise ValueError(f"{len(clusters)} cluster labels for {len(records)} records")
    return [str(c) for c in clusters]


def _singleton(label: str, rec: Mapping[str, Any], config: SurvivorshipConfig) -> GoldenRecord:
    # One member: every value is its own. Only list fields with repeats need the
    # normalized-key pass; everything else is copied as it is.
    rid = str(rec.get("record_id"))
    values = {k: v for k, v in rec.items() if k not in _META and v not in _EMPTY}
    for name, value in values.items():
        if isinstance(value, list) and len(value) > 1:
            values[name] = _dedupe_list(name, value, rec, _DEFAULT_KEYS)
    rule_of: dict[str, str] = config._rule_of  # type: ignore[attr-defined]
    default = config.default_rule
    rules = {k: rule_of.get(k, default) for k in values}
    chosen = {k: rid for k, r in rules.items() if r != "union"}
    return GoldenRecord(label, (rid,), values, chosen, rules, (rec,))


def _survive_members(
    label: str,
    members: list[Mapping[str, Any]],
    config: SurvivorshipConfig,
    overrides: Mapping[str, Any],
    keys: Mapping[str, ValueKey],
    ranker: _Ranker,
) -> GoldenRecord:
    # Two orders, computed once: by rank (source priority, most recent, record id) for
    # source_priority and every tie, and most recent first for most_recent and union order.
    rank_key = {id(m): ranker.key(m) for m in members}
    by_rank = sorted(members, key=lambda m: rank_key[id(m)])
    by_recent = sorted(by_rank, key=lambda m: rank_key[id(m)][1])  # stable: ties keep rank
    names = _field_names(members)
    values: dict[str, Any] = {}
    chosen: dict[str, str] = {}
    rules: dict[str, str] = {}
    holders: dict[str, tuple[list[Any], list[list[int]]]] = {}
    position = {id(m): i for i, m in enumerate(members)}
    done: set[str] = set()
    for group, group_fields in config.groups.items():
        present = [f for f in group_fields if f in names]
        if not present:
            continue
        rule = config.rule_for(group)
        winner = _pick_record(rule, by_rank, by_recent, present, keys)
        for f in present:
            done.add(f)
            if winner is not None and winner.get(f) not in _EMPTY:
                values[f] = winner[f]
                chosen[f] = str(winner.get("record_id"))
                rules[f] = rule
    for name in names:
        if name in done or name in _META:
            continue
        rule = config.rule_for(name)
        rules[name] = rule
        if rule == "union":
            if len(position) == len(members) and keys.get(name, _text_key) is _DEFAULT_KEYS.get(
                name, _text_key
            ):
                held: dict[str, list[int]] = {}
                merged = _union(name, by_recent, keys, position, held)
                holders[name] = (merged, [sorted(held[k]) for k in held])
            else:
                merged = _union(name, by_recent, keys)
            if merged:
                values[name] = merged
            continue
        if rule in ("most_recent", "source_priority"):
            # The common case, inline: the first member in the rule's order that has a value.
            for m in by_recent if rule == "most_recent" else by_rank:
                value = m.get(name)
                if value not in _EMPTY:
                    values[name] = value
                    chosen[name] = str(m.get("record_id"))
                    break
            continue
        winner = _pick_record(rule, by_rank, by_recent, [name], keys)
        if winner is not None:
            values[name] = winner[name]
            chosen[name] = str(winner.get("record_id"))
    for name, value in overrides.items():
        values[name] = value
        chosen[name] = "steward"
        rules[name] = "steward"
    record_ids = tuple(str(m.get("record_id")) for m in members)
    return GoldenRecord(label, record_ids, values, chosen, rules, tuple(members), holders)


def _pick_record(
    rule: str,
    by_rank: list[Mapping[str, Any]],
    by_recent: list[Mapping[str, Any]],
    fields: list[str],
    keys: Mapping[str, ValueKey],
) -> Mapping[str, Any] | None:
    """The member whose values of ``fields`` survive under ``rule`` (None: nobody has one)."""
    if rule == "most_recent":
        return next((m for m in by_recent if _has_any(m, fields)), None)
    having = [m for m in by_rank if _has_any(m, fields)]
    if not having:
        return None
    if rule == "source_priority" or len(having) == 1:
        return having[0]
    if rule == "most_complete":
        scored = [(sum(_completeness(m.get(f)) for f in fields), -i) for i, m in enumerate(having)]
        return having[-max(scored)[1]]
    if rule == "most_frequent":
        sigs = [tuple(_key(f, m.get(f), m, keys) for f in fields) for m in having]
        votes: dict[tuple[str | None, ...], int] = {}
        for sig in sigs:
            votes[sig] = votes.get(sig, 0) + 1
        # Most votes; among equals the most complete, then the best-ranked record.
        scored_f = [
            (votes[sig], sum(_completeness(m.get(f)) for f in fields), -i)
            for i, (m, sig) in enumerate(zip(having, sigs, strict=True))
        ]
        return having[-max(scored_f)[2]]
    if rule in ("earliest", "latest"):
        f = fields[0]
        sign = 1 if rule == "latest" else -1
        scored_t = [(_sortable(m.get(f), sign), -i) for i, m in enumerate(having)]
        return having[-max(scored_t)[1]]
    raise ValueError(f"rule {rule!r} cannot pick one record; use one of {RULES}")


def _has_any(m: Mapping[str, Any], fields: list[str]) -> bool:
    return any(m.get(f) not in _EMPTY for f in fields)


def _union(
    name: str,
    members: list[Mapping[str, Any]],
    keys: Mapping[str, ValueKey],
    position: Mapping[int, int] | None = None,
    holders: dict[str, list[int]] | None = None,
) -> list[Any]:
    """Distinct values of ``name`` over ``members``; with ``position`` (id of a member ->
    its position) and ``holders``, also fills key -> positions of the members holding it."""
    key_of = keys.get(name, _text_key)
    best: dict[str, Any] = {}
    for m in members:
        raw = m.get(name)
        for item in raw if isinstance(raw, list) else (raw,):
            if item in _EMPTY:
                continue
            k = key_of(item, m)
            if k is None:
                continue
            if holders is not None and position is not None:
                held = holders.setdefault(k, [])
                at = position[id(m)]
                if not held or held[-1] != at:
                    held.append(at)
            if k not in best:
                best[k] = item  # dicts keep insertion order: most recent member first
            elif _completeness(item) > _completeness(best[k]):  # the fuller spelling wins
                best[k] = item
    return list(best.values())


def _dedupe_list(
    name: str, values: list[Any], rec: Mapping[str, Any], keys: Mapping[str, ValueKey]
) -> list[Any]:
    return _union(name, [{**rec, name: values}], keys)


def _union_provenance(
    values: list[Any], name: str, members: Sequence[Mapping[str, Any]]
) -> list[SourceValue]:
    keys = _DEFAULT_KEYS
    out = []
    for value in values:
        want = _key(name, value, {}, keys)
        for m in members:
            raw = m.get(name)
            items = raw if isinstance(raw, list) else [raw]
            if any(item not in _EMPTY and _key(name, item, m, keys) == want for item in items):
                out.append(SourceValue(value, str(m.get("record_id")), str(m.get("source"))))
    return out


def _field_names(members: Iterable[Mapping[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for m in members:
        for k, v in m.items():
            if v not in _EMPTY:
                names[k] = None
    return list(names)


class _Ranker:
    """Orders members: source priority, most recent ``updated_at``, record id."""

    def __init__(self, priority: Sequence[str]) -> None:
        self.rank = {s: i for i, s in enumerate(priority)}
        self._stamps: dict[str, float] = {}

    def timestamp(self, m: Mapping[str, Any]) -> float:
        raw = m.get("updated_at")
        text = raw if isinstance(raw, str) else ""
        if text not in self._stamps:
            self._stamps[text] = _parse_time(text)
        return self._stamps[text]

    def key(self, m: Mapping[str, Any]) -> tuple[int, float, str]:
        return (
            self.rank.get(str(m.get("source")), len(self.rank)),
            -self.timestamp(m),
            str(m.get("record_id")),
        )


def _parse_time(text: str) -> float:
    # A missing or unreadable timestamp counts as the oldest, never as an error: the record
    # was validated upstream and its other values must still take part.
    if not text:
        return _OLDEST.timestamp()
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return _OLDEST.timestamp()
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _sortable(value: Any, sign: int) -> tuple[int, float | str]:
    if isinstance(value, str):
        stamp = _parse_time(value)
        if stamp != _OLDEST.timestamp():
            return (1, sign * stamp)
        return (0, value if sign > 0 else "")
    if isinstance(value, int | float):
        return (1, sign * float(value))
    return (0, "")


def _completeness(value: Any) -> int:
    if value in _EMPTY:
        return 0
    if isinstance(value, str):
        return len(value) - value.count(" ") - value.count(".")
    if isinstance(value, Mapping):
        # Filled sub-fields count most; their length only breaks ties.
        filled = [v for v in value.values() if v not in _EMPTY]
        return len(filled) * 100 + sum(len(v) for v in filled if isinstance(v, str))
    if isinstance(value, list):
        return sum(_completeness(v) for v in value)
    return 1


# --- value keys: when are two spellings the same value ----------------------------------

_SPACE = re.compile(r"\s+")


def _text_key(value: Any, _rec: Mapping[str, Any]) -> str | None:
    if value in _EMPTY:
        return None
    if isinstance(value, Mapping | list):
        return repr(sorted(value.items()) if isinstance(value, Mapping) else value)
    return _folded(str(value))


@lru_cache(maxsize=65_536)
def _folded(text: str) -> str | None:
    # Remembered: the same names, cities and kinds come back across the members of one
    # golden record and across the golden records of a run.
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", folded).strip() or None


def _email_key(value: Any, _rec: Mapping[str, Any]) -> str | None:
    text = str(value).strip().casefold()
    return text or None


# The keys below keep characters by class with filter() over the str methods: the same
# per-character test as a generator expression, without a Python frame per character
# (address keys are built for every address of every member of a rebuilt golden record).


def _phone_key(value: Any, _rec: Mapping[str, Any]) -> str | None:
    # The last nine digits identify a number whatever way it was written (06-12345678,
    # +31 6 1234 5678, 0031612345678): country code and trunk prefix fall off the front.
    digits = "".join(filter(str.isdigit, str(value)))
    if not digits:
        return None
    return digits[-9:]


def _tax_key(value: Any, _rec: Mapping[str, Any]) -> str | None:
    text = "".join(filter(str.isalnum, str(value).upper()))
    return text or None


def _address_key(value: Any, rec: Mapping[str, Any]) -> str | None:
    if not isinstance(value, Mapping):
        return _text_key(value, rec)
    street = str(value.get("street") or "")
    number = str(value.get("house_number") or "")
    postal = "".join(filter(str.isalnum, str(value.get("postal_code") or "").upper()))
    digits = "".join(filter(str.isdigit, f"{street} {number}"))
    letters = "".join(filter(str.isalpha, unicodedata.normalize("NFKD", street).casefold()))
    place = postal or (_text_key(value.get("city"), rec) or "")
    if not (place or letters):
        return None
    return f"{place}|{digits}|{letters[:4]}"


_DEFAULT_KEYS: dict[str, ValueKey] = {
    "emails": _email_key,
    "phones": _phone_key,
    "tax_ids": _tax_key,
    "addresses": _address_key,
}


def _key(name: str, value: Any, rec: Mapping[str, Any], keys: Mapping[str, ValueKey]) -> str | None:
    return keys.get(name, _text_key)(value, rec)


def _peek(rec: Mapping[str, Any]) -> str:
    return "{" + ", ".join(sorted(str(k) for k in rec)[:6]) + "}"
